"""What the handout formats (markdown, html, csv) share: the per-layer columns and equations,
and the cells of a comparison (totals side by side, layers lined up).

Plain functions over reports and comparisons, no rich, so the machine formats stay light.
"""

from __future__ import annotations

from typing import Callable

from typing import Sequence

from ..cost import LayerRow, ModelReport
from ..explain import Step
from ..layers import Cost
from ..records import record
from .numbers import (exact as exact_number, human, human_bytes, per_byte, percent, ratio_phrase, seconds,
                      summary_sentence)

MACS_HEADER = "MACs (multiply-adds)"


@record
class Numbers:
    """How numbers are written: exact integers (160,563,200) or short ones (160.56M)."""

    exact: bool = False

    def count(self, n: int) -> str:
        return exact_number(n) if self.exact else human(n)

    def bytes(self, n: int) -> str:
        return exact_number(n) if self.exact else human_bytes(n)

    def time(self, t) -> str:
        return seconds(t)

    def intensity(self, x: float) -> str:
        return per_byte(x)


@record
class Column:
    """One column of the per-layer table, shared by the terminal, Markdown and HTML: its key, headers
    (full, and short for a narrow terminal), alignment, the cell of a row (a LayerRow or a GroupRow)
    and of the total, the rank in which a narrow terminal drops it (0: never), and when it is shown."""

    key: str
    header: str
    short: str
    align: str  # "left" or "right"
    cell: Callable
    total: Callable
    drop: int = 0
    when: Callable[[ModelReport], bool] = lambda report: True


def _cost(key: str, header: str, short: str, drop: int) -> Column:
    return Column(key, header, short, "right", lambda r, m, n: n.count(getattr(r.cost, key)),
                  lambda m, n: n.count(getattr(m.totals, key)), drop)


def _bytes(key: str, header: str, short: str, drop: int) -> Column:
    return Column(key, header, short, "right", lambda r, m, n: n.bytes(getattr(r.bytes, key)),
                  lambda m, n: n.bytes(getattr(m.total_bytes, key)), drop)


def _timed(report: ModelReport) -> bool:
    return report.time is not None


LAYER_COLUMNS: tuple[Column, ...] = (
    Column("layer", "layer", "layer", "left", lambda r, m, n: r.name, lambda m, n: "total"),
    Column("type", "type", "type", "left", lambda r, m, n: r.type, lambda m, n: "", 6),
    Column("role", "role", "role", "left", lambda r, m, n: r.role or "", lambda m, n: "", 13),
    Column("output", "output", "output", "right", lambda r, m, n: str(r.output), lambda m, n: str(m.output), 5),
    Column("receptive_field", "receptive field", "RF", "right", lambda r, m, n: field_text(r), lambda m, n: "", 12),
    _cost("params", "params", "params", 2),
    _cost("macs", MACS_HEADER, "MACs", 0),
    _cost("flops", "FLOPs", "FLOPs", 7),
    _cost("activations", "activations", "acts", 9),
    Column("buffers", "buffers", "buffers", "right", lambda r, m, n: n.count(r.cost.buffers),
           lambda m, n: n.count(m.totals.buffers), 14, lambda m: m.totals.buffers > 0),
    _bytes("weight_bytes", "weight bytes", "weights", 15),
    _bytes("output_bytes", "output bytes", "out B", 11),
    _bytes("read_bytes", "read bytes", "read B", 10),
    Column("intensity", "FLOPs/byte", "FLOP/B", "right", lambda r, m, n: n.intensity(r.bytes.intensity),
           lambda m, n: n.intensity(m.total_bytes.intensity), 16),
    Column("time", "time", "time", "right", lambda r, m, n: n.time(r.time_s),
           lambda m, n: n.time(m.time), 4, _timed),
    Column("bound", "bound", "bound", "left", lambda r, m, n: r.bound or "", lambda m, n: "", 3, _timed),
    Column("share", "% MACs", "% MACs", "right", lambda r, m, n: percent(r.cost.macs, m.totals.macs),
           lambda m, n: percent(m.totals.macs, m.totals.macs), 8),
)


def layer_columns(reports: Sequence[ModelReport]) -> list[Column]:
    """The columns shown for these reports: buffers where a model has any, time and bound with a roofline."""
    return [c for c in LAYER_COLUMNS if any(c.when(r) for r in reports)]


def number_format(exact: bool) -> Callable[[int], str]:
    """Exact integers with separators (160,563,200) or short ones (160.56M)."""
    return exact_number if exact else human


def field_text(row) -> str:
    return str(row.receptive_field) if row.receptive_field is not None else ""


def layer_cells(report: ModelReport, exact: bool, columns: Sequence[Column] | None = None,
                rows: Sequence | None = None) -> tuple[list[list[str]], list[str]]:
    """The per-layer table of a report (or its grouped rows) as text cells, and its total row."""
    numbers = Numbers(exact)
    columns = columns or layer_columns([report])
    body = [[c.cell(r, report, numbers) for c in columns] for r in (report.layers if rows is None else rows)]
    return body, [c.total(report, numbers) for c in columns]


def peak_line(report: ModelReport, exact: bool = False) -> str:
    """'peak activation memory 903.17KB while conv5x5 runs: input 802.82KB, conv5x5 100.35KB'."""
    peak = report.peak
    n = Numbers(exact)
    where = f"while {peak.layer_name} runs" if peak.layer_name else "before any layer runs"
    live = ", ".join(f"{t.name} {n.bytes(t.bytes)}" + (f" (shared by {', '.join(t.views)})" if t.views else "")
                     for t in peak.live)
    return f"peak activation memory {n.bytes(peak.bytes)} {where}: {live}"


def settings_line(report: ModelReport) -> str:
    """'fp32, batch 1, on rtx-4090 (82.6 TFLOP/s, 1008 GB/s)'."""
    s = report.settings
    text = f"{s.dtype}, batch {s.batch}"
    if s.roofline is not None:
        peak = float(s.roofline.peak_flops / 10**12)
        bandwidth = float(s.roofline.bandwidth / 10**9)
        text += f", on {s.device or 'the given machine'} ({peak:g} TFLOP/s, {bandwidth:g} GB/s)"
    return text


def equation(step: Step) -> str:
    """'MACs = Ho*Wo*filters*kh*kw*C/groups = 28*28*32*5*5*256/1 = 160,563,200'."""
    return " = ".join(step.parts(exact_number))


def in_out(report: ModelReport) -> str:
    return f"input {report.input} -> output {report.output}"


def totals_text(totals: Cost) -> list[tuple[str, str]]:
    """(label, exact number) pairs for a totals summary."""
    return [("params", exact_number(totals.params)), (MACS_HEADER, exact_number(totals.macs)),
            ("FLOPs", exact_number(totals.flops)), ("activations", exact_number(totals.activations)),
            ("buffers", exact_number(totals.buffers))]


def shapes_line(row: LayerRow) -> str:
    """'28x28x256 -> 28x28x16, receptive field 1x1 s1'."""
    ins = ", ".join(str(s) for s in row.input_shapes)
    text = f"{ins} -> {row.output}"
    if row.receptive_field is not None:
        text += f"; receptive field {row.receptive_field}"
    return text


# ------------------------------------------------------------------ comparisons

# (key, label, kind): the rows of the side-by-side table; kind says how the value is written.
COMPARE_KEYS: tuple[tuple[str, str, str], ...] = (
    ("params", "params", "count"), ("buffers", "buffers", "count"), ("macs", MACS_HEADER, "count"),
    ("flops", "FLOPs", "count"), ("activations", "activations", "count"),
    ("weight_bytes", "weight bytes", "bytes"), ("read_bytes", "read bytes", "bytes"),
    ("write_bytes", "write bytes", "bytes"), ("peak_activation_bytes", "peak activation bytes", "bytes"),
    ("time_s", "time", "time"))


def total_value(report: ModelReport, key: str):
    """A total of a report by its comparison key (a count, a byte sum, the peak, the time)."""
    if key in COST_KEYS_SET:
        return getattr(report.totals, key)
    if key == "peak_activation_bytes":
        return report.peak.bytes
    if key == "time_s":
        return report.time
    return getattr(report.total_bytes, key)


COST_KEYS_SET = frozenset(("params", "buffers", "macs", "flops", "activations"))


def compare_keys(comparison) -> list[tuple[str, str, str]]:
    """The comparison's rows: buffers only when some model has any, the time only with a roofline."""
    entries = comparison.entries
    has_buffers = any(e.totals.buffers for e in entries)
    timed = all(e.report.time is not None for e in entries)
    return [(k, label, kind) for k, label, kind in COMPARE_KEYS
            if (k != "buffers" or has_buffers) and (k != "time_s" or timed)]


def compare_title(comparison) -> str:
    """'naive (baseline) vs bottleneck'."""
    return " vs ".join([f"{comparison.baseline.name} (baseline)"] + [e.name for e in comparison.entries[1:]])


def compare_cells(comparison, exact: bool) -> tuple[list[str], list[str], list[list[str]]]:
    """The totals side by side: headers, aligns and rows (output, then each total), with a
    'vs <baseline>' column in words after every model but the baseline."""
    n = Numbers(exact)
    write = {"count": n.count, "bytes": n.bytes, "time": n.time}
    base = comparison.baseline
    others = comparison.entries[1:]
    headers = ["", base.name]
    aligns = ["left", "right"]
    for e in others:
        headers += [e.name, f"vs {base.name}"]
        aligns += ["right", "left"]
    rows = [["output", str(base.report.output), *[c for e in others for c in (str(e.report.output), "")]]]
    for key, label, kind in compare_keys(comparison):
        cells = [label, write[kind](total_value(base.report, key))]
        for e in others:
            cells += [write[kind](total_value(e.report, key)), ratio_phrase(getattr(e.ratio, key))]
        rows.append(cells)
    return headers, aligns, rows


def type_label(rows) -> str:
    """The type of an aligned layer, 'conv (reduce)' for a 1x1; the models' types joined by ' / ' when they differ."""
    labels: list[str] = []
    for row in rows:
        if row is not None:
            label = f"{row.type} ({row.role})" if row.role else row.type
            if label not in labels:
                labels.append(label)
    return " / ".join(labels)


def signed(n: int, fmt: Callable[[int], str]) -> str:
    """'+86.70M', '-14.45M'; empty for no change, so the changes stand out."""
    if n == 0:
        return ""
    return f"+{fmt(n)}" if n > 0 else fmt(n)


MARK = "*"  # after a lined-up name whose rows are not the same layer in every model


def by_layer_cells(comparison, exact: bool) -> tuple[list[tuple[str, str]], list[str], list[list[str]], list[str]]:
    """The layers lined up: headers as (model or '', label) pairs, aligns, one row per layer
    name (params and MACs in each model, '-' where it has no such layer; the change in MACs
    against the baseline; the models that have it when not all do) and the total row. A name
    whose rows differ in type, kernel or input is marked (see by_layer_notes)."""
    fmt = Numbers(exact).count
    entries = comparison.entries
    headers = [("", "layer"), ("", "type")]
    for e in entries:
        headers += [(e.name, "params"), (e.name, MACS_HEADER)]
    headers += [(e.name, "change in MACs") for e in entries[1:]] + [("", "only in")]
    aligns = ["left", "left"] + ["right"] * (2 * len(entries) + len(entries) - 1) + ["left"]
    rows = []
    for match in comparison.layers:
        cells = [match.name + (f" {MARK}" if match.differs or match.by_default_name else ""), type_label(match.rows)]
        for row in match.rows:
            cells += ["-", "-"] if row is None else [fmt(row.cost.params), fmt(row.cost.macs)]
        cells += [signed(change, fmt) for change in match.changes]
        present = [e.name for e, row in zip(entries, match.rows) if row is not None]
        cells.append("" if len(present) == len(entries) else ", ".join(present))
        rows.append(cells)
    foot = ["total", ""]
    for e in entries:
        foot += [fmt(e.totals.params), fmt(e.totals.macs)]
    foot += [signed(e.macs_change, fmt) for e in entries[1:]] + [""]
    return headers, aligns, rows, foot


def by_layer_notes(comparison) -> list[str]:
    """Why marked rows are marked: names standing for different layers, or matched by default names."""
    notes = []
    for m in comparison.layers:
        if m.differs.startswith("input"):
            notes.append(f"{MARK} {m.name}: the same kind of layer on a different {m.differs} (what a change before "
                         "it, such as a bottleneck, does)")
        elif m.differs:
            notes.append(f"{MARK} {m.name}: not the same layer in every model ({m.differs}); its change in MACs "
                         "compares different layers")
        if m.by_default_name:
            notes.append(f"{MARK} {m.name}: lined up by its default name alone; name the layers in the spec to line "
                         "up what you mean")
    return notes


def summary_lines(comparison, fmt: Callable[[int], str]) -> list[str]:
    """One sentence per model but the baseline: 'bottleneck: 12.1x fewer MACs than naive (...), ...'."""
    return [summary_sentence(e, comparison.baseline, fmt) for e in comparison.entries[1:]]


# ------------------------------------------------------------------ sweeps and devices

SWEEP_HEADERS = ("model", "input", "batch", "dtype", "params", MACS_HEADER, "FLOPs", "activations", "weight bytes",
                 "read bytes", "write bytes", "peak activation bytes", "FLOPs/byte")


def sweep_cells(result, exact: bool) -> tuple[list[str], list[str], list[list[str]]]:
    """One row per model, input, batch and dtype: its totals (and time and bound with a roofline)."""
    n = Numbers(exact)
    timed = any(r.report.time is not None for r in result.rows)
    headers = list(SWEEP_HEADERS) + (["time"] if timed else [])
    aligns = ["left", "right", "right", "left"] + ["right"] * (len(headers) - 4)
    rows = []
    for r in result.rows:
        rep, t, m = r.report, r.report.totals, r.report.total_bytes
        cells = [r.model, f"{r.input.height}x{r.input.width}x{r.input.channels}", str(r.batch), r.dtype,
                 n.count(t.params), n.count(t.macs), n.count(t.flops), n.count(t.activations), n.bytes(m.weight_bytes),
                 n.bytes(m.read_bytes), n.bytes(m.write_bytes), n.bytes(rep.peak.bytes), n.intensity(m.intensity)]
        if timed:
            cells.append(n.time(rep.time) if rep.time is not None else "")
        rows.append(cells)
    return headers, aligns, rows


DEVICE_HEADERS = ("device", "kind", "fp32", "fp16", "bf16", "int8", "GB/s")


def device_cells(devices) -> tuple[list[str], list[str], list[list[str]]]:
    """One row per bundled device: its peaks per dtype (TFLOP/s; int8 TOPS) and its bandwidth."""
    rows = []
    for d in devices:
        peaks = dict(d.peak_tflops)
        rows.append([d.name, d.kind, *(peaks[k].value if k in peaks else "-" for k in ("fp32", "fp16", "bf16", "int8")),
                     d.bandwidth_gbs.value])
    return list(DEVICE_HEADERS), ["left", "left", "right", "right", "right", "right", "right"], rows

"""What the handout formats (markdown, html, csv) share: the per-layer columns and equations,
and the cells of a comparison (totals side by side, layers lined up).

Plain functions over reports and comparisons, no rich, so the machine formats stay light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..cost import LayerRow, ModelReport
from ..explain import Step
from ..layers import Cost
from .numbers import exact as exact_number, human, percent, ratio_phrase, summary_sentence

MACS_HEADER = "MACs (multiply-adds)"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the per-layer table: header, alignment, cell of a layer row and of the total."""

    header: str
    align: str  # "left" or "right"
    cell: Callable[[LayerRow, ModelReport, Callable[[int], str]], str]
    total: Callable[[ModelReport, Callable[[int], str]], str]


def _cost_column(header: str, key: str) -> Column:
    return Column(header, "right", lambda r, m, fmt: fmt(getattr(r.cost, key)),
                  lambda m, fmt: fmt(getattr(m.totals, key)))


LAYER_COLUMNS: tuple[Column, ...] = (
    Column("layer", "left", lambda r, m, fmt: r.name, lambda m, fmt: "total"),
    Column("type", "left", lambda r, m, fmt: r.type, lambda m, fmt: ""),
    Column("role", "left", lambda r, m, fmt: r.role or "", lambda m, fmt: ""),
    Column("output", "right", lambda r, m, fmt: str(r.output), lambda m, fmt: str(m.output)),
    Column("receptive field", "right", lambda r, m, fmt: field_text(r), lambda m, fmt: ""),
    _cost_column("params", "params"),
    _cost_column(MACS_HEADER, "macs"),
    _cost_column("FLOPs", "flops"),
    _cost_column("activations", "activations"),
    Column("% MACs", "right", lambda r, m, fmt: percent(r.cost.macs, m.totals.macs),
           lambda m, fmt: percent(m.totals.macs, m.totals.macs)),
)


def number_format(exact: bool) -> Callable[[int], str]:
    """Exact integers with separators (160,563,200) or short ones (160.56M)."""
    return exact_number if exact else human


def field_text(row: LayerRow) -> str:
    return str(row.receptive_field) if row.receptive_field is not None else ""


def layer_cells(report: ModelReport, exact: bool) -> tuple[list[list[str]], list[str]]:
    """The per-layer table of a report as text cells, and its total row."""
    fmt = number_format(exact)
    rows = [[c.cell(r, report, fmt) for c in LAYER_COLUMNS] for r in report.layers]
    return rows, [c.total(report, fmt) for c in LAYER_COLUMNS]


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


def layer_heading(row: LayerRow, summary: str) -> str:
    return f"{row.name}: {summary}"


def shapes_line(row: LayerRow) -> str:
    """'28x28x256 -> 28x28x16, receptive field 1x1 s1'."""
    ins = ", ".join(str(s) for s in row.input_shapes)
    text = f"{ins} -> {row.output}"
    if row.receptive_field is not None:
        text += f"; receptive field {row.receptive_field}"
    return text


# ------------------------------------------------------------------ comparisons

COMPARE_KEYS: tuple[tuple[str, str], ...] = (
    ("params", "params"), ("buffers", "buffers"), ("macs", MACS_HEADER), ("flops", "FLOPs"),
    ("activations", "activations"))


def compare_keys(comparison) -> list[tuple[str, str]]:
    """(cost key, label) of the comparison's rows; buffers only when some model has any."""
    has_buffers = any(e.totals.buffers for e in comparison.entries)
    return [(k, label) for k, label in COMPARE_KEYS if k != "buffers" or has_buffers]


def compare_title(comparison) -> str:
    """'naive (baseline) vs bottleneck'."""
    return " vs ".join([f"{comparison.baseline.name} (baseline)"] + [e.name for e in comparison.entries[1:]])


def compare_cells(comparison, fmt: Callable[[int], str]) -> tuple[list[str], list[str], list[list[str]]]:
    """The totals side by side: headers, aligns and rows (output, then each cost), with a
    'vs <baseline>' column in words after every model but the baseline."""
    base = comparison.baseline
    others = comparison.entries[1:]
    headers = ["", base.name]
    aligns = ["left", "right"]
    for e in others:
        headers += [e.name, f"vs {base.name}"]
        aligns += ["right", "left"]
    rows = [["output", str(base.report.output), *[c for e in others for c in (str(e.report.output), "")]]]
    for key, label in compare_keys(comparison):
        cells = [label, fmt(getattr(base.totals, key))]
        for e in others:
            cells += [fmt(getattr(e.totals, key)), ratio_phrase(getattr(e.ratio, key))]
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


def by_layer_cells(comparison, fmt: Callable[[int], str]) -> tuple[
        list[tuple[str, str]], list[str], list[list[str]], list[str]]:
    """The layers lined up: headers as (model or '', label) pairs, aligns, one row per layer
    name (params and MACs in each model, '-' where it has no such layer; the change in MACs
    against the baseline; the models that have it when not all do) and the total row."""
    entries = comparison.entries
    headers = [("", "layer"), ("", "type")]
    for e in entries:
        headers += [(e.name, "params"), (e.name, MACS_HEADER)]
    headers += [(e.name, "change in MACs") for e in entries[1:]] + [("", "only in")]
    aligns = ["left", "left"] + ["right"] * (2 * len(entries) + len(entries) - 1) + ["left"]
    rows = []
    for match in comparison.layers:
        cells = [match.name, type_label(match.rows)]
        for row in match.rows:
            cells += ["-", "-"] if row is None else [fmt(row.cost.params), fmt(row.cost.macs)]
        base_macs = match.rows[0].cost.macs if match.rows[0] else 0
        cells += [signed((row.cost.macs if row else 0) - base_macs, fmt) for row in match.rows[1:]]
        present = [e.name for e, row in zip(entries, match.rows) if row is not None]
        cells.append("" if len(present) == len(entries) else ", ".join(present))
        rows.append(cells)
    foot = ["total", ""]
    for e in entries:
        foot += [fmt(e.totals.params), fmt(e.totals.macs)]
    foot += [signed(e.totals.macs - entries[0].totals.macs, fmt) for e in entries[1:]] + [""]
    return headers, aligns, rows, foot


def summary_lines(comparison, fmt: Callable[[int], str]) -> list[str]:
    """One sentence per model but the baseline: 'bottleneck: 12.1x fewer MACs than naive (...), ...'."""
    return [summary_sentence(e, comparison.baseline, fmt) for e in comparison.entries[1:]]

"""CSV for spreadsheets, exact integers: a report is one row per layer (plus one total row per
model); a comparison one row per model with its ratios (plus, by layer, one row per layer and model)."""

from __future__ import annotations

import csv
import io

from ..cost import LayerRow, ModelReport
from ..explain import ModelExplanation
from ..layers import COST_KEYS
from ..text import inert

BYTE_KEYS = ("weight_bytes", "output_bytes", "read_bytes", "write_bytes", "intensity")
REPORT_HEADER = ("row", "model", "layer", "type", "role", "inputs", "output_height", "output_width",
                 "output_channels", "rf_size_h", "rf_size_w", "rf_stride_h", "rf_stride_w", "rf_global", *COST_KEYS,
                 *BYTE_KEYS, "peak_activation_bytes", "time_s", "bound", "dtype", "batch")
RATIO_KEYS = (*COST_KEYS, "weight_bytes", "read_bytes", "write_bytes", "peak_activation_bytes", "time_s")
COMPARE_HEADER = ("section", "model", "layer", "type", "role", "variant_of", "transform", "description",
                  "output_height", "output_width", "output_channels", *COST_KEYS, "weight_bytes", "read_bytes",
                  "write_bytes", "peak_activation_bytes", "time_s", *(f"ratio_{k}" for k in RATIO_KEYS))
SWEEP_HEADER = ("model", "height", "width", "channels", "batch", "dtype", *COST_KEYS, *BYTE_KEYS,
                "peak_activation_bytes", "time_s")
DEVICES_HEADER = ("device", "label", "kind", "bandwidth_gbs", "fp32_tflops", "fp16_tflops", "bf16_tflops", "int8_tops",
                  "sources")
EXPLAIN_HEADER = ("model", "layer", "type", "kind", "quantity", "keys", "formula", "substituted", "value")


# A cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(...), +cmd|...);
# a leading tab or carriage return, the other two on OWASP's list, is escaped by inert already.
FORMULA_START = ("=", "+", "-", "@")


def text_cell(value: str) -> str:
    """A text cell that a spreadsheet shows as text: control characters escaped (one line per
    row), and a leading apostrophe where the cell would start a formula. Numbers are left alone."""
    value = inert(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def write_rows(header: tuple[str, ...], rows) -> str:
    """CSV text (RFC 4180, \\r\\n line ends as the csv module writes them) with a header row."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows([text_cell(c) if c.__class__ is str else c for c in row] for row in rows)
    return buf.getvalue()


def report_rows(report: ModelReport, groups=None):
    s = report.settings
    if groups is not None:
        for g in groups:
            o = g.output
            yield ("group", report.name, g.name, g.type, g.role or "", "", o.height, o.width, o.channels,
                   "", "", "", "", "", *(getattr(g.cost, k) for k in COST_KEYS), *(getattr(g.bytes, k) for k in BYTE_KEYS),
                   "", "" if g.time_s is None else g.time_s, g.bound or "", s.dtype, s.batch)
    for r in (report.layers if groups is None else ()):
        rf = r.receptive_field
        field = (*rf.numbers(), "true" if rf.whole else "") if rf is not None else ("", "", "", "", "")
        o = r.output
        yield ("layer", report.name, r.name, r.type, r.role or "", " ".join(r.inputs), o.height, o.width,
               o.channels, *field, *(getattr(r.cost, k) for k in COST_KEYS), *(getattr(r.bytes, k) for k in BYTE_KEYS),
               "", "" if r.time is None else r.time_s, r.bound or "", s.dtype, s.batch)
    o, t, m = report.output, report.totals, report.total_bytes
    yield ("total", report.name, "", "", "", "", o.height, o.width, o.channels, "", "", "", "", "",
           *(getattr(t, k) for k in COST_KEYS), *(getattr(m, k) for k in BYTE_KEYS), report.peak.bytes,
           "" if report.time is None else float(report.time), "", s.dtype, s.batch)


def render_report(reports: list[ModelReport], *, groups=None, **_options) -> str:
    """groups: per report, its rows grouped by --depth (conv_cost.groups), shown instead of its layers."""
    return write_rows(REPORT_HEADER, (row for i, r in enumerate(reports)
                                      for row in report_rows(r, None if groups is None else groups[i])))


def explain_rows(expl: ModelExplanation):
    model = expl.report.name
    for layer in expl.layers:
        r = layer.row
        for s in layer.steps:
            yield (model, r.name, r.type, "step", s.quantity, " ".join(s.keys), s.formula, s.substituted, s.value)
        for note in layer.notes:
            yield (model, r.name, r.type, "note", "", "", note, "", "")
    for s in expl.totals:
        yield (model, "", "", "total", s.quantity, " ".join(s.keys), s.formula, s.substituted, s.value)
    for note in expl.total_notes:
        yield (model, "", "", "note", "", "", note, "", "")


def render_explain(explanations: list[ModelExplanation], **_options) -> str:
    return write_rows(EXPLAIN_HEADER, (row for e in explanations for row in explain_rows(e)))


def ratio_cell(r: float | None) -> float | str:
    """A ratio as JSON writes it (Python's shortest repr of the float); empty where JSON has null."""
    return "" if r is None else r


def compare_rows(comparison, by_layer: bool):
    for e in comparison.entries:
        o, m, rep = e.report.output, e.report.total_bytes, e.report
        yield ("model", e.name, "", "", "", e.variant_of or "", e.transform or "", rep.description,
               o.height, o.width, o.channels, *(getattr(e.totals, k) for k in COST_KEYS), m.weight_bytes, m.read_bytes,
               m.write_bytes, rep.peak.bytes, "" if rep.time is None else float(rep.time),
               *(ratio_cell(getattr(e.ratio, k)) for k in RATIO_KEYS))
    if by_layer:
        for match in comparison.layers:
            for e, row, r in zip(comparison.entries, match.rows, match.ratios):
                if row is None:
                    continue
                o, m = row.output, row.bytes
                # Against the baseline's layer of the same name; empty where the baseline has none.
                ratios = [ratio_cell(getattr(r, k)) if r is not None else "" for k in COST_KEYS]
                # With --depth the rows are groups (conv_cost.groups.GroupRow), as in a report.
                yield ("layer" if isinstance(row, LayerRow) else "group", e.name, row.name, row.type,
                       row.role or "", "", "", "", o.height, o.width, o.channels,
                       *(getattr(row.cost, k) for k in COST_KEYS), m.weight_bytes, m.read_bytes, m.write_bytes, "",
                       "" if row.time_s is None else row.time_s, *ratios, *[""] * 5)
    width = len(COMPARE_HEADER) - 8
    for note in comparison.notes:
        yield ("note", "", "", "", "", "", "", note, *[""] * width)


def render_compare(comparison, *, by_layer: bool = False, **_options) -> str:
    return write_rows(COMPARE_HEADER, compare_rows(comparison, by_layer))


def render_sweep(result, **_options) -> str:
    def rows():
        for r in result.rows:
            rep, t, m = r.report, r.report.totals, r.report.total_bytes
            yield (r.model, r.input.height, r.input.width, r.input.channels, r.batch, r.dtype,
                   *(getattr(t, k) for k in COST_KEYS), *(getattr(m, k) for k in BYTE_KEYS), rep.peak.bytes,
                   "" if rep.time is None else float(rep.time))
    return write_rows(SWEEP_HEADER, rows())


def render_devices(devices, **_options) -> str:
    def rows():
        for d in devices:
            peaks = dict(d.peak_tflops)
            cited = sorted({d.bandwidth_gbs.source.url, *(f.source.url for f in peaks.values())})
            yield (d.name, d.label, d.kind, d.bandwidth_gbs.value,
                   *(peaks[k].value if k in peaks else "" for k in ("fp32", "fp16", "bf16", "int8")), " ".join(cited))
    return write_rows(DEVICES_HEADER, rows())

"""CSV for spreadsheets, exact integers: a report is one row per layer (plus one total row per
model); a comparison one row per model with its ratios (plus, by layer, one row per layer and model)."""

from __future__ import annotations

import csv
import io

from ..cost import ModelReport
from ..explain import ModelExplanation
from ..layers import COST_KEYS

REPORT_HEADER = ("row", "model", "layer", "type", "role", "inputs", "output_height", "output_width",
                 "output_channels", "rf_size_h", "rf_size_w", "rf_stride_h", "rf_stride_w", "rf_global", *COST_KEYS)
COMPARE_HEADER = ("section", "model", "layer", "type", "role", "variant_of", "transform", "description",
                  "output_height", "output_width", "output_channels", *COST_KEYS, *(f"ratio_{k}" for k in COST_KEYS))
EXPLAIN_HEADER = ("model", "layer", "type", "kind", "quantity", "keys", "formula", "substituted", "value")


def write_rows(header: tuple[str, ...], rows) -> str:
    """CSV text (RFC 4180, \\r\\n line ends as the csv module writes them) with a header row."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def report_rows(report: ModelReport):
    for r in report.layers:
        rf = r.receptive_field
        field = (*rf.numbers(), "true" if rf.whole else "") if rf is not None else ("", "", "", "", "")
        o = r.output
        yield ("layer", report.name, r.name, r.type, r.role or "", " ".join(r.inputs), o.height, o.width,
               o.channels, *field, *(getattr(r.cost, k) for k in COST_KEYS))
    o, t = report.output, report.totals
    yield ("total", report.name, "", "", "", "", o.height, o.width, o.channels, "", "", "", "", "",
           *(getattr(t, k) for k in COST_KEYS))


def render_report(reports: list[ModelReport], **_options) -> str:
    return write_rows(REPORT_HEADER, (row for r in reports for row in report_rows(r)))


def explain_rows(expl: ModelExplanation):
    model = expl.report.name
    for layer in expl.layers:
        r = layer.row
        for s in layer.steps:
            yield (model, r.name, r.type, "step", s.quantity, " ".join(s.keys), s.formula, s.substituted, s.value)
        for note in layer.notes:
            yield (model, r.name, r.type, "note", "", "", note, "", "")


def render_explain(explanations: list[ModelExplanation], **_options) -> str:
    return write_rows(EXPLAIN_HEADER, (row for e in explanations for row in explain_rows(e)))


def ratio_cell(r: float | None) -> float | str:
    """A ratio as JSON writes it (Python's shortest repr of the float); empty where JSON has null."""
    return "" if r is None else r


def compare_rows(comparison, by_layer: bool):
    from ..compare import ratio

    for e in comparison.entries:
        o = e.report.output
        yield ("model", e.name, "", "", "", e.variant_of or "", e.transform or "", e.report.description,
               o.height, o.width, o.channels, *(getattr(e.totals, k) for k in COST_KEYS),
               *(ratio_cell(getattr(e.ratio, k)) for k in COST_KEYS))
    if by_layer:
        for match in comparison.layers:
            base = match.rows[0]
            for e, row in zip(comparison.entries, match.rows):
                if row is None:
                    continue
                o = row.output
                # Against the baseline's layer of the same name; empty where the baseline has none.
                ratios = [ratio_cell(ratio(getattr(row.cost, k), getattr(base.cost, k))) if base else ""
                          for k in COST_KEYS]
                yield ("layer", e.name, row.name, row.type, row.role or "", "", "", "", o.height, o.width,
                       o.channels, *(getattr(row.cost, k) for k in COST_KEYS), *ratios)
    for note in comparison.notes:
        yield ("note", "", "", "", "", "", "", note, *[""] * (3 + 2 * len(COST_KEYS)))


def render_compare(comparison, *, by_layer: bool = False, **_options) -> str:
    return write_rows(COMPARE_HEADER, compare_rows(comparison, by_layer))

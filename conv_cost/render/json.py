"""JSON output (schema convcost.report/1 and convcost.compare/1): exact integers only."""

from __future__ import annotations

import json

from ..cost import LayerRow, ModelReport
from ..layers import COST_KEYS, Cost, Shape

REPORT_SCHEMA = "convcost.report/1"
COMPARE_SCHEMA = "convcost.compare/1"
EXPLAIN_SCHEMA = "convcost.explain/1"


def shape_dict(s: Shape) -> dict[str, int]:
    return {"height": s.height, "width": s.width, "channels": s.channels}


def cost_dict(c: Cost) -> dict[str, int]:
    return {"params": c.params, "buffers": c.buffers, "macs": c.macs, "flops": c.flops, "activations": c.activations}


def layer_dict(row: LayerRow) -> dict:
    c, o = row.cost, row.output
    # One literal per row (tuples encode as JSON lists): this runs once per layer.
    d = {"name": row.name, "type": row.type, "inputs": row.inputs,
         "output": {"height": o.height, "width": o.width, "channels": o.channels},
         "params": c.params, "buffers": c.buffers, "macs": c.macs, "flops": c.flops, "activations": c.activations}
    if row.role is not None:
        d["role"] = row.role
    if row.receptive_field is not None:
        rf = row.receptive_field
        sh, sw, jh, jw = rf.numbers()
        d["receptive_field"] = {"size": (sh, sw), "stride": (jh, jw), "global": True} if rf.whole else {
            "size": (sh, sw), "stride": (jh, jw)}
    return d


def model_dict(report: ModelReport) -> dict:
    return {
        "name": report.name,
        "description": report.description,
        "input": shape_dict(report.input),
        "output": shape_dict(report.output),
        "totals": cost_dict(report.totals),
        "layers": [layer_dict(r) for r in report.layers],
    }


def report_dict(reports: list[ModelReport]) -> dict:
    return {"schema": REPORT_SCHEMA, "models": [model_dict(r) for r in reports]}


def dumps(data: object, indent: str = "") -> str:
    """Indented JSON; flat objects and each item of a list of objects (a layer) on one line.

    json.dumps with indent= runs the pure-Python encoder, ten times slower than the C one
    used here per line; one object per line also suits grep and diffs.
    """
    return _dumps(data, indent) + "\n"


_LINE = json.JSONEncoder(ensure_ascii=False)  # one encoder for every line: building one per call costs


def _dumps(data: object, indent: str) -> str:
    inner = indent + "  "
    if isinstance(data, dict) and data and not all(isinstance(v, (int, float, str)) for v in data.values()):
        items = [f"{inner}{json.dumps(k)}: {_dumps(v, inner)}" for k, v in data.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        # Rows of one list have one shape: the first tells whether they hold lists of objects.
        if any(isinstance(v, list) and any(isinstance(i, dict) for i in v) for v in data[0].values()):
            items = [inner + _dumps(x, inner) for x in data]
        else:
            encode = _LINE.encode
            items = [inner + encode(x) for x in data]
        return "[\n" + ",\n".join(items) + f"\n{indent}]"
    return _LINE.encode(data)


def render_report(reports: list[ModelReport], **_options) -> str:
    return dumps(report_dict(reports))


def entry_dict(entry) -> dict:
    return {
        "name": entry.name,
        "description": entry.report.description,
        "variant_of": entry.variant_of,
        "transform": entry.transform,
        "output": shape_dict(entry.report.output),
        "totals": cost_dict(entry.totals),
        "ratio": {k: getattr(entry.ratio, k) for k in COST_KEYS},
    }


def compare_dict(comparison, by_layer: bool = False) -> dict:
    """Schema convcost.compare/1; with by_layer, "layers" holds each aligned layer, null where a model lacks it."""
    data = {
        "schema": COMPARE_SCHEMA,
        "baseline": comparison.baseline.name,
        "models": [entry_dict(e) for e in comparison.entries],
        "notes": list(comparison.notes),
    }
    if by_layer:
        data["layers"] = [{"name": m.name, "models": [None if r is None else layer_dict(r) for r in m.rows]}
                          for m in comparison.layers]
    return data


def render_compare(comparison, *, by_layer: bool = False, **_options) -> str:
    return dumps(compare_dict(comparison, by_layer))


def explain_dict(explanations) -> dict:
    """Schema convcost.explain/1: every layer's steps (formula, substituted numbers, value) and notes."""
    return {"schema": EXPLAIN_SCHEMA, "models": [
        {"name": e.report.name, "description": e.report.description,
         "layers": [{**layer_dict(layer.row), "summary": layer.summary,
                     "steps": [{"quantity": s.quantity, "keys": list(s.keys), "formula": s.formula,
                                "substituted": s.substituted,
                                "value": s.value if type(s.value) is int else str(s.value)} for s in layer.steps],
                     "notes": list(layer.notes)} for layer in e.layers]}
        for e in explanations]}


def render_explain(explanations, **_options) -> str:
    return dumps(explain_dict(explanations))

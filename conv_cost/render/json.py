"""JSON output (schema convcost.report/1 and convcost.compare/1): exact integers only."""

from __future__ import annotations

import json

from ..cost import LayerRow, ModelReport
from ..layers import COST_KEYS, Cost, Shape

REPORT_SCHEMA = "convcost.report/1"
EXPLAIN_SCHEMA = "convcost.explain/1"


def shape_dict(s: Shape) -> dict[str, int]:
    return {"height": s.height, "width": s.width, "channels": s.channels}


def cost_dict(c: Cost) -> dict[str, int]:
    return {k: getattr(c, k) for k in COST_KEYS}


def layer_dict(row: LayerRow) -> dict:
    d = {"name": row.name, "type": row.type, "inputs": list(row.inputs), "output": shape_dict(row.output),
         **cost_dict(row.cost)}
    if row.role is not None:
        d["role"] = row.role
    if row.receptive_field is not None:
        rf = row.receptive_field
        d["receptive_field"] = {"size": list(rf.size), "stride": list(rf.stride)}
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


def dumps(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_report(reports: list[ModelReport], **_options) -> str:
    return dumps(report_dict(reports))


def explain_dict(explanations) -> dict:
    """Schema convcost.explain/1: every layer's steps (formula, substituted numbers, value) and notes."""
    return {"schema": EXPLAIN_SCHEMA, "models": [
        {"name": e.report.name, "description": e.report.description,
         "layers": [{**layer_dict(layer.row), "summary": layer.summary,
                     "steps": [{"quantity": s.quantity, "keys": list(s.keys), "formula": s.formula,
                                "substituted": s.substituted, "value": s.value} for s in layer.steps],
                     "notes": list(layer.notes)} for layer in e.layers]}
        for e in explanations]}


def render_explain(explanations, **_options) -> str:
    return dumps(explain_dict(explanations))

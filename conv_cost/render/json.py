"""JSON output (schema convcost.report/1 and convcost.compare/1): exact integers only."""

from __future__ import annotations

import json

from ..cost import LayerRow, ModelReport
from ..layers import COST_KEYS, Cost, Shape

REPORT_SCHEMA = "convcost.report/1"
COMPARE_SCHEMA = "convcost.compare/1"


def shape_dict(s: Shape) -> dict[str, int]:
    return {"height": s.height, "width": s.width, "channels": s.channels}


def cost_dict(c: Cost) -> dict[str, int]:
    return {k: getattr(c, k) for k in COST_KEYS}


def layer_dict(row: LayerRow) -> dict:
    d = {"name": row.name, "type": row.type, "inputs": list(row.inputs), "output": shape_dict(row.output),
         **cost_dict(row.cost)}
    if row.role is not None:
        d["role"] = row.role
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

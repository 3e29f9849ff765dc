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
    c, o, m = row.cost, row.output, row.bytes
    # One literal per row (tuples encode as JSON lists): this runs once per layer.
    d = {"name": row.name, "type": row.type, "inputs": row.inputs,
         "output": {"height": o.height, "width": o.width, "channels": o.channels},
         "params": c.params, "buffers": c.buffers, "macs": c.macs, "flops": c.flops, "activations": c.activations,
         "weight_bytes": m.weight_bytes, "output_bytes": m.output_bytes, "read_bytes": m.read_bytes,
         "write_bytes": m.write_bytes, "intensity": m.intensity}
    if row.time is not None:
        d["time_s"] = row.time.time_s
        d["bound"] = row.time.bound
    if row.layer is not None:
        d.update(row.layer.settings())  # its spec keys, as given or defaulted: kernel, stride, filters...
    if row.role is not None:
        d["role"] = row.role
    if row.receptive_field is not None:
        rf = row.receptive_field
        sh, sw, jh, jw = rf.numbers()
        d["receptive_field"] = {"size": (sh, sw), "stride": (jh, jw), "global": True} if rf.whole else {
            "size": (sh, sw), "stride": (jh, jw)}
    return d


def totals_dict(report: ModelReport) -> dict:
    """The contract's totals, then the byte sums, the peak and (with a roofline) the time."""
    t, m = report.totals, report.total_bytes
    d = {"params": t.params, "buffers": t.buffers, "macs": t.macs, "flops": t.flops, "activations": t.activations,
         "weight_bytes": m.weight_bytes, "output_bytes": m.output_bytes, "read_bytes": m.read_bytes,
         "write_bytes": m.write_bytes, "intensity": m.intensity, "peak_activation_bytes": report.peak.bytes}
    if report.time is not None:
        d["time_s"] = float(report.time)
    return d


def settings_dict(report: ModelReport) -> dict:
    s = report.settings
    d = {"dtype": s.dtype, "batch": s.batch, "bytes_per_element": s.bytes_per_element}
    if s.roofline is not None:
        d["device"] = s.device
        d["peak_tflops"] = float(s.roofline.peak_flops / 10**12)
        d["bandwidth_gbs"] = float(s.roofline.bandwidth / 10**9)
    return d


def model_dict(report: ModelReport) -> dict:
    return {
        "name": report.name,
        "description": report.description,
        "input": shape_dict(report.input),
        "output": shape_dict(report.output),
        "settings": settings_dict(report),
        "totals": totals_dict(report),
        "peak": {"bytes": report.peak.bytes, "layer": report.peak.layer_name,
                 "live": [{"tensor": t.name, "bytes": t.bytes, "views": list(t.views)} for t in report.peak.live]},
        "layers": LazyRows(report.layers, layer_dict),
    }


class LazyRows:
    """A list of flat objects made one at a time as they are written: a million layer dicts are
    never held at once, only their lines."""

    __slots__ = ("items", "to_dict")

    def __init__(self, items, to_dict):
        self.items = items
        self.to_dict = to_dict


def group_dict(g) -> dict:
    c, o, m = g.cost, g.output, g.bytes
    d = {"name": g.name, "layers": g.rows, "output": {"height": o.height, "width": o.width, "channels": o.channels},
         "params": c.params, "buffers": c.buffers, "macs": c.macs, "flops": c.flops, "activations": c.activations,
         "weight_bytes": m.weight_bytes, "output_bytes": m.output_bytes, "read_bytes": m.read_bytes,
         "write_bytes": m.write_bytes, "intensity": m.intensity}
    if g.time_s is not None:
        d["time_s"] = g.time_s
        d["bound"] = g.bound
    return d


def report_dict(reports: list[ModelReport], depth: int | None = None, groups=None) -> dict:
    models = [model_dict(r) for r in reports]
    if groups is not None:  # the flat layers stay; the groups are added
        for d, rows in zip(models, groups):
            d["depth"] = depth
            d["groups"] = [group_dict(g) for g in rows]
    return {"schema": REPORT_SCHEMA, "models": models}


def dumps(data: object, indent: str = "") -> str:
    """Indented JSON; flat objects and each item of a list of objects (a layer) on one line.

    json.dumps with indent= runs the pure-Python encoder, ten times slower than the C one
    used here per line; one object per line also suits grep and diffs.
    """
    return _dumps(data, indent) + "\n"


_LINE = json.JSONEncoder(ensure_ascii=False)  # one encoder for every line: building one per call costs


def _dumps(data: object, indent: str) -> str:
    inner = indent + "  "
    if isinstance(data, LazyRows):
        if not data.items:
            return "[]"
        encode, to_dict = _LINE.encode, data.to_dict
        return "[\n" + ",\n".join([inner + encode(to_dict(x)) for x in data.items]) + f"\n{indent}]"
    if isinstance(data, dict) and data and not all(isinstance(v, (int, float, str)) for v in data.values()):
        items = [f"{inner}{json.dumps(k)}: {_dumps(v, inner)}" for k, v in data.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        # Rows of one list have one shape: the first tells whether they hold lists of objects.
        if any(isinstance(v, LazyRows) or isinstance(v, list) and any(isinstance(i, dict) for i in v)
               for v in data[0].values()):
            items = [inner + _dumps(x, inner) for x in data]
        else:
            encode = _LINE.encode
            items = [inner + encode(x) for x in data]
        return "[\n" + ",\n".join(items) + f"\n{indent}]"
    return _LINE.encode(data)


def render_report(reports: list[ModelReport], *, depth: int | None = None, groups=None, **_options) -> str:
    return dumps(report_dict(reports, depth, groups))


def ratio_dict(entry) -> dict:
    from ..compare import RATIO_KEYS

    d = {k: getattr(entry.ratio, k) for k in RATIO_KEYS}
    if entry.report.time is not None:
        d["time_s"] = entry.ratio.time_s
    return d


def entry_dict(entry) -> dict:
    return {
        "name": entry.name,
        "description": entry.report.description,
        "variant_of": entry.variant_of,
        "transform": entry.transform,
        "output": shape_dict(entry.report.output),
        "settings": settings_dict(entry.report),
        "totals": totals_dict(entry.report),
        "ratio": ratio_dict(entry),
    }


def compare_dict(comparison, by_layer: bool = False, depth: int | None = None) -> dict:
    """Schema convcost.compare/1; with by_layer, "layers" holds each aligned layer, null where a model lacks it
    (with depth, each aligned group, as a report's "groups" has it, and "depth": N)."""
    data = {
        "schema": COMPARE_SCHEMA,
        "baseline": comparison.baseline.name,
        "models": [entry_dict(e) for e in comparison.entries],
        "notes": list(comparison.notes),
    }
    if by_layer:
        if depth is not None:
            data["depth"] = depth
        data["layers"] = [{"name": m.name, "models": [None if r is None else layer_dict(r) if isinstance(r, LayerRow)
                                                      else group_dict(r) for r in m.rows]}
                          for m in comparison.layers]
    return data


def render_compare(comparison, *, by_layer: bool = False, depth: int | None = None, **_options) -> str:
    return dumps(compare_dict(comparison, by_layer, depth))


def step_dict(s) -> dict:
    v = s.value
    return {"quantity": s.quantity, "keys": list(s.keys), "formula": s.formula, "substituted": s.substituted,
            "value": v if type(v) in (int, float) else str(v)}


def explain_dict(explanations) -> dict:
    """Schema convcost.explain/1: every layer's steps (formula, substituted numbers, value) and notes, then the
    model's totals as steps."""
    return {"schema": EXPLAIN_SCHEMA, "models": [
        {"name": e.report.name, "description": e.report.description, "settings": settings_dict(e.report),
         "totals": totals_dict(e.report),
         "layers": LazyRows(e.layers, explained_layer_dict),
         "total_steps": [step_dict(s) for s in e.totals], "total_notes": list(e.total_notes)}
        for e in explanations]}


def explained_layer_dict(layer) -> dict:
    """A layer as in convcost.report/1, with its summary, steps and notes: one line per layer."""
    return {**layer_dict(layer.row), "summary": layer.summary, "steps": [step_dict(s) for s in layer.steps],
            "notes": list(layer.notes)}


def render_explain(explanations, **_options) -> str:
    return dumps(explain_dict(explanations))


SWEEP_SCHEMA = "convcost.sweep/1"
DEVICES_SCHEMA = "convcost.devices/1"


def sweep_dict(result) -> dict:
    """Schema convcost.sweep/1: one row per model, input, batch and dtype, with the model's totals."""
    return {"schema": SWEEP_SCHEMA, "sizes": [list(s) for s in result.sizes], "batches": list(result.batches),
            "dtypes": list(result.dtypes),
            "rows": [{"model": r.model, "input": shape_dict(r.input), "batch": r.batch, "dtype": r.dtype,
                      "settings": settings_dict(r.report), "output": shape_dict(r.report.output),
                      "totals": totals_dict(r.report)} for r in result.rows]}


def render_sweep(result, **_options) -> str:
    return dumps(sweep_dict(result))


def render_devices(devices, **_options) -> str:
    def figure(f) -> dict:
        return {"value": float(f.value), "source": f.source.title, "url": f.source.url, "quote": f.quote}

    return dumps({"schema": DEVICES_SCHEMA, "devices": [
        {"name": d.name, "label": d.label, "kind": d.kind, "bandwidth_gbs": figure(d.bandwidth_gbs),
         "peak_tflops": {k: figure(f) for k, f in d.peak_tflops}} for d in devices]})

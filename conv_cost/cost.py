"""Graph -> Report: one row per layer with exact integer costs, and the model's totals.

The counting rules live with each layer type in conv_cost/layers; this module only applies
them in topological order and adds them up.
"""

from __future__ import annotations

from dataclasses import dataclass

from .graph import Model, infer_shapes
from .layers import COST_KEYS, Cost, Layer, Shape, channel_role
from .receptive import ReceptiveField, receptive_fields


@dataclass(frozen=True, slots=True)
class LayerRow:
    name: str
    type: str
    inputs: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output: Shape
    cost: Cost
    role: str | None = None  # for 1x1 convs: reduce, expand or mix
    receptive_field: ReceptiveField | None = None  # see receptive.py
    layer: Layer | None = None  # the layer the row counts (explain and JSON settings read it)


@dataclass(frozen=True, slots=True)
class ModelReport:
    name: str
    description: str
    input: Shape
    output: Shape
    layers: tuple[LayerRow, ...]
    totals: Cost
    source: str = "<spec>"


def pointwise_role(layer: Layer, in_channels: int) -> str | None:
    """What a 1x1 conv does to the channels: reduce, expand or mix; None for other layers."""
    if "conv" not in layer.traits or layer.kernel != (1, 1):
        return None
    return channel_role(layer, in_channels)


def analyze(model: Model) -> ModelReport:
    """Count params, buffers, MACs, FLOPs and activations of every layer of a model."""
    shapes = infer_shapes(model)
    fields = receptive_fields(model, shapes)
    rows = []
    for node in model.nodes:
        layer = node.layer
        ins = tuple([shapes[i] for i in node.inputs])
        out = shapes[node.name]
        rows.append(LayerRow(node.name, layer.type, node.inputs, ins, out, layer.cost(ins, out),
                             pointwise_role(layer, ins[0].channels), fields[node.name], layer))
    totals = Cost(*(sum(getattr(r.cost, k) for r in rows) for k in COST_KEYS))
    return ModelReport(model.name, model.description, model.input, shapes[model.output_node],
                       tuple(rows), totals, model.source)

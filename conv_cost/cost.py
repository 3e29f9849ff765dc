"""Graph -> Report: one row per layer with exact integer costs, and the model's totals.

The counting rules live with each layer type in layers.py; this module only applies
them in topological order and adds them up.
"""

from __future__ import annotations

from dataclasses import dataclass

from .graph import Model, infer_shapes
from .layers import COST_KEYS, Conv2d, Cost, Shape
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


@dataclass(frozen=True, slots=True)
class ModelReport:
    name: str
    description: str
    input: Shape
    output: Shape
    layers: tuple[LayerRow, ...]
    totals: Cost
    source: str = "<spec>"


def pointwise_role(layer: object, in_channels: int) -> str | None:
    """What a 1x1 conv does to the channels: reduce, expand or mix; None for other layers."""
    if not isinstance(layer, Conv2d) or layer.kernel != (1, 1):
        return None
    if layer.filters < in_channels:
        return "reduce"
    return "expand" if layer.filters > in_channels else "mix"


def analyze(model: Model) -> ModelReport:
    """Count params, buffers, MACs, FLOPs and activations of every layer of a model."""
    shapes = infer_shapes(model)
    fields = receptive_fields(model, shapes)
    rows = []
    for node in model.nodes:
        ins = tuple([shapes[i] for i in node.inputs])
        out = shapes[node.name]
        rows.append(LayerRow(node.name, node.layer.type, node.inputs, ins, out,
                             node.layer.cost(ins, out), pointwise_role(node.layer, ins[0].channels),
                             fields[node.name]))
    totals = Cost(*(sum(getattr(r.cost, k) for r in rows) for k in COST_KEYS))
    return ModelReport(model.name, model.description, model.input, shapes[model.output_node],
                       tuple(rows), totals, model.source)

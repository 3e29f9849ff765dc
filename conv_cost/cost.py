"""Graph -> Report: one row per layer with exact integer costs and bytes, and the model's totals.

The counting rules live with each layer type in conv_cost/layers; this module applies them in
topological order, scales them to the batch, adds the bytes each layer moves at the chosen
precision (conv_cost.memory) and, given a machine, its roofline time (conv_cost.roofline).
"""

from __future__ import annotations

from .graph import INPUT, Model, shapes_of
from .layers import Cost, Layer, Shape, channel_role
from .memory import DTYPES, LayerBytes, Peak, TensorNode, TotalBytes, counted_bytes, peak_activation_bytes, total_bytes
from .receptive import ReceptiveField, receptive_fields
from .records import record


@record
class Settings:
    """How a model is run: precision, batch, and optionally a machine for the roofline.

    roofline: a conv_cost.roofline.Roofline (peak FLOP/s and bandwidth) or None; device: its name
    when it comes from the bundled table."""

    dtype: str = "fp32"
    batch: int = 1
    roofline: object | None = None
    device: str | None = None

    @property
    def bytes_per_element(self) -> int:
        return DTYPES[self.dtype]


DEFAULT_SETTINGS = Settings()


@record
class LayerRow:
    name: str
    type: str
    inputs: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output: Shape
    cost: Cost  # for the whole batch: macs, flops and activations times the batch
    role: str | None = None  # for 1x1 convs: reduce, expand or mix
    receptive_field: ReceptiveField | None = None  # see receptive.py
    layer: Layer | None = None  # the layer the row counts (explain and JSON settings read it)
    per_image: Cost | None = None  # the counts for one image (the same object as cost at batch 1)
    bytes: LayerBytes | None = None  # weight, output, read and write bytes, intensity (memory.py)
    time: object | None = None  # roofline.LayerTime when a machine is given

    @property
    def time_s(self) -> float | None:
        return None if self.time is None else self.time.time_s

    @property
    def bound(self) -> str | None:
        return None if self.time is None else self.time.bound


@record
class ModelReport:
    name: str
    description: str
    input: Shape
    output: Shape
    layers: tuple[LayerRow, ...]
    totals: Cost
    source: str = "<spec>"
    settings: Settings = DEFAULT_SETTINGS
    total_bytes: TotalBytes | None = None
    peak: Peak | None = None  # the largest sum of live activation bytes, where, and what is live
    time: object | None = None  # the exact total time (a Fraction of seconds) with a roofline
    memory_time: object | None = None  # the part of it spent in memory-bound layers


def pointwise_role(layer: Layer, in_channels: int) -> str | None:
    """What a 1x1 conv does to the channels: reduce, expand or mix; None for other layers."""
    if "conv" not in layer.traits or layer.kernel != (1, 1):
        return None
    return channel_role(layer, in_channels)


def scaled(cost: Cost, batch: int) -> Cost:
    """The counts for a batch: params and buffers stay, MACs, FLOPs and activations scale."""
    if batch == 1:
        return cost
    return Cost(cost.params, cost.buffers, cost.macs * batch, cost.flops * batch, cost.activations * batch)


def analyze(model: Model, settings: Settings = DEFAULT_SETTINGS) -> ModelReport:
    """Count params, buffers, MACs, FLOPs, activations and bytes of every layer of a model."""
    shapes = shapes_of(model)
    fields = receptive_fields(model, shapes)
    b, n = settings.bytes_per_element, settings.batch
    roofline = settings.roofline
    if roofline is not None:
        from .roofline import layer_time, model_time
    rows = []
    tensors = []
    params = buffers = macs = flops = activations = 0
    for node in model.nodes:
        layer = node.layer
        ins = tuple([shapes[i] for i in node.inputs])
        out = shapes[node.name]
        one = layer.cost(ins, out)
        elements = out.elements
        moved = counted_bytes(one.params, one.buffers, sum([s.elements for s in ins]), elements, one.flops, b, n)
        time = layer_time(moved.flops, moved.moved_bytes, roofline) if roofline is not None else None
        cost = scaled(one, n)
        params += cost.params
        buffers += cost.buffers
        macs += cost.macs
        flops += cost.flops
        activations += cost.activations
        rows.append(LayerRow(node.name, layer.type, node.inputs, ins, out, cost,
                             pointwise_role(layer, ins[0].channels), fields[node.name], layer, one, moved, time))
        tensors.append(TensorNode(node.name, node.inputs, elements, "view" in layer.traits))
    totals = Cost(params, buffers, macs, flops, activations)
    peak = peak_activation_bytes(shapes[INPUT].elements, tensors, bytes_per_element=b, batch=n)
    total_time = memory_time = None
    if roofline is not None:
        total_time = model_time(r.time for r in rows)
        memory_time = model_time(r.time for r in rows if r.time.bound == "memory")
    return ModelReport(model.name, model.description, model.input, shapes[model.output_node], tuple(rows), totals,
                       model.source, settings, total_bytes(r.bytes for r in rows), peak, total_time, memory_time)

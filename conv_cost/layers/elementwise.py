"""Layers that keep the shape and treat each element (or pixel) on its own: activations, the
free layers (`lrn`, `dropout`, `identity`) and `scale` (ConvNeXt's learned layer scale)."""

from __future__ import annotations

from functools import cache
from typing import ClassVar

from ..records import record
from .base import Cost, Layer, LayerEntry, ReceptiveField, Shape, key
from .window import hwc

ACTIVATIONS = ("relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish", "softmax", "hardsigmoid")
PASSTHROUGH = ("lrn", "dropout", "identity")

_ACTIVATION = frozenset({"activation", "elementwise"})
_TRAITS = {
    **{name: _ACTIVATION for name in ACTIVATIONS},
    "lrn": frozenset({"free", "elementwise", "normalization"}),
    "dropout": frozenset({"free", "elementwise", "view"}),
    "identity": frozenset({"free", "elementwise", "view"}),
}
_SUMMARIES = {"dropout": "dropout (the identity at inference)", "identity": "identity",
              "lrn": "local response normalization"}


@record
class Elementwise(Layer):
    """An activation (1 FLOP per element) or a shape-preserving layer counted as free."""

    example: ClassVar[dict] = {}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: str = "relu"

    @property
    def traits(self) -> frozenset[str]:
        return _TRAITS[self.type]

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        return inputs[0]

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        flops = out.elements if self.type in ACTIVATIONS else 0
        return Cost(flops=flops, activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return fields[0]  # softmax and lrn mix channels, not positions

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        if self.type in ACTIVATIONS:
            summary = "activation, applied to each element"
            d.add("FLOPs", ("flops",), "H*W*C", hwc(x))
        else:
            summary = _SUMMARIES[self.type]
            d.note(f"{self.type} is counted as free (no FLOPs), as the counting rules say.")
        d.add("activations", ("activations",), "H*W*C", hwc(x))
        return summary

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        from torch import nn

        make = {
            "relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU,
            "silu": nn.SiLU, "hardswish": nn.Hardswish, "hardsigmoid": nn.Hardsigmoid,
            "softmax": lambda: nn.Softmax(dim=1), "lrn": lambda: nn.LocalResponseNorm(5),
            "dropout": lambda: nn.Dropout(0.5), "identity": nn.Identity,
        }[self.type]
        return make()


@record
class Scale(Layer):
    """A learned multiplier per channel (ConvNeXt's layer scale), with an optional shift."""

    example: ClassVar[dict] = {"bias": True}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "scale"
    traits: ClassVar[frozenset[str]] = frozenset({"elementwise"})
    bias: bool = key("bool", False)

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        return inputs[0]

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        per_element = 2 if self.bias else 1
        params = out.channels * per_element
        return Cost(params=params, flops=per_element * out.elements, activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return fields[0]

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        if self.bias:
            d.add("params", ("params",), "2*C", f"2*{x.channels}")
            d.add("FLOPs", ("flops",), "2*H*W*C", f"2*{hwc(x)}")
        else:
            d.add("params", ("params",), "C", str(x.channels))
            d.add("FLOPs", ("flops",), "H*W*C", hwc(x))
        d.add("activations", ("activations",), "H*W*C", hwc(x))
        d.note("Every element is multiplied by its channel's learned factor"
               + (" and shifted by its channel's learned bias." if self.bias else "."))
        return "learned per-channel scale" + (" and shift" if self.bias else "")

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        return _channel_scale()(inputs[0].channels, self.bias)


@cache
def _channel_scale():
    import torch
    from torch import nn

    class ChannelScale(nn.Module):
        """x * gamma (+ beta), one learned value per channel (ConvNeXt's layer_scale)."""

        def __init__(self, channels: int, bias: bool):
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(channels, 1, 1))
            self.beta = nn.Parameter(torch.zeros(channels, 1, 1)) if bias else None

        def forward(self, x):
            return x * self.gamma + self.beta if self.beta is not None else x * self.gamma

    return ChannelScale


TYPES = {**{name: LayerEntry(Elementwise, {"type": name}) for name in ACTIVATIONS + PASSTHROUGH},
         "scale": LayerEntry(Scale, {})}
ALIASES = {"swish": "silu", "hswish": "hardswish"}

"""Normalizations with learned parameters: `bn` (`batchnorm`) and `layernorm` (`ln`)."""

from __future__ import annotations

from functools import cache
from typing import ClassVar

from ..records import record
from .base import Cost, Layer, LayerEntry, ReceptiveField, Shape
from .window import hwc


@record
class BatchNorm(Layer):
    """Batch normalization: a learned scale and shift per channel over running statistics."""

    example: ClassVar[dict] = {}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "bn"
    traits: ClassVar[frozenset[str]] = frozenset({"batchnorm", "normalization", "elementwise"})

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        return inputs[0]

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        c = out.channels
        return Cost(params=2 * c, buffers=2 * c, flops=2 * out.elements, activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return fields[0]

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        d.add("params", ("params",), "2*C", f"2*{x.channels}")
        d.add("buffers", ("buffers",), "2*C", f"2*{x.channels}")
        d.add("FLOPs", ("flops",), "2*H*W*C", f"2*{hwc(x)}")
        d.add("activations", ("activations",), "H*W*C", hwc(x))
        d.note("Params: a scale and a shift per channel; buffers: the running mean and variance.")
        return "batch normalization"

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        from torch import nn

        return nn.BatchNorm2d(inputs[0].channels)


@record
class LayerNorm(Layer):
    """Layer normalization of each pixel over its C channels (channels-last, ConvNeXt's LayerNorm2d)."""

    example: ClassVar[dict] = {}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "layernorm"
    traits: ClassVar[frozenset[str]] = frozenset({"normalization", "elementwise"})

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        return inputs[0]

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        # 8 FLOPs per element: mean 1, variance 3, normalise 2, affine 2.
        return Cost(params=2 * out.channels, flops=8 * out.elements, activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return fields[0]  # per pixel: it mixes channels, not positions

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        d.add("params", ("params",), "2*C", f"2*{x.channels}")
        d.add("FLOPs", ("flops",), "8*H*W*C", f"8*{hwc(x)}")
        d.add("activations", ("activations",), "H*W*C", hwc(x))
        d.note("Each pixel's C values are normalised by their own mean and variance, then scaled and shifted "
               "per channel (params: a scale and a shift per channel; no running statistics). FLOPs per "
               "element: mean 1, variance 3, normalise 2, affine 2.")
        return "layer normalization over the channels of each pixel"

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        return _channels_layer_norm()(inputs[0].channels)


@cache
def _channels_layer_norm():
    from torch import nn

    class LayerNorm2d(nn.LayerNorm):
        """nn.LayerNorm over the channels of an NCHW tensor (ConvNeXt's LayerNorm2d)."""

        def forward(self, x):
            return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    return LayerNorm2d


TYPES = {"bn": LayerEntry(BatchNorm, {}), "layernorm": LayerEntry(LayerNorm, {})}
ALIASES = {"batchnorm": "bn", "ln": "layernorm"}

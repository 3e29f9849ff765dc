"""`conv` and `dwconv`: 2-D convolutions (grouped and depthwise)."""

from __future__ import annotations

from typing import ClassVar

from ..errors import LayerError
from ..records import record
from .base import Cost, Layer, LayerEntry, ReceptiveField, Shape, key, window_field
from .window import (Pair, Padding, explicit_pads, padding_text, pair_text, spatial, spatial_steps, step_text,
                     window_field_steps)


@record
class Conv2d(Layer):
    """A 2-D convolution: filters of kh x kw x C/groups, slid with a stride over the padded map."""

    example: ClassVar[dict] = {"filters": 4, "kernel": 3}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "conv"
    traits: ClassVar[frozenset[str]] = frozenset({"conv", "window"})
    filters: int = key("count", required=True)
    kernel: Pair = key("pair", required=True)
    stride: Pair = key("pair", (1, 1))
    padding: Padding = key("padding", "same")
    dilation: Pair = key("pair", (1, 1))
    groups: int = key("count", 1)
    bias: bool = key("bool", True)

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        x = inputs[0]
        if x.channels % self.groups or self.filters % self.groups:
            raise LayerError(
                f"groups={self.groups} must divide both the input channels ({x.channels}) "
                f"and filters ({self.filters})"
            )
        ho, wo = spatial("convolution", x, self.kernel, self.stride, self.padding, self.dilation)
        return Shape(ho, wo, self.filters)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        kh, kw = self.kernel
        per_filter = kh * kw * (inputs[0].channels // self.groups)
        params = per_filter * self.filters + (self.filters if self.bias else 0)
        macs = out.height * out.width * self.filters * per_filter
        flops = 2 * macs + (out.elements if self.bias else 0)
        return Cost(params=params, macs=macs, flops=flops, activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return window_field(fields[0], self.kernel, self.stride, self.dilation)

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        conv_steps(d, self, x, out, ("filters", str(self.filters)))
        C, F = x.channels, self.filters
        if self.kernel == (1, 1):
            what = {"reduce": f"reduces {C} channels to {F}", "expand": f"expands {C} channels to {F}",
                    "mix": f"mixes {C} channels into {F}"}[channel_role(self, C)]
            if d.bottleneck:
                what += f", a bottleneck: {d.bottleneck} after it reads {F} channels instead of {C}"
            d.note(f"1x1 conv: {what}. Each output pixel is a weighted sum of the channels at the "
                   "same pixel: it mixes channels but adds no spatial context (the receptive field "
                   "does not grow)." + (" Its stride also subsamples the map." if self.stride != (1, 1) else ""))
        if self.groups > 1:
            d.note(f"groups = {self.groups}: each filter reads C/groups = {C // self.groups} channels, "
                   f"which divides params and MACs by {self.groups}.")
        window_field_steps(d, fields[0], self.kernel, self.stride, self.dilation)
        return conv_summary(self, f"{pair_text(self.kernel)} conv, {self.filters} filters")

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        return torch_conv(self, inputs[0])


def channel_role(conv: Conv2d, in_channels: int) -> str:
    """What a 1x1 conv does to the channels: reduce, expand or mix."""
    if conv.filters < in_channels:
        return "reduce"
    return "expand" if conv.filters > in_channels else "mix"


def conv_summary(conv: Conv2d, head: str) -> str:
    parts = [head, f"stride {step_text(conv.stride)}", f"padding {padding_text(conv.padding)}"]
    if conv.dilation != (1, 1):
        parts.append(f"dilation {step_text(conv.dilation)}")
    if conv.groups != 1:
        parts.append(f"groups {conv.groups}")
    if not conv.bias:
        parts.append("no bias")
    return ", ".join(parts)


def conv_steps(d, conv: Conv2d, x: Shape, out: Shape, channels: tuple[str, str]) -> None:
    kh, kw = conv.kernel
    C, F, g = x.channels, conv.filters, conv.groups
    spatial_steps(d, x, conv.kernel, conv.stride, conv.padding, conv.dilation)
    d.add("Co", ("channels",), *channels)
    bias_f, bias_n = (" + filters", f" + {F}") if conv.bias else ("", "")
    d.add("params", ("params",), f"kh*kw*(C/groups)*filters{bias_f}", f"{kh}*{kw}*({C}/{g})*{F}{bias_n}")
    d.add("MACs", ("macs",), "Ho*Wo*filters*kh*kw*C/groups", f"{out.height}*{out.width}*{F}*{kh}*{kw}*{C}/{g}")
    macs = d.row.cost.macs
    if conv.bias:
        d.add("FLOPs", ("flops",), "2*MACs + Ho*Wo*filters", f"2*{macs} + {out.height}*{out.width}*{F}")
    else:
        d.add("FLOPs", ("flops",), "2*MACs", f"2*{macs}")
    d.add("activations", ("activations",), "Ho*Wo*filters", f"{out.height}*{out.width}*{F}")


def torch_conv(conv: Conv2d, x: Shape):
    """nn.Conv2d, behind a ZeroPad2d when the padding differs between the two sides of an axis
    (TensorFlow's 'same' puts the odd pixel after; PyTorch pads both sides alike)."""
    from torch import nn

    (top, bottom), (left, right) = explicit_pads(x, conv.padding, conv.kernel, conv.stride, conv.dilation)
    if (top, left) == (bottom, right):
        return nn.Conv2d(x.channels, conv.filters, conv.kernel, conv.stride, (top, left), conv.dilation,
                         conv.groups, conv.bias)
    return nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)),
                         nn.Conv2d(x.channels, conv.filters, conv.kernel, conv.stride, 0, conv.dilation,
                                   conv.groups, conv.bias))


@record
class DepthwiseConv2d(Layer):
    """A depthwise convolution: each channel filtered on its own (a conv with groups = C)."""

    example: ClassVar[dict] = {"kernel": 3}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "dwconv"
    traits: ClassVar[frozenset[str]] = frozenset({"depthwise", "window"})
    kernel: Pair = key("pair", required=True)
    multiplier: int = key("count", 1)
    stride: Pair = key("pair", (1, 1))
    padding: Padding = key("padding", "same")
    dilation: Pair = key("pair", (1, 1))
    bias: bool = key("bool", True)

    def as_conv(self, channels: int) -> Conv2d:
        """The grouped conv this layer is: groups = C, filters = C * multiplier."""
        return Conv2d(channels * self.multiplier, self.kernel, self.stride, self.padding,
                      self.dilation, channels, self.bias)

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        return self.as_conv(inputs[0].channels).output_shape(inputs)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return self.as_conv(inputs[0].channels).cost(inputs, out)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return window_field(fields[0], self.kernel, self.stride, self.dilation)

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        conv = self.as_conv(x.channels)
        d.note(f"Depthwise: each of the {x.channels} input channels is filtered on its own "
               f"(a conv with groups = C = {x.channels} and filters = C*multiplier = {conv.filters}); "
               "it mixes no channels.")
        conv_steps(d, conv, x, out, ("C*multiplier", f"{x.channels}*{self.multiplier}"))
        window_field_steps(d, fields[0], self.kernel, self.stride, self.dilation)
        return conv_summary(conv, f"{pair_text(self.kernel)} depthwise conv, multiplier {self.multiplier}")

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        return torch_conv(self.as_conv(inputs[0].channels), inputs[0])


TYPES = {"conv": LayerEntry(Conv2d, {}), "dwconv": LayerEntry(DepthwiseConv2d, {})}
ALIASES: dict[str, str] = {}

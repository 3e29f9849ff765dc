"""`deconv` (`convtranspose`): the transposed convolution of U-Nets, FCNs and decoders."""

from __future__ import annotations

from functools import cache
from typing import ClassVar

from ..errors import LayerError
from ..records import record
from .base import Cost, Layer, LayerEntry, ReceptiveField, Shape, capped, key
from .window import Pair, Padding, field_steps, padding_text, pads, pair_text, step_text


@record
class ConvTranspose2d(Layer):
    """A transposed convolution: every input pixel scatters a kh x kw x filters/groups kernel onto an
    output grid `stride` times finer (PyTorch's ConvTranspose2d, TensorFlow's conv2d_transpose)."""

    example: ClassVar[dict] = {"filters": 4, "kernel": 2, "stride": 2}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "deconv"
    traits: ClassVar[frozenset[str]] = frozenset({"window"})
    filters: int = key("count", required=True)
    kernel: Pair = key("pair", required=True)
    stride: Pair = key("pair", (1, 1))
    padding: Padding = key("padding", (0, 0))
    output_padding: Pair = key("pair0", (0, 0))
    dilation: Pair = key("pair", (1, 1))
    groups: int = key("count", 1)
    bias: bool = key("bool", True)

    def __post_init__(self) -> None:
        for a, axis in enumerate("HW"):
            if self.output_padding[a] >= max(self.stride[a], self.dilation[a]):
                raise LayerError(
                    f"output_padding {self.output_padding[a]} along {axis} must be smaller than the stride "
                    f"({self.stride[a]}) or the dilation ({self.dilation[a]}), as in PyTorch; it only picks "
                    "among the output sizes a stride allows")
        if self.padding == "same" and self.output_padding != (0, 0):
            raise LayerError("output_padding cannot be combined with padding: same (the output is H*stride); "
                             "use integer padding with output_padding, or drop output_padding")

    def axis(self, size: int, a: int) -> int:
        """Output length along axis a (0: H, 1: W)."""
        if self.padding == "same":
            return size * self.stride[a]
        before, after = pads(self.padding, a)
        return ((size - 1) * self.stride[a] - before - after + self.dilation[a] * (self.kernel[a] - 1)
                + self.output_padding[a] + 1)

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        x = inputs[0]
        if x.channels % self.groups or self.filters % self.groups:
            raise LayerError(f"groups={self.groups} must divide both the input channels ({x.channels}) "
                             f"and filters ({self.filters})")
        ho, wo = self.axis(x.height, 0), self.axis(x.width, 1)
        if ho < 1 or wo < 1:
            raise LayerError(f"transposed convolution output would be {ho}x{wo}, smaller than 1x1 (input "
                             f"{x.height}x{x.width}, kernel {pair_text(self.kernel)}, padding "
                             f"{padding_text(self.padding)}); use less padding")
        return Shape(ho, wo, self.filters)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        x = inputs[0]
        kh, kw = self.kernel
        per_pixel = kh * kw * (x.channels // self.groups) * self.filters  # one input pixel meets the kernel
        params = per_pixel + (self.filters if self.bias else 0)
        macs = x.height * x.width * per_pixel
        flops = 2 * macs + (out.elements if self.bias else 0)
        return Cost(params=params, macs=macs, flops=flops, activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        from fractions import Fraction

        rf = fields[0]
        size, stride = [], []
        for a in (0, 1):
            n, step = self.taps(a)
            size.append(capped(rf.size[a] + (n - 1) * step * rf.stride[a]))
            stride.append(Fraction(rf.stride[a]) / self.stride[a])
        return ReceptiveField(tuple(size), tuple(stride), rf.whole)

    def taps(self, a: int) -> tuple[int, int]:
        """(n, step): at most n input pixels, `step` apart, reach one output pixel along axis a.

        Kernel taps t land on output i*s + t*d; an output o gets the taps with t*d = o (mod s),
        one in every s/g of them (g = gcd(s, d)), whose inputs lie d/g apart."""
        from math import gcd

        s, d, k = self.stride[a], self.dilation[a], self.kernel[a]
        g = gcd(s, d)
        return -(-k // (s // g)), d // g

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        size = (x.height, x.width)

        def per_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
            X, k, s, dd, p = sym["X"], sym["k"], sym["s"], sym["d"], sym["p"]
            if self.padding == "same":
                return f"{X}*{s}", f"{size[a]}*{self.stride[a]}"
            before, after = pads(self.padding, a)
            pad_f, pad_n = (f"2*{p}", f"2*{before}") if before == after else (
                f"{p}_before - {p}_after", f"{before} - {after}")
            op = self.output_padding[a]
            return (f"({X}-1)*{s} - {pad_f} + {dd}*({k}-1) + op + 1",
                    f"({size[a]}-1)*{self.stride[a]} - {pad_n} + {self.dilation[a]}*({self.kernel[a]}-1)"
                    f" + {op} + 1")

        d.axes(("Ho", "Wo"), ("height", "width"), per_axis)
        kh, kw = self.kernel
        C, F, g = x.channels, self.filters, self.groups
        d.add("Co", ("channels",), "filters", str(F))
        bias_f, bias_n = (" + filters", f" + {F}") if self.bias else ("", "")
        d.add("params", ("params",), f"kh*kw*(C/groups)*filters{bias_f}", f"{kh}*{kw}*({C}/{g})*{F}{bias_n}")
        d.add("MACs", ("macs",), "H*W*C*kh*kw*filters/groups", f"{x.height}*{x.width}*{C}*{kh}*{kw}*{F}/{g}")
        macs = d.row.cost.macs
        if self.bias:
            d.add("FLOPs", ("flops",), "2*MACs + Ho*Wo*filters", f"2*{macs} + {out.height}*{out.width}*{F}")
        else:
            d.add("FLOPs", ("flops",), "2*MACs", f"2*{macs}")
        d.add("activations", ("activations",), "Ho*Wo*filters", f"{out.height}*{out.width}*{F}")
        d.note("A transposed conv counts its MACs per input pixel: each of the H*W input pixels meets the "
               "whole kernel once (PyTorch's FlopCounterMode agrees); counting over output pixels as for a "
               "conv would over-count by stride^2 where the kernel tiles the output.")
        rf = fields[0]

        def size_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
            n, step = self.taps(a)
            return (f"r_in + (ceil({sym['k']}/({sym['s']}/g))-1)*(d/g)*j_in",
                    f"{rf.size[a]} + ({n}-1)*{step}*{rf.stride[a]}")

        def stride_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
            return f"j_in/{sym['s']}", f"{rf.stride[a]}/{self.stride[a]}"

        field_steps(d, size_axis, stride_axis)
        d.note("Receptive field: neighbouring outputs are j_in/stride input pixels apart (a fraction of a "
               "pixel when the stride is above 1); g = gcd(stride, dilation).")
        parts = [f"{pair_text(self.kernel)} transposed conv, {F} filters", f"stride {step_text(self.stride)}",
                 f"padding {padding_text(self.padding)}"]
        if self.output_padding != (0, 0):
            parts.append(f"output_padding {step_text(self.output_padding)}")
        if self.dilation != (1, 1):
            parts.append(f"dilation {step_text(self.dilation)}")
        if g != 1:
            parts.append(f"groups {g}")
        if not self.bias:
            parts.append("no bias")
        return ", ".join(parts)

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        """nn.ConvTranspose2d; a crop after it where PyTorch's symmetric padding cannot say it."""
        from torch import nn

        x = inputs[0]
        make = lambda padding, output_padding: nn.ConvTranspose2d(  # noqa: E731
            x.channels, self.filters, self.kernel, self.stride, padding, output_padding, self.groups,
            self.bias, self.dilation)
        if self.padding != "same":
            (top, bottom), (left, right) = pads(self.padding, 0), pads(self.padding, 1)
            if (top, left) == (bottom, right):
                return make((top, left), self.output_padding)
            return nn.Sequential(make(0, self.output_padding), _crop()((top, bottom, left, right)))
        crops, extra = [], []
        for a, size in enumerate((x.height, x.width)):
            full = (size - 1) * self.stride[a] + self.dilation[a] * (self.kernel[a] - 1) + 1
            total = full - size * self.stride[a]
            crops.append((max(total, 0) // 2, max(total, 0) - max(total, 0) // 2))
            extra.append(max(-total, 0))
        (top, bottom), (left, right) = crops
        return nn.Sequential(make(0, tuple(extra)), _crop()((top, bottom, left, right)))


@cache
def _crop():
    from torch import nn

    class Crop2d(nn.Module):
        """Drop (top, bottom, left, right) pixels from the borders of an NCHW tensor."""

        def __init__(self, crop: tuple[int, int, int, int]):
            super().__init__()
            self.crop = crop

        def forward(self, x):
            top, bottom, left, right = self.crop
            return x[:, :, top:x.shape[2] - bottom, left:x.shape[3] - right]

    return Crop2d


TYPES = {"deconv": LayerEntry(ConvTranspose2d, {})}
ALIASES = {"convtranspose": "deconv"}

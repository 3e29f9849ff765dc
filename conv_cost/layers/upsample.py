"""`upsample`: resize H and W by an integer scale or to a size, nearest or bilinear."""

from __future__ import annotations

from typing import ClassVar

from ..errors import LayerError
from ..records import record
from .base import Cost, Layer, LayerEntry, ReceptiveField, Shape, capped, key
from .window import Pair, field_steps, hwc, pair_text, step_text

MODES = ("nearest", "bilinear")


@record
class Upsample(Layer):
    """Resizing without weights: each output pixel copies its nearest input pixel, or interpolates
    the 2x2 input pixels around it (bilinear)."""

    example: ClassVar[dict] = {"scale": 2}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "upsample"
    traits: ClassVar[frozenset[str]] = frozenset({"resample"})
    scale: Pair | None = key("pair", None)
    size: Pair | None = key("pair", None)
    mode: str = key("choice", "nearest", choices=MODES)

    def __post_init__(self) -> None:
        if self.scale is None and self.size is None:
            raise LayerError("upsample needs 'scale' (an integer or [h, w]) or 'size' ([height, width])")
        if self.scale is not None and self.size is not None:
            raise LayerError("upsample takes 'scale' or 'size', not both; keep one of them")

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        x = inputs[0]
        if self.size is not None:
            return Shape(self.size[0], self.size[1], x.channels)
        return Shape(x.height * self.scale[0], x.width * self.scale[1], x.channels)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        # Bilinear: 4 weights, 4 multiplies and 3 adds per output element.
        return Cost(flops=7 * out.elements if self.mode == "bilinear" else 0, activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        from fractions import Fraction

        rf, x = fields[0], inputs[0]
        reach = 1 if self.mode == "bilinear" else 0  # bilinear reads the next pixel along each axis too
        size = tuple(capped(rf.size[a] + reach * rf.stride[a]) for a in (0, 1))
        ratios = (Fraction(x.height, out.height), Fraction(x.width, out.width))
        return ReceptiveField(size, tuple(rf.stride[a] * ratios[a] for a in (0, 1)), rf.whole)

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        if self.size is None:
            d.axes(("Ho", "Wo"), ("height", "width"),
                   lambda a, sym: (f"{sym['X']}*scale", f"{(x.height, x.width)[a]}*{self.scale[a]}"))
        if self.mode == "bilinear":
            d.add("FLOPs", ("flops",), "7*Ho*Wo*C", f"7*{hwc(out)}")
            d.note("Bilinear: each output element weighs the 4 input pixels around it (4 weights, 4 multiplies, "
                   "3 adds: 7 FLOPs); no params, no MACs.")
        else:
            d.note("Nearest: each output element copies one input element; no FLOPs.")
        d.add("activations", ("activations",), "Ho*Wo*C", hwc(out))
        rf = fields[0]
        extent = ((x.height, out.height), (x.width, out.width))

        def size_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
            if self.mode == "bilinear":
                return "r_in + j_in", f"{rf.size[a]} + {rf.stride[a]}"
            return "r_in", str(rf.size[a])

        def stride_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
            return f"j_in*{sym['X']}/{sym['X']}o", f"{rf.stride[a]}*{extent[a][0]}/{extent[a][1]}"

        field_steps(d, size_axis, stride_axis)
        d.note("Receptive field: neighbouring outputs are j_in*H/Ho input pixels apart, a fraction of a pixel "
               "when upsampling.")
        how = f"x{step_text(self.scale)}" if self.scale is not None else f"to {pair_text(self.size)}"
        return f"{self.mode} upsample {how}"

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        from torch import nn

        if self.size is not None:
            return nn.Upsample(size=self.size, mode=self.mode)
        return nn.Upsample(scale_factor=tuple(float(s) for s in self.scale), mode=self.mode)


TYPES = {"upsample": LayerEntry(Upsample, {})}
ALIASES: dict[str, str] = {}

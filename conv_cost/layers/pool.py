"""Pools: `maxpool` and `avgpool` (windows), `gap` and `gmp` (global)."""

from __future__ import annotations

from typing import ClassVar
from functools import cache

from ..errors import LayerError
from ..records import record
from .base import Cost, Layer, LayerEntry, ReceptiveField, Shape, global_field, key, window_field
from .window import (Pair, Padding, explicit_pads, global_field_steps, padding_text, pads, pair_text, spatial,
                     spatial_steps, step_text, window_field_steps)


_WINDOW = frozenset({"window"})
_AVERAGING_WINDOW = frozenset({"window", "averaging"})
_GLOBAL = frozenset({"global_pool"})
_AVERAGING_GLOBAL = frozenset({"global_pool", "averaging"})


@record
class Pool2d(Layer):
    """A max or average over each kh x kw window of each channel."""

    example: ClassVar[dict] = {"kernel": 2}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    kernel: Pair = key("pair", required=True)
    stride: Pair | None = key("pair", None)  # None: the kernel
    padding: Padding = key("padding", (0, 0))
    ceil_mode: bool = key("bool", False)
    type: str = "maxpool"

    def __post_init__(self) -> None:
        if self.stride is None:
            object.__setattr__(self, "stride", self.kernel)

    @property
    def traits(self) -> frozenset[str]:
        return _AVERAGING_WINDOW if self.type == "avgpool" else _WINDOW

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        x = inputs[0]
        if isinstance(self.padding, tuple):
            for a in (0, 1):
                if any(2 * p > self.kernel[a] for p in pads(self.padding, a)):
                    raise LayerError(
                        f"padding {padding_text(self.padding)} is more than half the kernel {list(self.kernel)}; "
                        "a pool's padding must be at most kernel // 2")
        ho, wo = spatial("pooling", x, self.kernel, self.stride, self.padding, (1, 1), self.ceil_mode)
        return Shape(ho, wo, x.channels)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        window = self.kernel[0] * self.kernel[1]
        per_output = window - 1 if self.type == "maxpool" else window
        return Cost(flops=per_output * out.elements, activations=out.elements)

    def covers_whole_input(self, x: Shape) -> bool:
        """A window as large as its unpadded input: a global pool written as a pool (GoogLeNet's head)."""
        return (self.kernel == (x.height, x.width) and self.padding in ("valid", (0, 0), (0, 0, 0, 0)))

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return window_field(fields[0], self.kernel, self.stride, (1, 1))

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        kh, kw = self.kernel
        spatial_steps(d, x, self.kernel, self.stride, self.padding, None, self.ceil_mode)
        o = f"{out.height}*{out.width}*{out.channels}"
        if self.type == "maxpool":
            d.add("FLOPs", ("flops",), "(kh*kw - 1)*Ho*Wo*C", f"({kh}*{kw} - 1)*{o}")
            d.note("A max over kh*kw values takes kh*kw - 1 comparisons; no params, no MACs.")
        else:
            d.add("FLOPs", ("flops",), "kh*kw*Ho*Wo*C", f"{kh}*{kw}*{o}")
            d.note("An average over kh*kw values: kh*kw - 1 additions and one division; no params, no MACs.")
        d.add("activations", ("activations",), "Ho*Wo*C", o)
        window_field_steps(d, fields[0], self.kernel, self.stride, None)
        return (f"{pair_text(self.kernel)} {self.type}, stride {step_text(self.stride)}, "
                f"padding {padding_text(self.padding)}" + (", ceil_mode" if self.ceil_mode else ""))

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        from torch import nn

        x = inputs[0]
        (top, bottom), (left, right) = explicit_pads(x, self.padding, self.kernel, self.stride, (1, 1))
        if (top, left) == (bottom, right) and self.padding != "same":
            cls = nn.MaxPool2d if self.type == "maxpool" else nn.AvgPool2d
            return cls(self.kernel, self.stride, (top, left), ceil_mode=self.ceil_mode)
        border = (left, right, top, bottom)
        if self.type == "maxpool":
            return nn.Sequential(nn.ConstantPad2d(border, float("-inf")),
                                 nn.MaxPool2d(self.kernel, self.stride, ceil_mode=self.ceil_mode))
        if self.padding != "same":  # explicit zeros, counted in each average as PyTorch's padding is
            return nn.Sequential(nn.ZeroPad2d(border),
                                 nn.AvgPool2d(self.kernel, self.stride, ceil_mode=self.ceil_mode))
        return _same_avg_pool()(self.kernel, self.stride, border)


@cache
def _same_avg_pool():
    import torch
    import torch.nn.functional as F
    from torch import nn

    class SameAvgPool2d(nn.Module):
        """TensorFlow's 'same' average pool: zero padding, each window divided by its real inputs."""

        def __init__(self, kernel, stride, pads: tuple[int, int, int, int]):
            super().__init__()
            self.kernel, self.stride, self.pads = kernel, stride, pads

        def forward(self, x):
            total = F.avg_pool2d(F.pad(x, self.pads), self.kernel, self.stride)
            ones = torch.ones_like(x[:1, :1])
            share = F.avg_pool2d(F.pad(ones, self.pads), self.kernel, self.stride)
            return total / share

    return SameAvgPool2d


@record
class GlobalPool(Layer):
    """A global average (`gap`) or max (`gmp`) pool: each channel's whole map to one value."""

    example: ClassVar[dict] = {}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: str = "gap"

    @property
    def traits(self) -> frozenset[str]:
        return _AVERAGING_GLOBAL if self.type == "gap" else _GLOBAL

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        return Shape(1, 1, inputs[0].channels)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return Cost(flops=inputs[0].elements, activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return global_field(fields[0], inputs[0])

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        d.add("FLOPs", ("flops",), "H*W*C", f"{x.height}*{x.width}*{x.channels}")
        d.add("activations", ("activations",), "C", str(x.channels))
        d.note(f"Each of the {x.channels} channels is reduced to one number over its {x.height}x{x.width} map.")
        global_field_steps(d, fields[0], x)
        return "global average pool" if self.type == "gap" else "global max pool"

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        from torch import nn

        return nn.AdaptiveAvgPool2d(1) if self.type == "gap" else nn.AdaptiveMaxPool2d(1)


TYPES = {
    "maxpool": LayerEntry(Pool2d, {"type": "maxpool"}),
    "avgpool": LayerEntry(Pool2d, {"type": "avgpool"}),
    "gap": LayerEntry(GlobalPool, {"type": "gap"}),
    "gmp": LayerEntry(GlobalPool, {"type": "gmp"}),
}
ALIASES: dict[str, str] = {}

"""`fc` (`linear`, `dense`): a fully connected layer over the flattened input."""

from __future__ import annotations

from functools import cache
from typing import ClassVar

from ..records import record
from .base import Cost, Layer, LayerEntry, ReceptiveField, Shape, global_field, key
from .window import global_field_steps, hwc


@record
class Linear(Layer):
    """A fully connected layer: every unit reads all H*W*C input values."""

    example: ClassVar[dict] = {"units": 4}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "fc"
    traits: ClassVar[frozenset[str]] = frozenset({"linear"})
    units: int = key("count", required=True)
    bias: bool = key("bool", True)

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        return Shape(1, 1, self.units)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        macs = inputs[0].elements * self.units
        bias = self.units if self.bias else 0
        return Cost(params=macs + bias, macs=macs, flops=2 * macs + bias, activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return global_field(fields[0], inputs[0])

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        n = hwc(x)
        d.add("Co", ("channels",), "units", str(self.units))
        bias_f, bias_n = (" + units", f" + {self.units}") if self.bias else ("", "")
        d.add("params", ("params",), f"H*W*C*units{bias_f}", f"{n}*{self.units}{bias_n}")
        d.add("MACs", ("macs",), "H*W*C*units", f"{n}*{self.units}")
        macs = d.row.cost.macs
        d.add("FLOPs", ("flops",), "2*MACs + units" if self.bias else "2*MACs",
              f"2*{macs} + {self.units}" if self.bias else f"2*{macs}")
        d.add("activations", ("activations",), "units", str(self.units))
        if x.height * x.width > 1:
            d.note(f"The {x} input is flattened to {x.elements:,} values; every unit reads all of them.")
        global_field_steps(d, fields[0], x)
        return f"fully connected, {self.units} units" + ("" if self.bias else ", no bias")

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        return _flatten_linear()(inputs[0].elements, self.units, self.bias)


@cache
def _flatten_linear():
    from torch import nn

    class FlattenLinear(nn.Module):
        """`fc`: flatten (C, H, W), then a Linear; the result stays 4-D, (N, units, 1, 1)."""

        def __init__(self, in_features: int, units: int, bias: bool):
            super().__init__()
            self.linear = nn.Linear(in_features, units, bias=bias)

        def forward(self, x):
            return self.linear(x.flatten(1))[:, :, None, None]

    return FlattenLinear


TYPES = {"fc": LayerEntry(Linear, {})}
ALIASES = {"linear": "fc", "dense": "fc"}

"""Layers that combine two or more inputs: `add`, `concat` and `mul` (the broadcast of a
squeeze-and-excitation gate)."""

from __future__ import annotations

from functools import cache, reduce
from typing import ClassVar

from ..errors import LayerError
from ..records import record
from .base import Cost, Layer, LayerEntry, ReceptiveField, Shape, merged_field
from .window import hwc, merged_field_steps


SHOWN_INPUTS = 6  # a message quotes this many inputs, then says how many more: one short line


def describe(inputs: tuple[Shape, ...], names: tuple[str, ...] | None) -> str:
    shown = [str(s) if names is None else f"{n} {s}" for n, s in zip(names or inputs, inputs[:SHOWN_INPUTS])]
    more = len(inputs) - SHOWN_INPUTS
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def add_hint(inputs: tuple[Shape, ...]) -> str:
    """How to make inputs of different shapes addable."""
    first = inputs[0]
    if any((s.height, s.width) == (1, 1) for s in inputs) and any((s.height, s.width) != (1, 1) for s in inputs):
        return ("add does not broadcast a 1x1xC input over H and W; to scale a map by a per-channel gate "
                "(squeeze-and-excitation) use type: mul")
    if all((s.height, s.width) == (first.height, first.width) for s in inputs):
        return "fix the channels: give the shortcut a 1x1 conv to the body's channels"
    if all(s.channels == first.channels for s in inputs):
        return "fix the strides: give the shortcut the body's stride (a strided 1x1 conv or a pool)"
    return "fix the channels or strides, or add a 1x1 conv on the shortcut"


def concat_hint(inputs: tuple[Shape, ...]) -> str:
    """Why maps of different sizes meet, as far as their sizes tell."""
    sides = [min(s.height, s.width) for s in inputs]
    if max(sides) >= 2 * min(sides) - 1:
        return "the branches have different strides; give every branch the same total stride"
    return ("a window without padding shrinks the map by k-1; pad it to keep the size "
            "(padding: same, or padding: (k-1)//2 for a k x k window with stride 1)")


@record
class Add(Layer):
    """The element-wise sum of inputs of one shape (a residual connection)."""

    example: ClassVar[dict] = {}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "add"
    traits: ClassVar[frozenset[str]] = frozenset({"merge"})
    arity: ClassVar[int] = 2  # at least

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        if any(s != inputs[0] for s in inputs):
            raise LayerError(f"add needs inputs of one shape, got {describe(inputs, names)}; {add_hint(inputs)}")
        return inputs[0]

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return Cost(flops=(len(inputs) - 1) * out.elements, activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return merged_field(fields)

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        n = len(inputs)
        d.add("FLOPs", ("flops",), "(n-1)*H*W*C", f"({n}-1)*{hwc(out)}")
        d.add("activations", ("activations",), "H*W*C", hwc(out))
        merged_field_steps(d, fields)
        return f"element-wise add of {n} inputs"

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        return _modules()[0]()


@record
class Concat(Layer):
    """Inputs of one height and width joined along the channels."""

    example: ClassVar[dict] = {}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "concat"
    traits: ClassVar[frozenset[str]] = frozenset({"merge"})
    arity: ClassVar[int] = 2

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        h, w = inputs[0].height, inputs[0].width
        if any((s.height, s.width) != (h, w) for s in inputs):
            raise LayerError(f"concat needs inputs of one height and width, got {describe(inputs, names)}; "
                             f"{concat_hint(inputs)}")
        return Shape(h, w, sum(s.channels for s in inputs))

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return Cost(activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return merged_field(fields)

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        n = len(inputs)
        d.add("Co", ("channels",), " + ".join(f"C{i + 1}" for i in range(n)),
              " + ".join(str(s.channels) for s in inputs))
        d.add("activations", ("activations",), "H*W*Co", f"{out.height}*{out.width}*{out.channels}")
        merged_field_steps(d, fields)
        return f"concatenation of {n} inputs along the channels"

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        return _modules()[1]()


def _is_gate(s: Shape) -> bool:
    return (s.height, s.width) == (1, 1)


@record
class Mul(Layer):
    """The element-wise product of inputs; a 1x1xC input is broadcast over H and W (an SE gate)."""

    example: ClassVar[dict] = {}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "mul"
    traits: ClassVar[frozenset[str]] = frozenset({"merge"})
    arity: ClassVar[int] = 2

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        maps = [s for s in inputs if not _is_gate(s)]
        full = maps[0] if maps else inputs[0]
        if any(s != full for s in maps) or any(s.channels != full.channels for s in inputs):
            raise LayerError(
                f"mul needs inputs of one shape, or 1x1xC gates with the map's C to broadcast over H and W; "
                f"got {describe(inputs, names)}; make the gate's last conv have {full.channels} filters "
                "(or the maps the same size)")
        return full

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return Cost(flops=(len(inputs) - 1) * out.elements, activations=out.elements)

    def full_inputs(self, inputs: tuple[Shape, ...], out: Shape) -> list[int]:
        """Positions of the inputs that have the output's shape (the others are broadcast gates)."""
        return [i for i, s in enumerate(inputs) if s == out] or list(range(len(inputs)))

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        # Neighbouring outputs are as far apart as in the map; a gate does not change that, but a
        # gate made by a global pool makes every output depend on the whole input.
        maps = merged_field(tuple(fields[i] for i in self.full_inputs(inputs, out)))
        return ReceptiveField(maps.size, maps.stride, any(f.whole for f in fields))

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        n = len(inputs)
        d.add("FLOPs", ("flops",), "(n-1)*H*W*C", f"({n}-1)*{hwc(out)}")
        d.add("activations", ("activations",), "H*W*C", hwc(out))
        full = self.full_inputs(inputs, out)
        gates = n - len(full) if len(full) < n else 0
        if gates:
            d.note(f"{'A 1x1xC input is' if gates == 1 else f'{gates} 1x1xC inputs are'} broadcast over "
                   f"H and W: each channel of the {out.height}x{out.width} map is multiplied by one value "
                   "(squeeze-and-excitation).")
        merged_field_steps(d, tuple(fields[i] for i in full))
        if any(fields[i].whole for i in range(n) if i not in full):
            d.note("The gate depends on the whole input map, so every output does too (the receptive field "
                   "is global); its stride stays that of the map.")
        return f"element-wise product of {n} inputs" + (" (broadcast gate)" if gates else "")

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        return _modules()[2]()


@cache
def _modules():
    import operator

    import torch
    from torch import nn

    class Sum(nn.Module):
        """`add`: the element-wise sum of two or more tensors."""

        def forward(self, *xs):
            return reduce(operator.add, xs)

    class Cat(nn.Module):
        """`concat`: join along the channels."""

        def forward(self, *xs):
            return torch.cat(xs, dim=1)

    class Product(nn.Module):
        """`mul`: the element-wise product; (N, C, 1, 1) gates broadcast over H and W."""

        def forward(self, *xs):
            return reduce(operator.mul, xs)

    return Sum, Cat, Product


TYPES = {"add": LayerEntry(Add, {}), "concat": LayerEntry(Concat, {}), "mul": LayerEntry(Mul, {})}
ALIASES: dict[str, str] = {}

"""Layers that move or select values without arithmetic: `flatten`, `shuffle` (ShuffleNet's
channel shuffle) and `slice` (a range of channels, as a channel split takes)."""

from __future__ import annotations

from functools import cache
from typing import ClassVar

from ..errors import LayerError
from ..records import record
from .base import Cost, Layer, LayerEntry, ReceptiveField, Shape, global_field, key
from .window import global_field_steps, hwc


@record
class Flatten(Layer):
    """The map as one vector of H*W*C channels (1 x 1 x H*W*C)."""

    example: ClassVar[dict] = {}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "flatten"
    traits: ClassVar[frozenset[str]] = frozenset({"flattens", "view", "free"})

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        return Shape(1, 1, inputs[0].elements)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return Cost(activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return global_field(fields[0], inputs[0])

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        d.add("Co", ("channels",), "H*W*C", hwc(x))
        d.add("activations", ("activations",), "H*W*C", hwc(x))
        global_field_steps(d, fields[0], x)
        return "flatten"

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        return _modules()[0]()


@record
class Shuffle(Layer):
    """ShuffleNet's channel shuffle: C channels as groups x C/groups, transposed."""

    example: ClassVar[dict] = {"groups": 2}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "shuffle"
    traits: ClassVar[frozenset[str]] = frozenset({"channels", "free"})
    groups: int = key("count", required=True)

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        x = inputs[0]
        if x.channels % self.groups:
            raise LayerError(f"shuffle groups={self.groups} must divide the input channels ({x.channels}); "
                             f"use a divisor of {x.channels}, such as the groups of the conv before it")
        return x

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return Cost(activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return fields[0]

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        x = inputs[0]
        d.add("activations", ("activations",), "H*W*C", hwc(x))
        d.note(f"The {x.channels} channels are read as {self.groups} groups of {x.channels // self.groups} and "
               "interleaved, so the next grouped conv sees every group; it moves values and computes nothing.")
        return f"channel shuffle, {self.groups} groups"

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        return _modules()[1](self.groups)


@record
class Slice(Layer):
    """Channels start..stop-1 of the input (half of a ShuffleNet channel split, a chunk)."""

    example: ClassVar[dict] = {"channels": [1, 3]}  # spec keys valid on an 8x8x4 input (registry and schema tests)

    type: ClassVar[str] = "slice"
    traits: ClassVar[frozenset[str]] = frozenset({"channels", "free"})
    channels: tuple[int, int] = key("range", required=True)

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        x = inputs[0]
        start, stop = self.channels
        if not 0 <= start < stop <= x.channels:
            raise LayerError(f"slice channels [{start}, {stop}] is out of range for an input of {x.channels} "
                             f"channels; give [start, stop] with 0 <= start < stop <= {x.channels}")
        return Shape(x.height, x.width, stop - start)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return Cost(activations=out.elements)

    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        return fields[0]

    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        start, stop = self.channels
        d.add("Co", ("channels",), "stop - start", f"{stop} - {start}")
        d.add("activations", ("activations",), "H*W*Co", hwc(out))
        return f"channels {start} to {stop - 1} of {inputs[0].channels}"

    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        return _modules()[2](*self.channels)


@cache
def _modules():
    from torch import nn

    class Flatten4d(nn.Module):
        """`flatten`: (N, C, H, W) -> (N, C*H*W, 1, 1), so any layer may follow."""

        def forward(self, x):
            return x.flatten(1)[:, :, None, None]

    class ChannelShuffle(nn.Module):
        """(N, g*k, H, W) read as (N, g, k, H, W), transposed to (N, k, g, H, W)."""

        def __init__(self, groups: int):
            super().__init__()
            self.groups = groups

        def forward(self, x):
            n, c, h, w = x.shape
            return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)

    class ChannelSlice(nn.Module):
        """Channels start..stop-1."""

        def __init__(self, start: int, stop: int):
            super().__init__()
            self.start, self.stop = start, stop

        def forward(self, x):
            return x[:, self.start:self.stop]

    return Flatten4d, ChannelShuffle, ChannelSlice


TYPES = {"flatten": LayerEntry(Flatten, {}), "shuffle": LayerEntry(Shuffle, {}), "slice": LayerEntry(Slice, {})}
ALIASES: dict[str, str] = {}

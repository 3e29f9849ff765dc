"""What an ONNX tensor is to the importer: a constant, a stored weight, or a view of a layer's output."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..records import record

# Orders of an activation's elements: PyTorch's (C, H, W), channels-last (H, W, C) as ConvNeXt's
# LayerNorm and Linears see it, and the two steps of a channel shuffle (G groups):
# "g<G>" is (G, C/G, H, W), "t<G>" its transpose (C/G, G, H, W).
CHW, HWC = "chw", "hwc"


@record
class Const:
    """A value known now: read from the file or computed from constants."""

    value: Any  # numpy array

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.value.shape)


@record
class Weight:
    """A stored tensor whose values are not read: only its dims count (it is some layer's parameters)."""

    name: str
    dims: tuple[int, ...]
    elem: int
    stored: Any = None  # reader.Stored, while the dims are still the file's own (values can be read)


@record
class Act:
    """A view of the output of a convcost layer (or of the model's input), as one ONNX tensor.

    shape is the layer's output (H, W, C); dims are the tensor's dims; order says how the two
    relate. pad is a pending Pad (top, bottom, left, right), folded into the next conv or pool;
    dims then include it. pool, on an average pool's output, is its window: (kernel, strides,
    pads, unpadded input size), which a divisor map of real inputs per window may follow.
    view is the node that made a flattened view, which names the flatten layer it may become.
    """

    src: str
    shape: tuple[int, int, int]
    order: str
    dims: tuple[int, ...]
    elem: int
    pad: tuple[int, int, int, int] | None = None
    pool: tuple | None = None
    view: str = ""

    @property
    def elements(self) -> int:
        h, w, c = self.shape
        return h * w * c

    def canonical_dims(self) -> tuple[int, ...]:
        h, w, c = self.shape
        return (1, c, h, w) if self.order == CHW else (1, h, w, c)

    def plain(self) -> Act:
        return replace(self, pool=None, view="")


@record
class Shaped:
    """A tensor of known type whose values are not modelled (inside a pattern, or feeding no output)."""

    dims: tuple[int, ...] | None
    elem: int


Value = Const | Weight | Act | Shaped


def shape_of(dims: tuple[int, ...], order: str) -> tuple[int, int, int] | None:
    """A layer's (H, W, C) from its output tensor's dims, or None if they are not an image or vector."""
    if len(dims) == 4 and dims[0] == 1:
        if order == CHW:
            return dims[2], dims[3], dims[1]
        return dims[1], dims[2], dims[3]
    if len(dims) == 2 and dims[0] == 1:
        return 1, 1, dims[1]
    return None


def flat_like(dims: tuple[int, ...], elements: int) -> bool:
    """(1, N), (1, N, 1) or (1, N, 1, 1): a whole image as one vector."""
    return len(dims) >= 2 and dims[0] == 1 and dims[1] == elements and all(d == 1 for d in dims[2:])

"""What every layer type provides, and the small value types they share.

A layer type is one frozen dataclass in one module of this package. Its fields marked with
`key(...)` are the spec's keys (the value kind tells the spec reader how to read them); its
methods answer every question about the type:

  output_shape(inputs, names) -> Shape          the shape rule; LayerError when it does not fit
  cost(inputs, out) -> Cost                     params, buffers, MACs, FLOPs, activations
  receptive_field(fields, inputs, out) -> ReceptiveField
  explain(d, inputs, out, fields) -> str        adds the derivation steps to `d`; returns a summary
  torch_module(inputs, out) -> torch.nn.Module  the PyTorch equivalent (torch imported lazily)

and its class attribute `traits` says what transforms and renderers may assume about it
(see TRAITS). `missing_pieces` lists what a class lacks; the registry refuses such a class.

Counting convention (batch 1, exact integers): macs are the multiply-accumulates of conv,
deconv and fc only (a bias is not a MAC); flops = 2*macs + 1 per output element for a bias +
each type's extras; params as PyTorch's sum(p.numel()); buffers are bn's running statistics.
"""

from __future__ import annotations

from dataclasses import MISSING, field, fields
from functools import cache
from typing import ClassVar, NamedTuple

from ..errors import LayerError  # noqa: F401 - raised by every type's output_shape
from ..records import record


@record
class Shape:
    height: int
    width: int
    channels: int

    @property
    def elements(self) -> int:
        return self.height * self.width * self.channels

    def __str__(self) -> str:
        return f"{self.height}x{self.width}x{self.channels}"


@record
class Cost:
    params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    activations: int = 0


COST_KEYS = ("params", "buffers", "macs", "flops", "activations")


# What a layer may declare about itself; transforms, renderers and the memory model ask these
# instead of looking at classes or type names.
TRAITS = {
    "conv": "a standard convolution (filters, kernel, stride, groups): bottleneck rewrites apply",
    "depthwise": "a depthwise convolution (as_conv gives the grouped conv it is)",
    "linear": "a fully connected layer over the flattened input",
    "window": "a sliding window over H and W (kernel, stride)",
    "global_pool": "reduces each channel's whole map to one value",
    "averaging": "averages its window (avgpool, gap)",
    "batchnorm": "batch normalization: a bottleneck may be followed by it",
    "normalization": "normalizes its input (bn, layernorm, lrn)",
    "activation": "an activation function, 1 FLOP per element",
    "elementwise": "the same shape out as in, each element on its own or per pixel",
    "view": "its output shares its input's memory (flatten, identity, dropout)",
    "flattens": "turns the map into a vector of H*W*C channels",
    "merge": "combines two or more inputs",
    "resample": "changes H and W without weights (upsample)",
    "channels": "rearranges or selects channels (shuffle, slice)",
    "free": "counted as 0 FLOPs",
}

PIECES = ("output_shape", "cost", "receptive_field", "explain", "torch_module")


def piece(method):
    """A method of the protocol that every layer type defines itself (missing_pieces checks it)."""
    method.__isabstractmethod__ = True
    return method


class Layer:
    """The protocol of a layer type; see the module docstring."""

    __slots__ = ()
    traits: ClassVar[frozenset[str]] = frozenset()  # every type declares its own (see TRAITS)
    arity: ClassVar[int] = 1  # inputs: exactly 1, or at least `arity` when it is more than 1
    example: ClassVar[dict]  # spec keys of a valid layer on an 8x8x4 input (tests and docs build on it)
    type: str

    @piece
    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        """The output shape; LayerError saying what does not fit and how to fix it."""

    @piece
    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        """Every count of one application of the layer (batch 1)."""

    @piece
    def receptive_field(self, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...],
                        out: Shape) -> ReceptiveField:
        """The receptive field of the output, given the inputs' fields."""

    @piece
    def explain(self, d, inputs: tuple[Shape, ...], out: Shape, fields: tuple[ReceptiveField, ...]) -> str:
        """Add the derivation of every number to `d` (explain.Derivation); return a one-line summary."""

    @piece
    def torch_module(self, inputs: tuple[Shape, ...], out: Shape):
        """The torch.nn.Module that computes this layer on NCHW tensors."""

    def settings(self) -> dict:
        """The layer's spec keys with their values, as given or defaulted (for JSON)."""
        out = {}
        for name in spec_keys(type(self)):
            v = getattr(self, name)
            out[name] = list(v) if isinstance(v, tuple) else v
        return out


def missing_pieces(cls: type) -> list[str]:
    """What a layer class lacks to be registered: protocol methods it does not define itself
    (only the abstract declaration of Layer), its traits, an example, a docstring."""
    missing = [p for p in PIECES
               if getattr(cls, p, None) is None or getattr(getattr(cls, p), "__isabstractmethod__", False)]
    traits = getattr(cls, "traits", None)
    if traits is Layer.traits or not isinstance(traits, (frozenset, property)):
        missing.append("traits")  # a frozenset, or a property when one class serves several types
    if not isinstance(cls.__dict__.get("example"), dict):
        missing.append("example")
    doc = (cls.__doc__ or "").strip()
    if not doc or doc is Layer.__doc__ or doc.startswith(f"{cls.__name__}("):  # dataclass writes a signature
        missing.append("docstring")
    return missing


# Spec value kinds (read by conv_cost.spec, described in the schema):
#   count    a positive int                 count0   an int >= 0
#   pair     a positive int or [h, w]       pair0    an int >= 0 or [h, w]
#   padding  same | valid | int >= 0 | [h, w] | [top, bottom, left, right]
#   bool     true | false                   choice   one of metadata["choices"]
#   range    [start, stop], ints >= 0
def key(kind: str, default=None, *, required: bool = False, choices: tuple[str, ...] = ()):
    meta = {"kind": kind, "choices": choices} if choices else {"kind": kind}
    if required:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


@cache
def spec_keys(cls: type) -> dict[str, tuple[str, bool]]:
    """The spec keys of a layer class: name -> (kind, required)."""
    return {f.name: (f.metadata["kind"], f.default is MISSING) for f in fields(cls) if "kind" in f.metadata}


@cache
def key_choices(cls: type) -> dict[str, tuple[str, ...]]:
    """The allowed values of each `choice` key of a layer class."""
    return {f.name: f.metadata["choices"] for f in fields(cls) if "choices" in f.metadata}


class LayerEntry(NamedTuple):
    """A spec type name's class and the constructor arguments that pick the type."""

    cls: type
    fixed: dict


# ------------------------------------------------------------------ receptive fields

# Sizes and strides grow multiplicatively through a deep stack; above this they are held
# (a stride of 10^18 input pixels means no neighbour exists in any input convcost accepts).
RF_CAP = 10**18


@record
class ReceptiveField:
    """Size (input pixels one output sees) and stride (input pixels between neighbouring outputs),
    as (h, w). Strides are fractions after an upsample or a transposed conv (Fraction values);
    `whole` means every output depends on the whole input (a global pool, an fc, an SE gate)."""

    size: tuple = (1, 1)
    stride: tuple = (1, 1)
    whole: bool = False

    def numbers(self) -> tuple:
        """(size h, size w, stride h, stride w) for JSON and CSV: whole pixels for sizes (rounded up),
        ints for strides, or floats where a stride is a fraction of a pixel."""
        return (pixels(self.size[0]), pixels(self.size[1]), stride_value(self.stride[0]),
                stride_value(self.stride[1]))

    def __str__(self) -> str:
        """'11x11 s4', 's2x1' when the stride differs per axis, 's1/2' for a fraction, 'global'."""
        if self.whole:
            return "global"
        h, w = (_text(v) for v in self.stride)
        return f"{pixels(self.size[0])}x{pixels(self.size[1])} s{h if h == w else f'{h}x{w}'}"


def pixels(size) -> int:
    """A size as a whole number of input pixels: a fractional extent rounded up."""
    return size if type(size) is int else -(-size.numerator // size.denominator)


def stride_value(v) -> int | float:
    """A stride for JSON: an int, or a float when it is a fraction of a pixel."""
    if type(v) is int:
        return v
    return int(v) if v.denominator == 1 else float(v)


def _text(v) -> str:
    if type(v) is int or v.denominator == 1:
        return str(int(v))
    return f"{v.numerator}/{v.denominator}"


def capped(v):
    return RF_CAP if v > RF_CAP else v


def window_field(rf: ReceptiveField, kernel, stride, dilation) -> ReceptiveField:
    """After a sliding window: size + d*(k-1)*stride_in, stride_in*s, per axis."""
    (r0, r1), (j0, j1) = rf.size, rf.stride
    return ReceptiveField((capped(r0 + dilation[0] * (kernel[0] - 1) * j0),
                           capped(r1 + dilation[1] * (kernel[1] - 1) * j1)),
                          (capped(j0 * stride[0]), capped(j1 * stride[1])), rf.whole)


def global_field(rf: ReceptiveField, x: Shape) -> ReceptiveField:
    """After a layer whose one output pixel reads the whole map (a kernel of H x W, stride H x W)."""
    (r0, r1), (j0, j1) = rf.size, rf.stride
    return ReceptiveField((capped(r0 + (x.height - 1) * j0), capped(r1 + (x.width - 1) * j1)),
                          (capped(j0 * x.height), capped(j1 * x.width)), True)


def merged_field(fields: tuple[ReceptiveField, ...]) -> ReceptiveField:
    """Of a merge: the largest size and stride over the inputs; whole if any input is."""
    return ReceptiveField((max(f.size[0] for f in fields), max(f.size[1] for f in fields)),
                          (max(f.stride[0] for f in fields), max(f.stride[1] for f in fields)),
                          any(f.whole for f in fields))

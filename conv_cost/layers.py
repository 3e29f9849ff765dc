"""One frozen dataclass per layer type: its spec keys, output shape and cost, in one place.

Counting convention (batch 1, exact integers):
  macs  = multiply-accumulates of conv and fc only (bias is not a MAC);
  flops = 2*macs + 1 per output element for a bias + the per-layer extras of the
          contract (bn 2/element, activations 1/element, pools, adds);
  params = trainable parameters as PyTorch counts them; buffers = bn running stats.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from functools import cache
from typing import ClassVar, Union

from .errors import LayerError


@dataclass(frozen=True, slots=True)
class Shape:
    height: int
    width: int
    channels: int

    @property
    def elements(self) -> int:
        return self.height * self.width * self.channels

    def __str__(self) -> str:
        return f"{self.height}x{self.width}x{self.channels}"


@dataclass(frozen=True, slots=True)
class Cost:
    params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    activations: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.params + other.params,
            self.buffers + other.buffers,
            self.macs + other.macs,
            self.flops + other.flops,
            self.activations + other.activations,
        )


COST_KEYS = ("params", "buffers", "macs", "flops", "activations")

Pair = tuple[int, int]
# "same", "valid" or explicit (top/bottom, left/right) padding.
Padding = Union[str, Pair]

# Spec value kinds, checked by spec.py: "count" a positive int, "pair" a positive int or
# [h, w], "padding" same|valid|int>=0|[h, w], "bool" true/false.
def key(kind: str, default=None, *, required: bool = False):
    if required:
        return field(metadata={"kind": kind})
    return field(default=default, metadata={"kind": kind})


@cache
def spec_keys(cls) -> dict[str, tuple[str, bool]]:
    """The spec keys of a layer class: name -> (kind, required)."""
    return {f.name: (f.metadata["kind"], f.default is MISSING) for f in fields(cls) if "kind" in f.metadata}


def conv_axis(size: int, k: int, s: int, p: Padding, d: int, axis: int, ceil_mode: bool = False) -> int:
    """Output length along one spatial axis (PyTorch's rule; TensorFlow's for 'same')."""
    if p == "same":
        return -(-size // s)
    pad = 0 if p == "valid" else p[axis]
    span = size + 2 * pad - d * (k - 1) - 1
    if span < 0:
        return 0
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    # PyTorch drops a last window that would start inside the right padding.
    if (out - 1) * s >= size + pad:
        out -= 1
    return out


def _spatial(name: str, x: Shape, k: Pair, s: Pair, p: Padding, d: Pair, ceil_mode: bool = False) -> tuple[int, int]:
    ho = conv_axis(x.height, k[0], s[0], p, d[0], 0, ceil_mode)
    wo = conv_axis(x.width, k[1], s[1], p, d[1], 1, ceil_mode)
    if ho < 1 or wo < 1:
        raise LayerError(
            f"{name} output would be {ho}x{wo}, smaller than 1x1 (input {x.height}x{x.width}, "
            f"kernel {k[0]}x{k[1]}, stride {s[0]}x{s[1]}); use a smaller kernel or stride, or padding"
        )
    return ho, wo


def _one(inputs: tuple[Shape, ...]) -> Shape:
    return inputs[0]


@dataclass(frozen=True, slots=True)
class Conv2d:
    type: ClassVar[str] = "conv"
    arity: ClassVar[int] = 1
    filters: int = key("count", required=True)
    kernel: Pair = key("pair", required=True)
    stride: Pair = key("pair", (1, 1))
    padding: Padding = key("padding", "same")
    dilation: Pair = key("pair", (1, 1))
    groups: int = key("count", 1)
    bias: bool = key("bool", True)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        x = _one(inputs)
        if x.channels % self.groups or self.filters % self.groups:
            raise LayerError(
                f"groups={self.groups} must divide both the input channels ({x.channels}) "
                f"and filters ({self.filters})"
            )
        ho, wo = _spatial("convolution", x, self.kernel, self.stride, self.padding, self.dilation)
        return Shape(ho, wo, self.filters)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        kh, kw = self.kernel
        per_filter = kh * kw * (inputs[0].channels // self.groups)
        params = per_filter * self.filters + (self.filters if self.bias else 0)
        macs = out.height * out.width * self.filters * per_filter
        flops = 2 * macs + (out.elements if self.bias else 0)
        return Cost(params=params, macs=macs, flops=flops, activations=out.elements)


@dataclass(frozen=True, slots=True)
class DepthwiseConv2d:
    type: ClassVar[str] = "dwconv"
    arity: ClassVar[int] = 1
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

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return self.as_conv(inputs[0].channels).output_shape(inputs)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return self.as_conv(inputs[0].channels).cost(inputs, out)


@dataclass(frozen=True, slots=True)
class Linear:
    type: ClassVar[str] = "fc"
    arity: ClassVar[int] = 1
    units: int = key("count", required=True)
    bias: bool = key("bool", True)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return Shape(1, 1, self.units)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        macs = inputs[0].elements * self.units
        bias = self.units if self.bias else 0
        return Cost(params=macs + bias, macs=macs, flops=2 * macs + bias, activations=out.elements)


@dataclass(frozen=True, slots=True)
class Pool2d:
    kernel: Pair = key("pair", required=True)
    stride: Pair | None = key("pair", None)  # None: the kernel
    padding: Padding = key("padding", (0, 0))
    ceil_mode: bool = key("bool", False)
    type: str = "maxpool"
    arity: ClassVar[int] = 1

    @property
    def strides(self) -> Pair:
        return self.stride or self.kernel

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        x = _one(inputs)
        if isinstance(self.padding, tuple) and any(2 * p > k for p, k in zip(self.padding, self.kernel)):
            raise LayerError(
                f"padding {list(self.padding)} is more than half the kernel {list(self.kernel)}; "
                "a pool's padding must be at most kernel // 2"
            )
        ho, wo = _spatial("pooling", x, self.kernel, self.strides, self.padding, (1, 1), self.ceil_mode)
        return Shape(ho, wo, x.channels)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        window = self.kernel[0] * self.kernel[1]
        per_output = window - 1 if self.type == "maxpool" else window
        return Cost(flops=per_output * out.elements, activations=out.elements)


@dataclass(frozen=True, slots=True)
class GlobalPool:
    type: str = "gap"
    arity: ClassVar[int] = 1

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return Shape(1, 1, inputs[0].channels)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return Cost(flops=inputs[0].elements, activations=out.elements)


@dataclass(frozen=True, slots=True)
class BatchNorm:
    type: ClassVar[str] = "bn"
    arity: ClassVar[int] = 1

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        c = out.channels
        return Cost(params=2 * c, buffers=2 * c, flops=2 * out.elements, activations=out.elements)


ACTIVATIONS = ("relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish", "softmax")
PASSTHROUGH = ("lrn", "dropout", "identity")


@dataclass(frozen=True, slots=True)
class Elementwise:
    """An activation (1 flop per element) or a shape-preserving layer counted as free."""

    type: str = "relu"
    arity: ClassVar[int] = 1

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        flops = out.elements if self.type in ACTIVATIONS else 0
        return Cost(flops=flops, activations=out.elements)


@dataclass(frozen=True, slots=True)
class Flatten:
    type: ClassVar[str] = "flatten"
    arity: ClassVar[int] = 1

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return Shape(1, 1, inputs[0].elements)

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return Cost(activations=out.elements)


def _describe(inputs: tuple[Shape, ...], names: tuple[str, ...] | None) -> str:
    if names is None:
        return ", ".join(str(s) for s in inputs)
    return ", ".join(f"{n} {s}" for n, s in zip(names, inputs))


@dataclass(frozen=True, slots=True)
class Add:
    type: ClassVar[str] = "add"
    arity: ClassVar[int] = 2  # at least

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        if any(s != inputs[0] for s in inputs):
            raise LayerError(f"add needs inputs of one shape, got {_describe(inputs, names)}; "
                             "fix the channels or strides, or add a 1x1 conv on the shortcut")
        return inputs[0]

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return Cost(flops=(len(inputs) - 1) * out.elements, activations=out.elements)


@dataclass(frozen=True, slots=True)
class Concat:
    type: ClassVar[str] = "concat"
    arity: ClassVar[int] = 2

    def output_shape(self, inputs: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Shape:
        h, w = inputs[0].height, inputs[0].width
        if any((s.height, s.width) != (h, w) for s in inputs):
            raise LayerError(f"concat needs inputs of one height and width, got {_describe(inputs, names)}")
        return Shape(h, w, sum(s.channels for s in inputs))

    def cost(self, inputs: tuple[Shape, ...], out: Shape) -> Cost:
        return Cost(activations=out.elements)


Layer = Union[Conv2d, DepthwiseConv2d, Linear, Pool2d, GlobalPool, BatchNorm, Elementwise, Flatten, Add, Concat]

# type name in a spec -> (class, fixed constructor arguments)
LAYERS: dict[str, tuple[type, dict]] = {
    "conv": (Conv2d, {}),
    "dwconv": (DepthwiseConv2d, {}),
    "fc": (Linear, {}),
    "maxpool": (Pool2d, {"type": "maxpool"}),
    "avgpool": (Pool2d, {"type": "avgpool"}),
    "gap": (GlobalPool, {"type": "gap"}),
    "gmp": (GlobalPool, {"type": "gmp"}),
    "bn": (BatchNorm, {}),
    **{name: (Elementwise, {"type": name}) for name in ACTIVATIONS + PASSTHROUGH},
    "flatten": (Flatten, {}),
    "add": (Add, {}),
    "concat": (Concat, {}),
}
ALIASES = {"linear": "fc", "dense": "fc", "batchnorm": "bn"}


def make_layer(type_name: str, **values) -> Layer:
    """Build a layer from its spec type name and already-validated key values."""
    cls, fixed = LAYERS[ALIASES.get(type_name, type_name)]
    return cls(**fixed, **values)



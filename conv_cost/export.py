"""Graph IR -> torch.nn.Module, for cross-checking convcost's counts against PyTorch's own.

Needs the optional extra `torch` (pip install 'convcost[torch]'); nothing else in convcost
imports this module. Every node becomes one submodule, keyed `n<i>` by node order in
`TorchModel.layers`; `TorchModel.key_of[node name]` gives the key, so costs measured per
submodule can be attributed back to convcost's layers.

Layout: convcost's shapes are NHWC (height, width, channels); the module takes and returns
NCHW tensors (batch, channels, height, width), as PyTorch does. Every tensor stays 4-D: `fc`
and `flatten` return (N, C', 1, 1), so any layer may follow them.

Choices where convcost's spec says less than PyTorch needs (see docs/zoo.md):
- `padding: same` (TensorFlow's rule): the total padding per axis is
  max((out - 1)*s + d*(k - 1) + 1 - in, 0) with out = ceil(in / s), split as TensorFlow
  does, the smaller half before (top/left) and the larger after (bottom/right). When the
  halves differ (an even total is symmetric, an odd one is not: e.g. a 3x3 stride-2 conv
  on 224) a ZeroPad2d runs in front of the conv; max pools pad with -inf, and average
  pools divide by the number of real inputs in each window, as TensorFlow does.
- `fc` and `flatten` flatten in PyTorch's (C, H, W) order, not Keras' (H, W, C): the
  counts are the same, only the order of the weights differs.
- `softmax` runs over the channels; `lrn` is LocalResponseNorm(size=5) (AlexNet's and
  GoogLeNet's); `dropout` is Dropout(0.5); pools keep PyTorch's defaults otherwise
  (average pools with integer padding count the zeros, count_include_pad=True).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from operator import add

import torch
import torch.nn.functional as F
from torch import nn

from .graph import INPUT, Model, infer_shapes
from .layers import Conv2d, Padding, Shape


def same_padding(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TensorFlow's 'same' padding of one axis: (before, after), the larger half after."""
    out = -(-size // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _pads(x: Shape, kernel, stride, dilation) -> tuple[tuple[int, int], tuple[int, int]]:
    return (same_padding(x.height, kernel[0], stride[0], dilation[0]),
            same_padding(x.width, kernel[1], stride[1], dilation[1]))


def _explicit(padding: Padding) -> tuple[int, int]:
    return (0, 0) if padding == "valid" else padding


class FlattenLinear(nn.Module):
    """`fc`: flatten (C, H, W) then a Linear; the result stays 4-D, (N, units, 1, 1)."""

    def __init__(self, in_features: int, units: int, bias: bool):
        super().__init__()
        self.linear = nn.Linear(in_features, units, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))[:, :, None, None]


class Flatten4d(nn.Module):
    """`flatten`: (N, C, H, W) -> (N, C*H*W, 1, 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :, None, None]


class SameAvgPool2d(nn.Module):
    """TensorFlow's 'same' average pool: zero padding, each window divided by its real inputs."""

    def __init__(self, kernel, stride, pads: tuple[int, int, int, int]):
        super().__init__()
        self.kernel, self.stride, self.pads = kernel, stride, pads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = F.avg_pool2d(F.pad(x, self.pads), self.kernel, self.stride)
        ones = torch.ones_like(x[:1, :1])
        share = F.avg_pool2d(F.pad(ones, self.pads), self.kernel, self.stride)
        return total / share


class Sum(nn.Module):
    """`add`: the elementwise sum of two or more tensors."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return reduce(add, xs)


class Concat(nn.Module):
    """`concat`: join along the channels."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


def _conv(layer: Conv2d, x: Shape) -> nn.Module:
    padding = layer.padding
    if padding == "same":
        (top, bottom), (left, right) = _pads(x, layer.kernel, layer.stride, layer.dilation)
        if (top, left) != (bottom, right):
            # PyTorch pads both sides alike; TensorFlow puts the odd pixel after.
            return nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), _torch_conv(layer, x, (0, 0)))
        padding = (top, left)
    return _torch_conv(layer, x, _explicit(padding))


def _torch_conv(layer: Conv2d, x: Shape, padding: tuple[int, int]) -> nn.Conv2d:
    return nn.Conv2d(x.channels, layer.filters, layer.kernel, layer.stride, padding,
                     layer.dilation, layer.groups, layer.bias)


def _pool(layer, x: Shape) -> nn.Module:
    stride = layer.strides
    if layer.padding == "same":
        (top, bottom), (left, right) = _pads(x, layer.kernel, stride, (1, 1))
        pads = (left, right, top, bottom)
        if layer.type == "maxpool":
            return nn.Sequential(nn.ConstantPad2d(pads, float("-inf")), nn.MaxPool2d(layer.kernel, stride))
        return SameAvgPool2d(layer.kernel, stride, pads)
    cls = nn.MaxPool2d if layer.type == "maxpool" else nn.AvgPool2d
    return cls(layer.kernel, stride, _explicit(layer.padding), ceil_mode=layer.ceil_mode)


_SIMPLE: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "hardswish": nn.Hardswish,
    "softmax": lambda: nn.Softmax(dim=1),
    "lrn": lambda: nn.LocalResponseNorm(5),
    "dropout": lambda: nn.Dropout(0.5),
    "identity": nn.Identity,
    "flatten": Flatten4d,
    "add": Sum,
    "concat": Concat,
    "gap": lambda: nn.AdaptiveAvgPool2d(1),
    "gmp": lambda: nn.AdaptiveMaxPool2d(1),
}

# convcost layer type -> builder(layer, first input shape); every type of layers.LAYERS has one.
BUILDERS: dict[str, Callable[[object, Shape], nn.Module]] = {
    "conv": _conv,
    "dwconv": lambda layer, x: _conv(layer.as_conv(x.channels), x),
    "fc": lambda layer, x: FlattenLinear(x.elements, layer.units, layer.bias),
    "maxpool": _pool,
    "avgpool": _pool,
    "bn": lambda layer, x: nn.BatchNorm2d(x.channels),
    **{name: (lambda make: lambda layer, x: make())(make) for name, make in _SIMPLE.items()},
}


@dataclass(frozen=True, slots=True)
class _Step:
    key: str
    name: str
    inputs: tuple[str, ...]


class TorchModel(nn.Module):
    """A convcost model as a torch module: one submodule per node, run in topological order."""

    def __init__(self, model: Model):
        super().__init__()
        shapes = infer_shapes(model)
        self.layers = nn.ModuleDict()
        self.key_of: dict[str, str] = {}
        steps = []
        for i, node in enumerate(model.nodes):
            key = f"n{i}"
            self.layers[key] = BUILDERS[node.layer.type](node.layer, shapes[node.inputs[0]])
            self.key_of[node.name] = key
            steps.append(_Step(key, node.name, node.inputs))
        self.steps = tuple(steps)
        self.output = model.output_node
        self.input_shape = model.input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {INPUT: x}
        for step in self.steps:
            values[step.name] = self.layers[step.key](*(values[i] for i in step.inputs))
        return values[self.output]


def to_torch(model: Model) -> TorchModel:
    """Build the torch.nn.Module of a convcost model (NCHW in, NCHW out)."""
    return TorchModel(model)

"""Graph IR -> torch.nn.Module, for cross-checking convcost's counts against PyTorch's own.

Needs the optional extra `torch` (pip install 'convcost[torch]'); nothing else in convcost
imports this module. Every node becomes one submodule, keyed `n<i>` by node order in
`TorchModel.layers`; `TorchModel.key_of[node name]` gives the key, so costs measured per
submodule can be attributed back to convcost's layers.

Layout: convcost's shapes are NHWC (height, width, channels); the module takes and returns
NCHW tensors (batch, channels, height, width), as PyTorch does. Every tensor stays 4-D: `fc`
and `flatten` return (N, C', 1, 1), so any layer may follow them.

Each layer type builds its own module (`torch_module` in conv_cost/layers). Choices where
convcost's spec says less than PyTorch needs (see docs/zoo.md):
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

import torch
from torch import nn

from .graph import INPUT, Model, shapes_of
from .layers.window import same_padding
from .records import record

__all__ = ["TorchModel", "same_padding", "to_torch"]


@record
class _Step:
    key: str
    name: str
    inputs: tuple[str, ...]


class TorchModel(nn.Module):
    """A convcost model as a torch module: one submodule per node, run in topological order."""

    def __init__(self, model: Model):
        super().__init__()
        shapes = shapes_of(model)
        self.layers = nn.ModuleDict()
        self.key_of: dict[str, str] = {}
        steps = []
        for i, node in enumerate(model.nodes):
            key = f"n{i}"
            ins = tuple([shapes[name] for name in node.inputs])
            self.layers[key] = node.layer.torch_module(ins, shapes[node.name])
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

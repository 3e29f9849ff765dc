"""Receptive field of every layer: how many input pixels one output pixel sees, and its stride.

Per spatial axis, starting from the model input (size 1, stride 1):
  kernel k, stride s, dilation d (conv, dwconv; pools with d = 1):
      size = size_in + d*(k-1)*stride_in      stride = stride_in*s
  fc, gap, gmp, flatten see the whole input (H_in pixels along the axis), as a kernel of
  H_in with stride H_in would:
      size = size_in + (H_in-1)*stride_in     stride = stride_in*H_in
  bn, activations, dropout...: unchanged. add, concat: the largest size (and stride) over
  the inputs. Padding never changes the size; sizes are not clipped to the input.
"""

from __future__ import annotations

from dataclasses import dataclass

from .graph import INPUT, Model
from .layers import Conv2d, DepthwiseConv2d, Flatten, GlobalPool, Layer, Linear, Pool2d, Shape

Pair = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ReceptiveField:
    """Size (input pixels seen) and stride (input pixels between neighbouring outputs), as (h, w)."""

    size: Pair = (1, 1)
    stride: Pair = (1, 1)

    def __str__(self) -> str:
        """'11x11 s4': the size, then the stride ('s2x1' when it differs per axis)."""
        h, w = self.stride
        return f"{self.size[0]}x{self.size[1]} s{h if h == w else f'{h}x{w}'}"


def window(layer: Layer) -> tuple[Pair, Pair, Pair] | None:
    """(kernel, stride, dilation) of a sliding-window layer; None for every other layer."""
    if isinstance(layer, (Conv2d, DepthwiseConv2d)):
        return layer.kernel, layer.stride, layer.dilation
    if isinstance(layer, Pool2d):
        return layer.kernel, layer.strides, (1, 1)
    return None


def sees_everything(layer: Layer) -> bool:
    """Layers whose single output pixel reads the whole input map."""
    return isinstance(layer, (Linear, GlobalPool, Flatten))


def layer_field(layer: Layer, inputs: tuple[ReceptiveField, ...], in_shape: Shape) -> ReceptiveField:
    """The receptive field after `layer`, given the fields of its inputs and its first input's shape."""
    if len(inputs) > 1:
        return ReceptiveField((max(f.size[0] for f in inputs), max(f.size[1] for f in inputs)),
                              (max(f.stride[0] for f in inputs), max(f.stride[1] for f in inputs)))
    (rf,) = inputs
    (r0, r1), (j0, j1) = rf.size, rf.stride
    win = window(layer)
    if win is not None:
        (k0, k1), (s0, s1), (d0, d1) = win
        return ReceptiveField((r0 + d0 * (k0 - 1) * j0, r1 + d1 * (k1 - 1) * j1), (j0 * s0, j1 * s1))
    if sees_everything(layer):
        h, w = in_shape.height, in_shape.width
        return ReceptiveField((r0 + (h - 1) * j0, r1 + (w - 1) * j1), (j0 * h, j1 * w))
    return rf


def receptive_fields(model: Model, shapes: dict[str, Shape]) -> dict[str, ReceptiveField]:
    """The receptive field of every node (and `input`), in one pass over the topological order."""
    fields = {INPUT: ReceptiveField()}
    for node in model.nodes:
        fields[node.name] = layer_field(node.layer, tuple([fields[i] for i in node.inputs]), shapes[node.inputs[0]])
    return fields

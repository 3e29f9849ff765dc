"""Receptive field of every layer: how many input pixels one output pixel sees, and its stride.

Each layer type gives its own rule (`receptive_field` in conv_cost/layers); per spatial axis,
starting from the model input (size 1, stride 1):
  a window (conv, dwconv, pools) of kernel k, stride s, dilation d:
      size = size_in + d*(k-1)*stride_in      stride = stride_in*s
  fc, gap, gmp, flatten read the whole map, as a window of H_in with stride H_in would; their
      field is global (every output depends on the whole input), and so is every field after it;
  deconv: stride_in/s (a fraction of a pixel), and size grows by the input pixels that reach one
      output; upsample: stride_in*H/Ho, bilinear adds one stride_in to the size;
  bn, activations, layernorm, scale, shuffle, slice, dropout...: unchanged;
  add, concat: the largest size and stride over the inputs; mul: over the inputs of the output's
      shape (a broadcast gate does not change the stride, but a global gate makes the field global).
Padding never changes the size; sizes are not clipped to the input; sizes and strides are held at
10^18. docs/handouts.md has the details.
"""

from __future__ import annotations

from .graph import INPUT, Model
from .layers import ReceptiveField, Shape
from .layers.base import RF_CAP, pixels, stride_value

__all__ = ["RF_CAP", "ReceptiveField", "layer_field", "pixels", "receptive_fields", "stride_value"]


def layer_field(layer, fields: tuple[ReceptiveField, ...], inputs: tuple[Shape, ...], out: Shape) -> ReceptiveField:
    """The receptive field after `layer`, given its inputs' fields and shapes and its output shape."""
    return layer.receptive_field(fields, inputs, out)


def receptive_fields(model: Model, shapes: dict[str, Shape]) -> dict[str, ReceptiveField]:
    """The receptive field of every node (and `input`), in one pass over the topological order."""
    fields = {INPUT: ReceptiveField()}
    for node in model.nodes:
        ins = node.inputs
        fields[node.name] = node.layer.receptive_field(tuple([fields[i] for i in ins]),
                                                       tuple([shapes[i] for i in ins]), shapes[node.name])
    return fields

"""The graph IR: named nodes in topological order, and shape inference over them.

A Model made by the spec reader or a transform carries its shapes, inferred once by `validate`;
every later step (costs, receptive fields, transforms, export) reads them from the model.
"""

from __future__ import annotations

from dataclasses import field, replace
from typing import Mapping

from .errors import LayerError, Problem, SpecError
from .layers import Layer, Shape
from .records import record

INPUT = "input"
# Tensors of 10**18 elements or more are refused: no real network has them, and unbounded sizes
# (a dwconv multiplier repeated a million times) would grow integers without limit.
MAX_ELEMENTS = 10**18


@record
class Node:
    """One layer of a model: its unique path, the layer, the nodes it reads, where it was written,
    and whether the spec named it (False for a default name such as `conv3`)."""

    name: str
    layer: Layer
    inputs: tuple[str, ...]
    line: int = 0
    col: int = 0
    named: bool = True


@record
class Model:
    """A whole network: nodes in topological order (each reads only earlier nodes or `input`);
    `shapes` maps every node (and `input`) to its output shape once the model is validated."""

    name: str
    input: Shape
    nodes: tuple[Node, ...]
    description: str = ""
    source: str = "<spec>"
    shapes: Mapping[str, Shape] | None = field(default=None, compare=False, repr=False)

    @property
    def output_node(self) -> str:
        return self.nodes[-1].name if self.nodes else INPUT


def validate(model: Model) -> Model:
    """The model with its shapes; SpecError naming each layer that does not fit."""
    return replace(model, shapes=infer_shapes(model))


def shapes_of(model: Model) -> Mapping[str, Shape]:
    """The model's shapes: those it carries, or inferred now for a model built by hand."""
    return model.shapes if model.shapes is not None else infer_shapes(model)


def infer_shapes(model: Model) -> dict[str, Shape]:
    """Output shape of every node (and `input`); raises SpecError naming each layer that does not fit."""
    shapes: dict[str, Shape] = {INPUT: model.input}
    problems: list[Problem] = []
    for node in model.nodes:
        try:
            ins = tuple([shapes[i] for i in node.inputs])
        except KeyError:
            # An upstream layer already failed: its problem is reported, this one cannot be checked.
            if problems:
                continue
            raise ValueError(f"node {node.name!r} reads a node that is not before it: {node.inputs}") from None
        try:
            out = node.layer.output_shape(ins, node.inputs)
            if out.elements >= MAX_ELEMENTS:
                raise LayerError(f"output {out} has 10^18 elements or more; check the sizes and multipliers")
            shapes[node.name] = out
        except LayerError as exc:
            problems.append(Problem(model.source, node.line, node.col, f"layer '{node.name}': {exc}"))
            if len(problems) >= 200:
                break  # only the first few are shown; a million broken layers must not fill memory
    if problems:
        raise SpecError(problems)
    return shapes


def with_input(model: Model, shape: Shape) -> Model:
    """The model on another input shape, validated again (--input); SpecError naming a layer that no longer fits.
    On its own input, a validated model is returned as it is: its shapes are already known."""
    if shape == model.input and model.shapes is not None:
        return model
    return validate(replace(model, input=shape, shapes=None))


def consumers(model: Model) -> dict[str, list[str]]:
    """For every node name (and `input`), the names of the nodes that read it."""
    out: dict[str, list[str]] = {INPUT: []}
    for node in model.nodes:
        out[node.name] = []
        for i in node.inputs:
            out[i].append(node.name)
    return out

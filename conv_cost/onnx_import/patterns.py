"""Groups of nodes that are one layer: how exporters spell what ONNX has no single op for.

Each matcher starts from one node and checks the whole group: the ops, the constants (GELU's
sqrt(2), 1 and 0.5) and that no tensor inside the group is read from outside it (except by
Shape, which reads no values). A group that does not match exactly is left alone, and its
nodes are then mapped one by one (or refused).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..records import record

SHAPE_ONLY = ("Shape", "Size")  # ops that read a tensor's dims, never its values


@record
class Fused:
    """Several nodes mapped to one layer of `kind`."""

    kind: str  # silu, hardswish, gelu, lrn, layernorm, conv_bias, linear, scale_bias
    members: tuple  # NodeProto, in graph order
    inputs: tuple[str, ...]  # for the activations: (x,); else the anchor's inputs with the bias last
    output: str
    anchor: Any  # the node whose attributes and name the layer takes


class GraphIndex:
    """Who produces and who reads each tensor, and which tensors are computed from constants only."""

    def __init__(self, nodes: list, constants: set[str], outer: dict[int, tuple[str, ...]],
                 graph_outputs: set[str], value_of: Callable[[str], Any], dims_of: Callable[[str], Any]):
        self.nodes = nodes
        self.position = {id(n): i for i, n in enumerate(nodes)}
        self.producer: dict[str, Any] = {}
        self.readers: dict[str, list] = {}
        self.graph_outputs = graph_outputs
        self.value_of = value_of  # small constant tensors (numpy) or None
        self.dims_of = dims_of
        self.outer = outer
        self.constant = set(constants)  # does not depend on the input image's values
        for node in nodes:
            ins = [n for n in (*node.input, *outer.get(id(node), ())) if n]
            for name in ins:
                self.readers.setdefault(name, []).append(node)
            for out in node.output:
                self.producer[out] = node
            if node.op_type in SHAPE_ONLY or all(n in self.constant for n in ins):
                self.constant.update(o for o in node.output if o)

    def value_inputs(self, node) -> list[str]:
        """The inputs of a node that carry the image's values (not constants, not shape arithmetic)."""
        return [n for n in (*node.input, *self.outer.get(id(node), ())) if n and n not in self.constant]

    def sole_reader(self, name: str):
        readers = self.readers.get(name, [])
        if len(readers) != 1 or name in self.graph_outputs:
            return None
        return readers[0]

    def scalar(self, name: str) -> float | None:
        value = self.value_of(name)
        if value is None or value.size != 1:
            return None
        return float(value.reshape(()))

    def is_scalar(self, name: str, expected: float) -> bool:
        got = self.scalar(name)
        return got is not None and math.isclose(got, expected, rel_tol=1e-4)

    def closed(self, members: list, output: str) -> bool:
        """No tensor made inside the group is read outside it, except `output` (and by Shape)."""
        inside = {id(m) for m in members}
        for m in members:
            for out in m.output:
                if not out or out == output:
                    continue
                if out in self.graph_outputs:
                    return False
                if any(id(r) not in inside and r.op_type not in SHAPE_ONLY for r in self.readers.get(out, [])):
                    return False
        return True

    def group(self, kind: str, members: list, inputs: tuple[str, ...], output: str, anchor) -> Fused | None:
        members = sorted(members, key=lambda m: self.position[id(m)])
        if not self.closed(members, output):
            return None
        return Fused(kind, tuple(members), inputs, output, anchor)


def _other(node, name: str) -> str | None:
    """The other input of a two-input node that reads `name`."""
    if len(node.input) != 2 or name not in node.input:
        return None
    a, b = node.input
    return b if a == name else a


def _times_x(g: GraphIndex, node, x: str, gate: str, kind: str) -> Fused | None:
    """x * f(x): node computes the gate f(x) (Sigmoid for SiLU, HardSigmoid for HardSwish)."""
    mul = g.sole_reader(gate)
    if mul is None or mul.op_type != "Mul" or sorted(mul.input) != sorted([x, gate]):
        return None
    return g.group(kind, [node, mul], (x,), mul.output[0], node)


def silu(g: GraphIndex, node) -> Fused | None:
    if node.op_type != "Sigmoid" or node.input[0] in g.constant:
        return None
    return _times_x(g, node, node.input[0], node.output[0], "silu")


def hardswish(g: GraphIndex, node) -> Fused | None:
    if node.op_type != "HardSigmoid" or node.input[0] in g.constant:
        return None
    attrs = {a.name: a.f for a in node.attribute}
    if not (math.isclose(attrs.get("alpha", 0.2), 1 / 6, rel_tol=1e-4)
            and math.isclose(attrs.get("beta", 0.5), 0.5, rel_tol=1e-4)):
        return None  # some other x * hardsigmoid(x): two layers
    return _times_x(g, node, node.input[0], node.output[0], "hardswish")


def gelu(g: GraphIndex, node) -> Fused | None:
    """x * 0.5 * (1 + erf(x / sqrt(2))), as PyTorch writes GELU before opset 20, in any of its orders."""
    if node.op_type != "Erf":
        return None
    scaled = g.producer.get(node.input[0])
    if scaled is None or g.sole_reader(scaled.output[0]) is not node:
        return None
    if scaled.op_type == "Div" and g.is_scalar(scaled.input[1], math.sqrt(2)):
        x = scaled.input[0]
    elif scaled.op_type == "Mul":
        x = next((a for a, b in (scaled.input, scaled.input[::-1]) if g.is_scalar(b, 1 / math.sqrt(2))), None)
    else:
        return None
    if x is None or x in g.constant:
        return None
    one = g.sole_reader(node.output[0])
    if one is None or one.op_type != "Add" or not g.is_scalar(_other(one, node.output[0]) or "", 1.0):
        return None
    first = g.sole_reader(one.output[0])
    if first is None or first.op_type != "Mul":
        return None
    other = _other(first, one.output[0])
    members = [scaled, node, one, first]
    if other == x:  # (x * (1 + erf)) * 0.5
        last = g.sole_reader(first.output[0])
        if last is None or last.op_type != "Mul" or not g.is_scalar(_other(last, first.output[0]) or "", 0.5):
            return None
        members.append(last)
    elif other is not None and g.is_scalar(other, 0.5):  # x * ((1 + erf) * 0.5)
        last = g.sole_reader(first.output[0])
        if last is None or last.op_type != "Mul" or _other(last, first.output[0]) != x:
            return None
        members.append(last)
    else:  # (x * 0.5) * (1 + erf)
        half = g.producer.get(other or "")
        if half is None or half.op_type != "Mul" or _other(half, x) is None or not g.is_scalar(_other(half, x), 0.5):
            return None
        last = first
        members.append(half)
    return g.group("gelu", members, (x,), last.output[0], node)


# What PyTorch's local_response_norm is made of: x / (k + alpha * avg_pool(x^2 over channels))^beta.
_LRN_OPS = frozenset(("Reshape", "Pad", "AveragePool", "Squeeze", "Unsqueeze", "If", "Identity", "Mul", "Add",
                      "Pow", "Div", "Transpose", "Cast"))


def lrn(g: GraphIndex, node) -> Fused | None:
    """PyTorch's LocalResponseNorm, which it exports as some twenty nodes, starting from x * x."""
    if node.op_type != "Mul" or node.input[0] != node.input[1] or node.input[0] in g.constant:
        return None
    x = node.input[0]
    made = {node.output[0]}
    members = [node]
    start = g.position[id(node)]
    for other in g.nodes[start + 1:start + 200]:
        if other.op_type not in _LRN_OPS:
            continue
        ins = g.value_inputs(other)
        if not ins or not set(ins) <= made | {x} or not set(ins) & made:
            continue
        members.append(other)
        made.update(o for o in other.output if o)
        if other.op_type == "Div" and other.input[0] == x and other.input[1] in made:
            ops = {m.op_type for m in members}
            if "AveragePool" in ops and "Pow" in ops:
                return g.group("lrn", members, (x,), other.output[0], node)
            return None
    return None


def _last_axis_mean(g: GraphIndex, node) -> bool:
    if node is None or node.op_type != "ReduceMean":
        return False
    attrs = {a.name: a for a in node.attribute}
    if "axes" in attrs:
        axes = list(attrs["axes"].ints)
    elif len(node.input) > 1 and node.input[1]:
        value = g.value_of(node.input[1])
        axes = [] if value is None else [int(v) for v in value.reshape(-1)]
    else:
        return False
    return axes == [-1] and ("keepdims" not in attrs or attrs["keepdims"].i == 1)


def layernorm(g: GraphIndex, node) -> Fused | None:
    """LayerNorm over the last axis written out, as PyTorch does before opset 17:
    (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * weight + bias."""
    if not _last_axis_mean(g, node) or node.input[0] in g.constant:
        return None
    x = node.input[0]
    centred = next((r for r in g.readers.get(node.output[0], []) if r.op_type == "Sub" and
                    list(r.input) == [x, node.output[0]]), None)
    if centred is None or not g.sole_reader(node.output[0]):
        return None
    d = centred.output[0]
    readers = g.readers.get(d, [])
    square = next((r for r in readers if (r.op_type == "Pow" and r.input[0] == d and g.is_scalar(r.input[1], 2.0))
                   or (r.op_type == "Mul" and list(r.input) == [d, d])), None)
    divide = next((r for r in readers if r.op_type == "Div" and r.input[0] == d), None)
    if square is None or divide is None or len(readers) != 2:
        return None
    variance = g.sole_reader(square.output[0])
    if not _last_axis_mean(g, variance):
        return None
    eps = g.sole_reader(variance.output[0])
    if eps is None or eps.op_type != "Add" or (_other(eps, variance.output[0]) or "") not in g.constant:
        return None
    root = g.sole_reader(eps.output[0])
    if root is None or root.op_type != "Sqrt" or divide.input[1] != root.output[0]:
        return None
    scale = g.sole_reader(divide.output[0])
    if scale is None or scale.op_type != "Mul":
        return None
    weight = _other(scale, divide.output[0])
    shift = g.sole_reader(scale.output[0])
    if weight not in g.constant or shift is None or shift.op_type != "Add":
        return None
    bias = _other(shift, scale.output[0])
    if bias not in g.constant:
        return None
    members = [node, centred, square, variance, eps, root, divide, scale, shift]
    return g.group("layernorm", members, (x, weight, bias), shift.output[0], node)


def _bias_after(g: GraphIndex, node, kind: str, inputs: tuple[str, ...]) -> Fused | None:
    add = g.sole_reader(node.output[0])
    if add is None or add.op_type != "Add":
        return None
    bias = _other(add, node.output[0])
    if bias is None or bias not in g.constant or g.dims_of(bias) is None:
        return None
    return g.group(kind, [node, add], (*inputs, bias), add.output[0], node)


def conv_bias(g: GraphIndex, node) -> Fused | None:
    """A Conv without a bias followed by Add of a constant: the conv's bias, written apart."""
    if node.op_type not in ("Conv", "ConvTranspose") or (len(node.input) > 2 and node.input[2]):
        return None
    return _bias_after(g, node, "conv_bias", tuple(node.input[:2]))


def linear(g: GraphIndex, node) -> Fused | None:
    """MatMul by a stored matrix, then Add of a constant: a Linear layer (PyTorch's on >2-D inputs)."""
    if node.op_type != "MatMul" or node.input[0] in g.constant or node.input[1] not in g.constant:
        return None
    return _bias_after(g, node, "linear", tuple(node.input))


def scale_bias(g: GraphIndex, node) -> Fused | None:
    """Mul by a stored per-channel tensor, then Add of another: a scale layer with a bias."""
    if node.op_type != "Mul" or len(node.input) != 2:
        return None
    x, w = node.input
    if x in g.constant:
        x, w = w, x
    if x in g.constant or w not in g.constant:
        return None
    dims = g.dims_of(w)
    if dims is None or math.prod(dims) <= 1:
        return None
    return _bias_after(g, node, "scale_bias", (x, w))


# In order: a node claimed by an earlier group is not offered to later matchers.
MATCHERS = (gelu, lrn, layernorm, silu, hardswish, conv_bias, linear, scale_bias)


def find_groups(g: GraphIndex) -> list[Fused]:
    """Every group of the graph; no node belongs to two."""
    claimed: set[int] = set()
    groups: list[Fused] = []
    for matcher in MATCHERS:
        for node in g.nodes:
            if id(node) in claimed:
                continue
            found = matcher(g, node)
            if found is None or any(id(m) in claimed for m in found.members):
                continue
            claimed.update(id(m) for m in found.members)
            groups.append(found)
    return groups

"""ONNX graph -> convcost layers: every node read in order, as a constant, a view or a layer.

The graph is walked once in topological order. Each tensor becomes a value (values.py):
constants are evaluated (fold.py), stored weights keep only their dims, and activations are
views of the output of some convcost layer. Each node's output shapes come from onnx's own
shape inference of that node (its inputs' shapes and constant values known), so nothing is
guessed; convcost's own shapes are checked against them afterwards (see __init__.py).
A node that convcost cannot express is an error naming it: never a silent zero.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Any

from ..records import record
from .fold import FOLDABLE, evaluate
from .naming import Namer
from .patterns import SHAPE_ONLY, Fused, GraphIndex, find_groups
from .reader import MAX_VALUE_ELEMENTS, OnnxFile, OnnxImportError, listing, short, stored_tensor, topological
from .values import CHW, HWC, Act, Const, Shaped, Value, Weight, flat_like, shape_of

DEFAULT_DOMAINS = ("", "ai.onnx")
# One convcost activation per ONNX op (and Clip, which may be relu6 or relu).
ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hardswish",
               "HardSigmoid": "hardsigmoid", "Gelu": "gelu", "LRN": "lrn", "Softmax": "softmax"}
VIEWS = ("Identity", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Cast", "Pad")


@record
class Layer:
    """One line of the spec: a convcost layer, and where it came from."""

    type: str
    name: str
    keys: dict
    inputs: tuple[str, ...]
    node: str  # the ONNX node it was made from (messages name it)
    shape: tuple[int, int, int]  # its output (H, W, C), by ONNX's shape inference


def _attrs(node) -> dict[str, Any]:
    from onnx import helper

    out = {}
    for a in node.attribute:
        value = helper.get_attribute_value(a)
        out[a.name] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return out


def _pair(values) -> int | list[int]:
    a, b = (int(v) for v in values)
    return a if a == b else [a, b]


def tf_same(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding of one axis, (before, after), the larger half after."""
    out = -(-size // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def padding_key(pads: tuple[int, int, int, int], hw: tuple[int, int], kernel, stride, dilation):
    """The spec's `padding` for explicit pads (top, bottom, left, right) of an input of size hw."""
    t, b, l, r = pads
    if t == b and l == r:
        return t if t == l else [t, l]
    if (t, b) == tf_same(hw[0], kernel[0], stride[0], dilation[0]) and \
            (l, r) == tf_same(hw[1], kernel[1], stride[1], dilation[1]):
        return "same"
    return [t, b, l, r]


@dataclass
class Mapper:
    file: OnnxFile
    layers: list[Layer] = field(default_factory=list)
    env: dict[str, Value] = field(default_factory=dict)

    def __post_init__(self):
        import onnx

        self.onnx = onnx
        f = self.file
        self.opset = f.opset
        self.namer = Namer([n.name for n in f.nodes])
        self.flattened: dict[tuple[str, str], Act] = {}
        self.schemas: dict[tuple[str, str], Any] = {}
        self.graph_outputs = {o.name for o in f.model.graph.output}
        for name, stored in f.initializers.items():
            self.env[name] = Weight(name, stored.dims, stored.dtype, stored)
        n, c, h, w = f.input_dims
        self.env[f.input_name] = Act("input", (h, w, c), CHW, (1, c, h, w), f.input_dtype)

    # ------------------------------------------------------------------ the walk

    def run(self) -> list[Layer]:
        check_unsupported(self.file.nodes)
        nodes = self.file.nodes
        self.constant_nodes = {n.output[0]: n for n in nodes if n.op_type == "Constant" and n.output}
        index = GraphIndex(nodes, set(self.file.initializers), self.file.outer_inputs, self.graph_outputs,
                           self.small_value, self.static_dims)
        groups = find_groups(index)
        self.last_of = {id(g.members[-1]): g for g in groups}
        self.member = {id(m) for g in groups for m in g.members}
        self.live = self.live_tensors(nodes)
        for node in nodes:
            self.step(node)
        if not self.layers:
            raise OnnxImportError("the graph has no layer that convcost counts (no convolution, pool, "
                                  "activation or other mapped op reads the input)")
        return self.layers

    def live_tensors(self, nodes, outputs=None) -> set[str]:
        """Tensors whose values reach a graph output (not merely their shapes, through Shape)."""
        live = set(self.graph_outputs if outputs is None else outputs)
        for node in reversed(nodes):
            if node.op_type in SHAPE_ONLY or not any(o in live for o in node.output):
                continue
            live.update(n for n in node.input if n)
            live.update(self.file.outer_inputs.get(id(node), ()))
        return live

    def step(self, node) -> None:
        self.current = node
        ins = [self.env.get(n) if n else None for n in node.input]
        if id(node) in self.member:
            self.types_only(node, ins)
            group = self.last_of.get(id(node))
            if group is not None:
                self.fused(group)
            return
        op = node.op_type
        if op == "Constant":
            self.bind(node, [Const(self.constant_attr(node))])
        elif op in SHAPE_ONLY:
            self.bind(node, [self.shape_op(node, ins)])
        elif op == "If":
            self.inline_if(node, ins)
        elif all(v is None or isinstance(v, (Const, Weight)) for v in ins):
            self.on_constants(node, ins)
        elif not any(o in self.live for o in node.output):
            self.types_only(node, ins)
        else:
            if any(isinstance(v, Shaped) for v in ins):
                raise OnnxImportError(f"node '{short(node.name)}' ({op}) reads a tensor convcost does not model")
            handler = HANDLERS.get(op)
            if handler is None:
                self.fail(node, f"{op} of an activation is not supported outside the patterns convcost recognises "
                                "(GELU, SiLU, hardswish, LRN, chunk, channel shuffle)")
            self.bind(node, handler(self, node, ins))

    def bind(self, node, values: list) -> None:
        for name, value in zip(node.output, values):
            if name:
                self.env[name] = value

    def fail(self, node, message: str):
        raise OnnxImportError(f"node '{short(node.name)}' ({node.op_type}): {message}")

    # ------------------------------------------------------------------ types and constants

    def elem_of(self, v: Value) -> int:
        if isinstance(v, Const):
            from onnx import helper

            return helper.np_dtype_to_tensor_dtype(v.value.dtype)
        return v.elem

    def type_proto(self, v: Value):
        from onnx import helper

        return helper.make_tensor_type_proto(self.elem_of(v), list(v.dims) if v.dims is not None else None)

    def infer(self, node, ins: list) -> list[tuple[tuple[int, ...] | None, int]]:
        """onnx's shape inference of one node: (dims or None, element type) of each output."""
        from onnx import numpy_helper, shape_inference

        key = (node.domain, node.op_type)
        schema = self.schemas.get(key)
        if schema is None:
            try:
                schema = self.onnx.defs.get_schema(node.op_type, self.opset, node.domain)
            except Exception:  # noqa: BLE001 - SchemaError: an op this opset does not have
                self.fail(node, f"opset {self.opset} has no op {node.op_type}")
            self.schemas[key] = schema
        types, data = {}, {}
        for name, v in zip(node.input, ins):
            if not name or v is None or v.dims is None:
                continue
            types[name] = self.type_proto(v)
            value = self.data_for_inference(v)
            if value is not None:
                data[name] = numpy_helper.from_array(value, name)
        try:
            out = shape_inference.infer_node_outputs(schema, node, types, data,
                                                     opset_imports=list(self.file.model.opset_import))
        except Exception as exc:  # noqa: BLE001 - InferenceError and friends from onnx's C++ side
            self.fail(node, f"ONNX shape inference rejects it: {short(str(exc).splitlines()[-1] if str(exc) else exc, 200)}")
        result = []
        for name in node.output:
            t = out.get(name)
            if t is None or not t.HasField("tensor_type"):
                result.append((None, 0))
                continue
            tt = t.tensor_type
            dims = None
            if tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim):
                dims = tuple(d.dim_value for d in tt.shape.dim)
            result.append((dims, tt.elem_type))
        return result

    def data_for_inference(self, v: Value):
        """Values that shape inference may need (a Reshape's shape, a Resize's scales); never weights."""
        if isinstance(v, Const):
            return v.value if v.value.size <= 4096 else None
        if isinstance(v, Weight) and v.stored is not None and v.stored.elements <= 64 and (
                v.elem in (6, 7) or v.stored.elements <= 8):
            return self.file.array(v.stored)
        return None

    def out_dims(self, node, ins: list, index: int = 0) -> tuple[int, ...]:
        dims, _ = self.infer(node, ins)[index]
        if dims is None:
            self.fail(node, "ONNX shape inference cannot tell the size of its output")
        return dims

    def types_only(self, node, ins: list) -> None:
        """Only the output types (for Shape readers): nodes inside a pattern, or that feed no output."""
        if node.op_type in ("Constant", *SHAPE_ONLY) or (
                all(v is None or isinstance(v, (Const, Weight)) for v in ins) and node.op_type != "If"):
            self.step_constant(node, ins)
            return
        if node.op_type == "If" or any(v is not None and v.dims is None for v in ins):
            self.bind(node, [Shaped(None, 0) for _ in node.output])
            return
        try:
            types = self.infer(node, ins)
        except OnnxImportError:
            types = [(None, 0)] * len(node.output)
        self.bind(node, [Shaped(d, e) for d, e in types])

    def step_constant(self, node, ins):
        if node.op_type == "Constant":
            self.bind(node, [Const(self.constant_attr(node))])
        elif node.op_type in SHAPE_ONLY:
            self.bind(node, [self.shape_op(node, ins)])
        else:
            self.on_constants(node, ins)

    def constant_attr(self, node):
        import numpy as np
        from onnx import numpy_helper

        if len(node.attribute) != 1:
            self.fail(node, "a Constant needs exactly one value attribute")
        a = node.attribute[0]
        if a.name == "value":
            stored = stored_tensor(a.t, None, "", f"value of node '{node.name}'")
            if stored.elements > MAX_VALUE_ELEMENTS:
                self.fail(node, f"a constant of {stored.elements:,} elements is more than convcost reads")
            return np.asarray(numpy_helper.to_array(a.t))
        simple = {"value_float": (np.float32, a.f), "value_int": (np.int64, a.i),
                  "value_floats": (np.float32, list(a.floats)), "value_ints": (np.int64, list(a.ints))}
        if a.name in simple:
            dtype, v = simple[a.name]
            return np.asarray(v, dtype=dtype)
        self.fail(node, f"a Constant with '{short(a.name)}' is not supported")

    def shape_op(self, node, ins) -> Const:
        import numpy as np

        v = ins[0] if ins else None
        if v is None or v.dims is None:
            self.fail(node, "reads a tensor of unknown shape")
        dims = v.dims
        if node.op_type == "Size":
            return Const(np.asarray(math.prod(dims), dtype=np.int64))
        attrs = _attrs(node)
        r = len(dims)
        start, end = attrs.get("start", 0), attrs.get("end", r)
        start, end = (max(0, min(r, x + r if x < 0 else x)) for x in (start, end))
        return Const(np.asarray(dims[start:end], dtype=np.int64))

    def small_value(self, name: str):
        """The value of a small constant before the walk (pattern matching): initializers and Constants."""
        stored = self.file.initializers.get(name)
        if stored is not None:
            return self.file.array(stored) if stored.elements <= 16 else None
        node = self.constant_nodes.get(name)
        if node is not None:
            value = self.constant_attr(node)
            return value if value.size <= 16 else None
        return None

    def static_dims(self, name: str):
        stored = self.file.initializers.get(name)
        if stored is not None:
            return stored.dims
        node = self.constant_nodes.get(name)
        return tuple(self.constant_attr(node).shape) if node is not None else None

    def value(self, node, v: Value):
        """The numpy value of a constant input (a small stored tensor is read now)."""
        if isinstance(v, Const):
            return v.value
        if isinstance(v, Weight):
            if v.stored is None:
                self.fail(node, f"needs the values of '{short(v.name)}', a rearranged stored tensor")
            return self.file.array(v.stored)
        self.fail(node, "needs a constant where it reads an activation")

    def ints(self, node, v: Value) -> list[int]:
        return [int(x) for x in self.value(node, v).reshape(-1)]

    def on_constants(self, node, ins) -> None:
        """A node whose inputs are all constants or stored tensors."""
        op = node.op_type
        first = ins[0] if ins else None
        if isinstance(first, Weight) and op in ("Identity", "Cast", "Reshape", "Unsqueeze", "Squeeze", "Transpose",
                                                "Flatten") and (first.stored is None or first.stored.elements > 4096):
            # A stored tensor rearranged: keep it unread (a Linear's transposed weight, a scale's (C,1,1)).
            dims = self.out_dims(node, ins)
            elem = self.infer(node, ins)[0][1] if op == "Cast" else first.elem
            self.bind(node, [Weight(first.name, dims, elem, first.stored if op == "Identity" else None)])
            return
        if op not in FOLDABLE or node.domain not in DEFAULT_DOMAINS:
            if not any(o in self.live for o in node.output):
                self.bind(node, [Shaped(d, e) for d, e in self.infer(node, ins)])
                return
            self.fail(node, "is not supported on constants")
        values = [None if v is None else self.value(node, v) for v in ins]
        sizes = [None if d is None else math.prod(d) for d, _ in self.infer(node, ins)]
        out = evaluate(node, values, self.opset, sizes)
        self.bind(node, [Const(v) for v in out])

    def inline_if(self, node, ins) -> None:
        """If with a condition known now (PyTorch writes one around a squeeze): run the branch taken."""
        cond = ins[0]
        if not isinstance(cond, (Const, Weight)):
            self.fail(node, "its condition depends on the input's values; convcost counts one fixed graph")
        taken = "then_branch" if bool(self.value(node, cond).reshape(-1)[0]) else "else_branch"
        branch = _attrs(node)[taken]
        for t in branch.initializer:
            s = stored_tensor(t, None, "", t.name)
            self.env[t.name] = Weight(t.name, s.dims, s.dtype, s)
        subnodes = topological(list(branch.node), set(self.env), {}, where=f"a branch of node '{node.name}'")
        check_unsupported(subnodes)
        if any(o in self.live for o in node.output):
            self.live |= self.live_tensors(subnodes, [o.name for o in branch.output])
        for sub in subnodes:
            self.step(sub)
        for out, res in zip(node.output, branch.output):
            if out:
                self.env[out] = self.env[res.name]

    # ------------------------------------------------------------------ activations and layers

    def act(self, node, v: Value, what: str = "its input") -> Act:
        if not isinstance(v, Act):
            self.fail(node, f"{what} must be an activation (computed from the model's input)")
        return v

    def canon(self, node, v: Value, allow_pad: bool = False) -> Act:
        """The activation as a whole layer output: flattened views become a flatten layer here."""
        a = self.act(node, v)
        if a.pad is not None and not allow_pad:
            self.fail(node, "reads a padded tensor; convcost folds a Pad only into the conv or pool right after it")
        h, w, c = a.shape
        if a.pad is not None or a.dims == a.canonical_dims():
            return a
        if h * w == 1 and a.order in (CHW, HWC) and a.dims[:1] == (1,) and math.prod(a.dims) == c:
            return a  # a vector: every arrangement of (1, 1, C) is the same
        if a.order in (CHW, HWC) and flat_like(a.dims, a.elements):
            key = (a.src, a.order)
            if key not in self.flattened:
                # PyTorch's flatten(1) or view(N, -1) outside a Linear: convcost's flatten layer.
                name = self.emit_layer("flatten", a.view or node.name, {}, [a], (1, 1, a.elements))
                self.flattened[key] = Act(name, (1, 1, a.elements), CHW, a.dims, a.elem)
            return replace(self.flattened[key], dims=a.dims)
        self.fail(node, f"reads a tensor of dims {list(a.dims)}, a rearrangement of layer '{a.src}' "
                        f"({h}x{w}x{c}) that convcost cannot express")

    def nchw(self, node, v: Value, allow_pad: bool = False) -> Act:
        a = self.canon(node, v, allow_pad)
        if len(a.dims) == 4 and (a.order == CHW or a.shape[:2] == (1, 1)):
            return a
        self.fail(node, f"needs an NCHW image but reads a tensor of dims {list(a.dims)} "
                        f"({'channels-last' if a.order == HWC else 'not an image'})")

    def channel_axis(self, node, a: Act) -> int:
        if len(a.dims) == 2 or (a.shape[:2] == (1, 1) and a.order != HWC):
            return 1
        return 1 if a.order == CHW else len(a.dims) - 1

    def emit_layer(self, type_: str, node_name: str, keys: dict, inputs: list[Act],
                   shape: tuple[int, int, int], weight: str = "") -> str:
        name = self.namer.name(node_name, type_, weight)
        self.layers.append(Layer(type_, name, keys, tuple(a.src for a in inputs), node_name, shape))
        return name

    def emit(self, type_: str, node, keys: dict, inputs: list[Act], dims: tuple[int, ...], order: str,
             weight: str = "") -> Act:
        shape = shape_of(dims, order)
        if shape is None:
            self.fail(node, f"its output of dims {list(dims)} is not an image (N, C, H, W) or a vector (N, C)")
        if len(dims) == 2:
            order = CHW
        name = self.emit_layer(type_, node.name, keys, inputs, shape, weight)
        return Act(name, shape, order, dims, inputs[0].elem)

    def elementwise(self, type_: str, node, x: Act, keys: dict | None = None) -> Act:
        return self.emit(type_, node, keys or {}, [x], x.dims, x.order)

    def weight(self, node, v: Value, what: str) -> Weight | Const:
        if not isinstance(v, (Weight, Const)):
            self.fail(node, f"{what} must be a stored tensor; convcost counts layers with fixed weights")
        return v

    def per_channel(self, node, v: Value, channels: int, what: str) -> None:
        """A bias or scale: C values, arranged to broadcast over one channel axis."""
        dims = tuple(d for d in v.dims if d != 1) or (1,)
        if math.prod(v.dims) != channels or dims != (channels,):
            self.fail(node, f"{what} has dims {list(v.dims)}; convcost needs {channels} values, one per channel")

    def fused(self, g: Fused) -> None:
        node = g.anchor
        ins = [self.env.get(n) if n else None for n in g.inputs]
        if g.kind in ("silu", "hardswish", "gelu", "lrn"):
            x = self.nchw(node, ins[0]) if g.kind == "lrn" else self.canon(node, ins[0])
            out = self.emit(g.kind, node, {}, [x], x.dims, x.order)
        elif g.kind == "layernorm":
            out = layernorm(self, node, ins)[0]
        elif g.kind == "conv_bias":
            out = HANDLERS[node.op_type](self, node, ins)[0]
        elif g.kind == "linear":
            out = matmul(self, node, ins[:2], bias=ins[2])[0]
        else:  # scale_bias
            out = mul(self, node, ins[:2], bias=ins[2])[0]
        self.env[g.output] = out


# ---------------------------------------------------------------------- handlers: one per op


def _spatial(m: Mapper, node, x: Act, kernel, strides, dilations, attrs) -> tuple[tuple[int, int, int, int],
                                                                                   tuple[int, int]]:
    """Total padding (top, bottom, left, right), a folded Pad included, and the unpadded (H, W)."""
    pt, pb, pl, pr = x.pad or (0, 0, 0, 0)
    padded = x.dims[2], x.dims[3]
    auto = attrs.get("auto_pad", "NOTSET") or "NOTSET"
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size, k, s, d in zip(padded, kernel, strides, dilations):
            before, after = tf_same(size, k, s, d)
            pads.append((before, after) if auto == "SAME_UPPER" else (after, before))
        (t, b), (l, r) = pads
    elif auto == "VALID":
        t = b = l = r = 0
    elif auto == "NOTSET":
        p = [int(v) for v in attrs.get("pads", [0, 0, 0, 0])]
        if len(p) != 4:
            m.fail(node, f"pads {p} are not those of a 2-D op")
        t, l, b, r = p
    else:
        m.fail(node, f"auto_pad '{short(auto)}' is not an ONNX value")
    if min(t, b, l, r) < 0:
        m.fail(node, f"negative pads {[t, l, b, r]} (cropping) are not supported")
    return (pt + t, pb + b, pl + l, pr + r), (padded[0] - pt - pb, padded[1] - pl - pr)


def conv(m: Mapper, node, ins):
    x = m.nchw(node, ins[0], allow_pad=True)
    w = m.weight(node, ins[1], "the weight")
    if len(w.dims) != 4:
        m.fail(node, f"a weight of dims {list(w.dims)}: only 2-D convolutions are supported")
    attrs = _attrs(node)
    filters, per_group, kh, kw = w.dims
    groups = int(attrs.get("group", 1))
    channels = x.shape[2]
    if groups < 1 or per_group * groups != channels or filters % groups:
        m.fail(node, f"weight {list(w.dims)} with group {groups} does not fit {channels} input channels")
    if "kernel_shape" in attrs and tuple(attrs["kernel_shape"]) != (kh, kw):
        m.fail(node, f"kernel_shape {attrs['kernel_shape']} differs from its weight's {[kh, kw]}")
    strides = tuple(attrs.get("strides", (1, 1)))
    dilations = tuple(attrs.get("dilations", (1, 1)))
    pads, hw = _spatial(m, node, x, (kh, kw), strides, dilations, attrs)
    bias = ins[2] if len(ins) > 2 else None
    if bias is not None:
        m.per_channel(node, m.weight(node, bias, "the bias"), filters, "the bias")
    dims = m.out_dims(node, ins[:2] + ([bias] if bias is not None else []))
    keys: dict[str, Any] = {}
    if groups > 1 and groups == channels:
        type_ = "dwconv"
        keys["kernel"] = _pair((kh, kw))
        if filters != channels:
            keys["multiplier"] = filters // channels
    else:
        type_ = "conv"
        keys.update(filters=filters, kernel=_pair((kh, kw)))
    if strides != (1, 1):
        keys["stride"] = _pair(strides)
    keys["padding"] = padding_key(pads, hw, (kh, kw), strides, dilations)
    if dilations != (1, 1):
        keys["dilation"] = _pair(dilations)
    if type_ == "conv" and groups > 1:
        keys["groups"] = groups
    if bias is None:
        keys["bias"] = False
    x = replace(x, pad=None)
    return [m.emit(type_, node, keys, [x], dims, CHW, getattr(w, "name", ""))]


def conv_transpose(m: Mapper, node, ins):
    x = m.nchw(node, ins[0])
    w = m.weight(node, ins[1], "the weight")
    if len(w.dims) != 4:
        m.fail(node, f"a weight of dims {list(w.dims)}: only 2-D transposed convolutions are supported")
    attrs = _attrs(node)
    channels, per_group, kh, kw = w.dims
    groups = int(attrs.get("group", 1))
    if groups < 1 or channels != x.shape[2] or channels % groups:
        m.fail(node, f"weight {list(w.dims)} with group {groups} does not fit {x.shape[2]} input channels")
    filters = per_group * groups
    bias = ins[2] if len(ins) > 2 else None
    if bias is not None:
        m.per_channel(node, m.weight(node, bias, "the bias"), filters, "the bias")
    dims = m.out_dims(node, ins[:2] + ([bias] if bias is not None else []))
    strides = tuple(attrs.get("strides", (1, 1)))
    dilations = tuple(attrs.get("dilations", (1, 1)))
    # Whatever pads, output_padding, output_shape or auto_pad say, the output size decides the count:
    # out = (in - 1)*s - 2p + d*(k - 1) + output_padding + 1, with output_padding < max(s, d).
    padding, extra = [], []
    for size, out, k, s, d in zip(x.dims[2:], dims[2:], (kh, kw), strides, dilations):
        excess = (size - 1) * s + d * (k - 1) + 1 - out  # = 2p - output_padding
        p = max(0, -(-excess // 2))
        op = 2 * p - excess
        if op >= max(s, d):
            m.fail(node, f"its output size {out} needs output_padding {op}, not below the stride or dilation")
        padding.append(p)
        extra.append(op)
    keys: dict[str, Any] = {"filters": filters, "kernel": _pair((kh, kw))}
    if strides != (1, 1):
        keys["stride"] = _pair(strides)
    keys["padding"] = _pair(padding)
    if any(extra):
        keys["output_padding"] = _pair(extra)
    if dilations != (1, 1):
        keys["dilation"] = _pair(dilations)
    if groups > 1:
        keys["groups"] = groups
    if bias is None:
        keys["bias"] = False
    return [m.emit("deconv", node, keys, [x], dims, CHW, getattr(w, "name", ""))]


def pool(m: Mapper, node, ins):
    x = m.nchw(node, ins[0], allow_pad=True)
    attrs = _attrs(node)
    kernel = tuple(attrs.get("kernel_shape", ()))
    if len(kernel) != 2:
        m.fail(node, f"kernel_shape {list(kernel)}: only 2-D pools are supported")
    strides = tuple(attrs.get("strides", (1, 1)))
    if tuple(attrs.get("dilations", (1, 1))) != (1, 1):
        m.fail(node, "dilated pools are not supported")
    if len(node.output) > 1 and node.output[1] and node.output[1] in m.live:
        m.fail(node, "its indices output is used; convcost counts pools without indices")
    pads, hw = _spatial(m, node, x, kernel, strides, (1, 1), attrs)
    dims = m.out_dims(node, ins)
    type_ = "maxpool" if node.op_type == "MaxPool" else "avgpool"
    keys: dict[str, Any] = {"kernel": _pair(kernel)}
    if strides != kernel:
        keys["stride"] = _pair(strides)
    padding = padding_key(pads, hw, kernel, strides, (1, 1))
    if padding != 0:
        keys["padding"] = padding
    if attrs.get("ceil_mode", 0):
        keys["ceil_mode"] = True
    out = m.emit(type_, node, keys, [replace(x, pad=None)], dims, CHW)
    return [replace(out, pool=(kernel, strides, pads, hw) if type_ == "avgpool" else None)]


def global_pool(m: Mapper, node, ins):
    x = m.nchw(node, ins[0])
    type_ = "gap" if node.op_type == "GlobalAveragePool" else "gmp"
    return [m.emit(type_, node, {}, [x], m.out_dims(node, ins), CHW)]


def reduce(m: Mapper, node, ins):
    """ReduceMean / ReduceMax over height and width: a global pool (PyTorch's x.mean((2, 3)))."""
    x = m.canon(node, ins[0])
    attrs = _attrs(node)
    axes = attrs.get("axes")
    if axes is None and len(ins) > 1 and ins[1] is not None:
        axes = m.ints(node, ins[1])
    rank = len(x.dims)
    spatial = {2, 3} if x.order == CHW else {1, 2}
    if rank != 4 or axes is None or {a % rank for a in axes} != spatial:
        m.fail(node, f"reduces axes {axes} of dims {list(x.dims)}; convcost maps only a reduction over "
                     "height and width (a global pool)")
    type_ = "gap" if node.op_type == "ReduceMean" else "gmp"
    dims = m.out_dims(node, ins)
    return [m.emit(type_, node, {}, [x], dims, x.order if len(dims) == 4 else CHW)]


def batchnorm(m: Mapper, node, ins):
    x = m.canon(node, ins[0])
    if x.order != CHW and x.shape[:2] != (1, 1):
        m.fail(node, "normalises axis 1 of a channels-last tensor, which is not its channels")
    for v, what in zip(ins[1:5], ("scale", "bias", "mean", "variance")):
        m.per_channel(node, m.weight(node, v, f"the {what}"), x.shape[2], f"the {what}")
    if any(o and o in m.live for o in node.output[1:]):
        m.fail(node, "its running statistics outputs are used; convcost counts inference")
    return [m.elementwise("bn", node, x)]


def layernorm(m: Mapper, node, ins):
    x = m.canon(node, ins[0])
    attrs = _attrs(node)
    rank = len(x.dims)
    axis = attrs.get("axis", -1) % rank
    channels_last = x.order == HWC or x.shape[:2] == (1, 1)
    if axis != rank - 1 or not channels_last:
        m.fail(node, f"normalises axes {axis}.. of dims {list(x.dims)}; convcost's layernorm normalises each "
                     "pixel over its channels (channels-last, as between Transposes)")
    c = x.shape[2]
    m.per_channel(node, m.weight(node, ins[1], "the scale"), c, "the scale")
    if len(ins) < 3 or ins[2] is None:
        m.fail(node, f"has no bias ({c} parameters); convcost's layernorm has a scale and a bias (2 x {c})")
    m.per_channel(node, m.weight(node, ins[2], "the bias"), c, "the bias")
    if any(o and o in m.live for o in node.output[1:]):
        m.fail(node, "its mean or inverse deviation outputs are used")
    return [m.elementwise("layernorm", node, x)]


def activation(m: Mapper, node, ins):
    x = m.canon(node, ins[0])
    type_ = ACTIVATIONS[node.op_type]
    if type_ == "softmax":
        attrs = _attrs(node)
        axis = attrs.get("axis", 1 if m.opset < 13 else -1) % len(x.dims)
        if axis != m.channel_axis(node, x):
            m.fail(node, f"runs over axis {axis} of dims {list(x.dims)}; convcost's softmax runs over the channels")
    if type_ == "lrn":
        x = m.nchw(node, x)
    return [m.elementwise(type_, node, x)]


def clip(m: Mapper, node, ins):
    x = m.canon(node, ins[0])
    attrs = _attrs(node)
    low, high = attrs.get("min"), attrs.get("max")
    if len(ins) > 1 and ins[1] is not None:
        low = float(m.value(node, ins[1]).reshape(()))
    if len(ins) > 2 and ins[2] is not None:
        high = float(m.value(node, ins[2]).reshape(()))
    if low == 0 and high == 6:
        return [m.elementwise("relu6", node, x)]
    if low == 0 and (high is None or math.isinf(high)):
        return [m.elementwise("relu", node, x)]
    m.fail(node, f"Clip({low}, {high}) is neither relu6 (0, 6) nor relu (0, none)")


def dropout(m: Mapper, node, ins):
    if len(node.output) > 1 and node.output[1] and node.output[1] in m.live:
        m.fail(node, "its mask output is used")
    return [m.elementwise("dropout", node, m.canon(node, ins[0]))]


def _same_layout(m: Mapper, node, acts: list[Act]) -> None:
    first = acts[0]
    for a in acts[1:]:
        if a.order != first.order and first.shape[:2] != (1, 1):
            m.fail(node, "mixes NCHW and channels-last tensors")


def add(m: Mapper, node, ins):
    if any(not isinstance(v, Act) for v in ins):
        m.fail(node, "adds a constant to an activation; convcost maps such an Add only as the bias of the "
                     "Conv, MatMul or per-channel Mul right before it")
    acts = [m.canon(node, v) for v in ins]
    _same_layout(m, node, acts)
    if any(a.dims != acts[0].dims for a in acts):
        m.fail(node, f"adds tensors of dims {[list(a.dims) for a in acts]}; convcost's add needs one shape")
    return [m.emit("add", node, {}, acts, acts[0].dims, acts[0].order)]


def mul(m: Mapper, node, ins, bias=None):
    acts = [v for v in ins if isinstance(v, Act)]
    if len(acts) == len(ins):
        xs = [m.canon(node, v) for v in ins]
        _same_layout(m, node, xs)
        full = max(xs, key=lambda a: a.elements)
        for a in xs:
            if a.dims != full.dims and not (a.shape[:2] == (1, 1) and a.shape[2] == full.shape[2]):
                m.fail(node, f"multiplies dims {[list(a.dims) for a in xs]}; convcost's mul needs one shape, "
                             "or (N, C, 1, 1) against the full image (squeeze-and-excitation)")
        return [m.emit("mul", node, {}, xs, full.dims, full.order)]
    if len(acts) != 1 or len(ins) != 2:
        m.fail(node, "multiplies constants with an activation in a way convcost cannot express")
    x = m.canon(node, acts[0])
    w = m.weight(node, ins[1] if ins[0] is acts[0] else ins[0], "the multiplier")
    if math.prod(w.dims) == 1 and x.shape[2] != 1:
        m.fail(node, "multiplies an activation by a single number, which no convcost layer does; "
                     "GELU, SiLU and hardswish are recognised as wholes")
    m.per_channel(node, w, x.shape[2], "the multiplier")
    keys = {}
    if bias is not None:
        m.per_channel(node, m.weight(node, bias, "the bias"), x.shape[2], "the bias")
        keys["bias"] = True
    return [m.emit("scale", node, keys, [x], x.dims, x.order, getattr(w, "name", ""))]


def window_counts(pool: tuple):
    """The share of real (not padding) inputs in each window of an average pool: count / (kh * kw)."""
    import numpy as np

    kernel, strides, (t, b, l, r), (h, w) = pool
    shares = []
    for size, k, s, before, after in ((h, kernel[0], strides[0], t, b), (w, kernel[1], strides[1], l, r)):
        starts = np.arange(0, size + before + after - k + 1, s) - before
        shares.append((np.minimum(starts + k, size) - np.maximum(starts, 0)) / k)
    return np.outer(*shares)


def div(m: Mapper, node, ins):
    x, d = ins
    if isinstance(x, Act) and x.pool is not None and isinstance(d, (Const, Weight)):
        import numpy as np

        h, w, _ = x.shape
        if len(d.dims) >= 2 and d.dims[-2:] == (h, w) and math.prod(d.dims) == h * w:
            expected = window_counts(x.pool)
            if expected.shape == (h, w) and np.allclose(m.value(node, d).reshape(h, w), expected, rtol=1e-5):
                # An average pool divided by the share of real inputs in each window (TensorFlow's 'same'
                # average pool, as convcost's own export writes it): still the same average pool.
                return [x.plain()]
    m.fail(node, "divides an activation, which convcost maps only inside GELU and LRN, or after an "
                 "average pool (by the share of real inputs in each window)")


def concat(m: Mapper, node, ins):
    if any(not isinstance(v, Act) for v in ins):
        m.fail(node, "joins constants with activations")
    acts = [m.canon(node, v) for v in ins]
    _same_layout(m, node, acts)
    axis = _attrs(node).get("axis", 1) % len(acts[0].dims)
    if axis != m.channel_axis(node, acts[0]):
        m.fail(node, f"joins along axis {axis} of dims {list(acts[0].dims)}; convcost's concat joins channels")
    dims = m.out_dims(node, ins)
    return [m.emit("concat", node, {}, acts, dims, acts[0].order)]


def _slice_layer(m: Mapper, node, x: Act, start: int, stop: int, dims) -> Act:
    if (start, stop) == (0, x.shape[2]):
        return x
    return m.emit("slice", node, {"channels": [start, stop]}, [x], dims, x.order)


def split(m: Mapper, node, ins):
    x = m.canon(node, ins[0])
    axis = _attrs(node).get("axis", 0) % len(x.dims)
    if axis != m.channel_axis(node, x):
        m.fail(node, f"splits axis {axis} of dims {list(x.dims)}; convcost slices channels only")
    outs, start = [], 0
    for dims, _ in m.infer(node, ins):
        if dims is None:
            m.fail(node, "ONNX shape inference cannot tell the sizes of its outputs")
        stop = start + dims[axis]
        outs.append(_slice_layer(m, node, x, start, stop, dims))
        start = stop
    return outs


def slice_(m: Mapper, node, ins):
    x = m.canon(node, ins[0])
    attrs = _attrs(node)
    rank = len(x.dims)
    if m.opset < 10:
        starts = list(attrs["starts"])
        axes = list(attrs.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts = m.ints(node, ins[1])  # the ends are in the inferred output size
        axes = m.ints(node, ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = m.ints(node, ins[4]) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    dims = m.out_dims(node, ins)
    channel = m.channel_axis(node, x)
    result = (0, x.shape[2])
    for axis, start, step in zip(axes, starts, steps):
        axis %= rank
        size = x.dims[axis]
        begin = max(0, min(size, start + size if start < 0 else start))
        if dims[axis] == size and step == 1:
            continue  # the whole axis
        if axis != channel or step != 1:
            m.fail(node, f"slices axis {axis} of dims {list(x.dims)} (step {step}); convcost slices channels only")
        result = (begin, begin + dims[axis])
    return [_slice_layer(m, node, x, *result, dims)]


def resize(m: Mapper, node, ins):
    x = m.nchw(node, ins[0])
    mode = _attrs(node).get("mode", "nearest")
    if mode not in ("nearest", "linear", "bilinear"):
        m.fail(node, f"mode '{short(mode)}'; convcost's upsample is nearest or bilinear")
    dims = m.out_dims(node, ins)
    h, w, c = x.shape
    if dims[:2] != (1, c):
        m.fail(node, f"resizes dims {list(x.dims)} to {list(dims)}; convcost resizes height and width only")
    ho, wo = dims[2], dims[3]
    keys: dict[str, Any] = {}
    if ho % h == 0 and wo % w == 0:
        keys["scale"] = _pair((ho // h, wo // w))
    else:
        keys["size"] = [ho, wo]
    if mode != "nearest":
        keys["mode"] = "bilinear"
    return [m.emit("upsample", node, keys, [x], dims, CHW)]


def gemm(m: Mapper, node, ins):
    a = m.act(node, ins[0])
    attrs = _attrs(node)
    if attrs.get("transA", 0):
        m.fail(node, "transA is set; convcost maps Gemm(x, W) with x the activation")
    w = m.weight(node, ins[1], "B")
    if len(a.dims) != 2 or len(w.dims) != 2:
        m.fail(node, f"multiplies dims {list(a.dims)} by {list(w.dims)}; convcost maps a vector times a matrix")
    units, features = w.dims if attrs.get("transB", 0) else w.dims[::-1]
    return [_fc(m, node, a, features, units, ins[2] if len(ins) > 2 else None, getattr(w, "name", ""), ins)]


def _fc(m: Mapper, node, a: Act, features: int, units: int, bias, weight: str, ins) -> Act:
    if a.pad is not None:
        m.fail(node, "reads a padded tensor")
    if features != a.elements:
        m.fail(node, f"a weight for {features} inputs, but its input has {a.elements}")
    if bias is not None:
        m.per_channel(node, m.weight(node, bias, "the bias"), units, "the bias")
    keys: dict[str, Any] = {"units": units}
    if bias is None:
        keys["bias"] = False
    dims = m.out_dims(node, ins[:2]) if node.op_type == "MatMul" else m.out_dims(node, ins)
    # fc flattens its input itself: it reads the layer whose output this is, flattened view or not.
    return m.emit("fc", node, keys, [a], dims, CHW, weight)


def matmul(m: Mapper, node, ins, bias=None):
    a = m.act(node, ins[0])
    w = m.weight(node, ins[1], "the matrix")
    if len(w.dims) != 2:
        m.fail(node, f"multiplies by dims {list(w.dims)}; convcost maps a product with a stored matrix")
    features, units = w.dims
    if len(a.dims) == 2:
        return [_fc(m, node, a, features, units, bias, getattr(w, "name", ""), ins)]
    x = m.canon(node, a)
    channels_last = x.order == HWC or x.shape[:2] == (1, 1)
    if len(x.dims) != 4 or not channels_last or x.dims[-1] != features:
        m.fail(node, f"multiplies dims {list(x.dims)} by {list(w.dims)}; convcost maps a Linear on a vector "
                     "or on each pixel of a channels-last image")
    if bias is not None:
        m.per_channel(node, m.weight(node, bias, "the bias"), units, "the bias")
    keys: dict[str, Any] = {"filters": units, "kernel": 1, "padding": 0}
    if bias is None:
        keys["bias"] = False
    dims = m.out_dims(node, ins[:2])
    # A Linear applied to every pixel is a 1x1 convolution: the same parameters and MACs.
    return [m.emit("conv", node, keys, [x], dims, HWC, getattr(w, "name", ""))]


# ---------------------------------------------------------------------- views


def identity(m: Mapper, node, ins):
    return [ins[0]]


def cast(m: Mapper, node, ins):
    a = m.act(node, ins[0])
    return [replace(a, elem=m.infer(node, ins)[0][1] or a.elem)]


def _reinterpret(m: Mapper, node, a: Act, dims: tuple[int, ...]) -> Act:
    """The same elements under new dims (Reshape, Flatten, Squeeze, Unsqueeze)."""
    if a.pad is not None:
        m.fail(node, "reshapes a padded tensor")
    h, w, c = a.shape
    if dims == a.dims:
        return a
    if a.order in (CHW, HWC):
        if dims == a.canonical_dims():
            return replace(a.plain(), dims=dims)
        if a.order == CHW and len(dims) == 5 and dims[0] == 1 and dims[1] * dims[2] == c and dims[3:] == (h, w):
            return replace(a.plain(), order=f"g{dims[1]}", dims=dims)  # the first step of a channel shuffle
        if h * w == 1 and dims[:1] == (1,) and math.prod(dims) == c:
            return replace(a.plain(), order=CHW, dims=dims)
        if flat_like(dims, a.elements):
            view = replace(a, dims=dims, pool=None, view=a.view or node.name)
            # Back to an image of 1x1 pixels, as convcost's own flatten writes it: the flatten layer.
            return m.canon(node, view) if len(dims) == 4 else view
    if a.order.startswith("g") and dims == (1, c, h, w):
        return replace(a, order=CHW, dims=dims)
    if a.order.startswith("t") and dims == (1, c, h, w):
        groups = int(a.order[1:])
        source = replace(a, order=CHW, dims=(1, c, h, w))
        return m.emit("shuffle", node, {"groups": groups}, [source], dims, CHW)
    m.fail(node, f"reshapes dims {list(a.dims)} to {list(dims)}, which convcost cannot express "
                 f"(a view of layer '{a.src}', {h}x{w}x{c})")


def reshape(m: Mapper, node, ins):
    a = m.act(node, ins[0])
    return [_reinterpret(m, node, a, m.out_dims(node, ins))]


def transpose(m: Mapper, node, ins):
    a = m.act(node, ins[0])
    if a.pad is not None:
        m.fail(node, "transposes a padded tensor")
    perm = tuple(_attrs(node).get("perm", tuple(reversed(range(len(a.dims))))))
    dims = m.out_dims(node, ins)
    if perm == tuple(range(len(perm))):
        return [a]
    plain = a.plain()
    if a.dims == a.canonical_dims() or a.shape[:2] == (1, 1) and len(a.dims) == 4:
        if perm == (0, 2, 3, 1) and (a.order == CHW or a.shape[:2] == (1, 1)):
            return [replace(plain, order=HWC, dims=dims)]
        if perm == (0, 3, 1, 2) and (a.order == HWC or a.shape[:2] == (1, 1)):
            return [replace(plain, order=CHW, dims=dims)]
    if perm == (0, 2, 1, 3, 4) and a.order[:1] in ("g", "t") and len(a.dims) == 5:
        groups = int(a.order[1:])
        return [replace(plain, order=("t" if a.order[0] == "g" else "g") + str(groups), dims=dims)]
    m.fail(node, f"permutes dims {list(a.dims)} by {list(perm)}; convcost follows NCHW <-> channels-last "
                 "and channel shuffles only")


def pad(m: Mapper, node, ins):
    a = m.act(node, ins[0])
    attrs = _attrs(node)
    if m.opset < 11:
        pads = [int(p) for p in attrs.get("pads", ())]
    else:
        pads = m.ints(node, ins[1])
    rank = len(a.dims)
    if len(ins) > 3 and ins[3] is not None:  # axes (opset 18)
        axes = [x % rank for x in m.ints(node, ins[3])]
        full = [0] * (2 * rank)
        for i, axis in enumerate(axes):
            full[axis], full[rank + axis] = pads[i], pads[len(axes) + i]
        pads = full
    if len(pads) != 2 * rank:
        m.fail(node, f"pads {pads} do not fit dims {list(a.dims)}")
    if not any(pads):
        return [a]
    a = m.canon(node, a, allow_pad=True)
    if a.order != CHW or rank != 4 or any(pads[i] or pads[rank + i] for i in (0, 1)):
        m.fail(node, f"pads {pads} of dims {list(a.dims)}; convcost folds only padding of height and width")
    if min(pads) < 0:
        m.fail(node, f"negative pads {pads} (cropping) are not supported")
    t, l, b, r = pads[2], pads[3], pads[6], pads[7]
    pt, pb, pl, pr = a.pad or (0, 0, 0, 0)
    return [replace(a.plain(), pad=(pt + t, pb + b, pl + l, pr + r), dims=m.out_dims(node, ins))]


def flatten(m: Mapper, node, ins):
    a = m.act(node, ins[0])
    return [_reinterpret(m, node, a, m.out_dims(node, ins))]


HANDLERS = {
    "Conv": conv, "ConvTranspose": conv_transpose, "Gemm": gemm, "MatMul": matmul,
    "MaxPool": pool, "AveragePool": pool, "GlobalAveragePool": global_pool, "GlobalMaxPool": global_pool,
    "ReduceMean": reduce, "ReduceMax": reduce, "BatchNormalization": batchnorm,
    "LayerNormalization": layernorm, "Clip": clip, "Dropout": dropout,
    **{op: activation for op in ACTIVATIONS},
    "Add": add, "Sum": add, "Mul": mul, "Div": div, "Concat": concat, "Split": split, "Slice": slice_,
    "Resize": resize, "Upsample": resize,
    "Identity": identity, "Cast": cast, "Flatten": flatten, "Reshape": reshape, "Squeeze": reshape,
    "Unsqueeze": reshape, "Transpose": transpose, "Pad": pad,
}
SUPPORTED = frozenset(HANDLERS) | FOLDABLE | {"Constant", "Shape", "Size", "If"}


def check_unsupported(nodes) -> None:
    """Every op convcost cannot map, each with its node names and count, in one error (never a zero)."""
    from onnx import AttributeProto

    found: dict[str, list[str]] = {}

    def visit(ns):
        for node in ns:
            op = node.op_type if node.domain in DEFAULT_DOMAINS else f"{node.domain}.{node.op_type}"
            if node.domain not in DEFAULT_DOMAINS or node.op_type not in SUPPORTED:
                found.setdefault(op, []).append(node.name or "(unnamed)")
            for a in node.attribute:
                if a.type == AttributeProto.GRAPH:
                    visit(a.g.node)
                elif a.type == AttributeProto.GRAPHS:
                    for g in a.graphs:
                        visit(g.node)

    visit(nodes)
    if found:
        raise OnnxImportError(*(f"unsupported ONNX op {short(op)} ({len(names):,} node{'s' * (len(names) != 1)}: "
                                f"{listing(names)}); convcost cannot count it"
                                for op, names in sorted(found.items())))


def map_graph(f: OnnxFile) -> list[Layer]:
    """The convcost layers of an ONNX graph, in order; OnnxImportError naming the node that does not fit."""
    mapper = Mapper(f)
    try:
        return mapper.run()
    except OnnxImportError:
        raise
    except Exception as exc:  # noqa: BLE001 - malformed attributes of a hostile file, said plainly
        if os.environ.get("CONVCOST_DEBUG"):
            raise
        node = getattr(mapper, "current", None)
        where = f"node '{short(node.name)}' ({node.op_type})" if node is not None else "the graph"
        raise OnnxImportError(f"{where} cannot be read: {type(exc).__name__}: {short(exc, 160)}") from None

"""Opening an ONNX file: bounded reading, every stored tensor checked, the graph in topological order.

Weights are never read: the file is mapped into memory, wire.scan_model finds where each large
tensor's bytes lie, and only the rest is parsed. A stored tensor's values are read on request
(shape constants, pads, scales), one tensor at a time and only when it is small.
"""

from __future__ import annotations

import heapq
import math
import mmap
import os
from dataclasses import dataclass, field
from typing import Any

from ..records import record
from .wire import Skeleton, Span, WireError, scan_model

# Protobuf cannot represent a message of 2 GiB or more, so no valid ONNX file without external
# data is larger; the limit admits every real export (ResNet-50 is about 100 MB).
MAX_ONNX_BYTES = 2**31 - 1
# Sizes of a graph input: ONNX Runtime's own dims are int32; anything larger is an accident or an attack.
MAX_DIM = 2**31 - 1
MAX_ELEMENTS = 10**18  # as convcost's own limit on any tensor
# Values convcost computes from constants (shape arithmetic, an average pool's divisor map).
MAX_VALUE_ELEMENTS = 1 << 22
# Nodes of the graph, subgraphs included; a real CNN has some thousands.
MAX_NODES = 1_000_000

# Bits per element of each TensorProto.DataType (onnx/onnx.proto); STRING (8) has no fixed size.
DTYPE_BITS = {1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64,
              14: 64, 15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8, 25: 2, 26: 2,
              27: 6, 28: 6}
STRING = 8
FLOAT_TYPES = {1, 10, 11, 16}  # what a network's input image can be
# The repeated field that holds a tensor's values when raw_data is not used, per data type, and how
# many entries one element takes (complex numbers take two; sub-byte types are packed into int32s).
_TYPED_FIELD = {1: "float_data", 14: "float_data", 7: "int64_data", 11: "double_data", 15: "double_data",
                12: "uint64_data", 13: "uint64_data", STRING: "string_data"}
EXTERNAL = 1


class OnnxImportError(Exception):
    """The file cannot be turned into a spec; one message per problem (exit 1)."""

    def __init__(self, *problems: str):
        self.problems = tuple(problems)
        super().__init__("\n".join(problems))


def short(text: Any, limit: int = 80) -> str:
    """Text from the file as quoted in a message: one printable line, cut to `limit` characters."""
    text = str(text)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def listing(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(f"'{short(n, 60)}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


@record
class Stored:
    """A tensor stored in the file (an initializer, or a Constant node's value): its dims and type."""

    name: str
    dims: tuple[int, ...]
    dtype: int
    proto: Any  # TensorProto, without the bytes of a large raw_data
    span: Span | None = None  # where the raw bytes lie in the file, when they were left out of proto
    external: tuple[str, int] | None = None  # (file, offset) of external data

    @property
    def elements(self) -> int:
        return math.prod(self.dims)


def raw_length(dtype: int, elements: int) -> int:
    return -(-elements * DTYPE_BITS[dtype] // 8)


def _external(t, name: str, expected: int, base: str) -> tuple[str, int]:
    entries = {e.key: e.value for e in t.external_data}
    location = entries.get("location", "")
    if not location:
        raise OnnxImportError(f"tensor '{short(name)}' is stored outside the file but names no location")
    # As onnx itself requires: a relative path that stays inside the model's directory.
    parts = location.replace("\\", "/").split("/")
    if os.path.isabs(location) or ".." in parts:
        raise OnnxImportError(f"tensor '{short(name)}' names external data '{short(location)}' outside the "
                              "model's directory; move the data file next to the model")
    path = os.path.join(base, location)
    try:
        offset = int(entries.get("offset", "0"))
        length = int(entries["length"]) if "length" in entries else None
    except ValueError:
        raise OnnxImportError(f"tensor '{short(name)}': external data offset or length is not a number") from None
    if offset < 0 or (length is not None and length != expected):
        raise OnnxImportError(f"tensor '{short(name)}' declares {expected:,} bytes of external data but its "
                              f"entry says offset {offset:,}, length {length}")
    try:
        size = os.stat(path).st_size if os.path.isfile(path) else None
    except OSError:
        size = None
    if size is None:
        raise OnnxImportError(f"external data file '{short(location)}' of tensor '{short(name)}' is missing; "
                              "copy it next to the model (ONNX files over 2 GB keep weights in such files)")
    if size < offset + expected:
        raise OnnxImportError(f"external data file '{short(location)}' holds {size:,} bytes, too few for tensor "
                              f"'{short(name)}' ({expected:,} bytes at offset {offset:,}); the file is cut short")
    return path, offset


def stored_tensor(t, span: Span | None, base: str, what: str) -> Stored:
    """Check one TensorProto: sane dims, a known type, exactly as many bytes as its dims need."""
    name = t.name or what
    dims = tuple(t.dims)
    if any(d < 0 for d in dims):
        raise OnnxImportError(f"tensor '{short(name)}' has a negative dimension {list(dims)}")
    if len(dims) > 16 or math.prod(dims) >= MAX_ELEMENTS:
        raise OnnxImportError(f"tensor '{short(name)}' has absurd dims {short(list(dims))}")
    if t.data_type not in DTYPE_BITS and t.data_type != STRING:
        raise OnnxImportError(f"tensor '{short(name)}' has unknown data type {t.data_type}")
    if t.HasField("segment"):
        raise OnnxImportError(f"tensor '{short(name)}' is stored in segments, which convcost does not read")
    elements = math.prod(dims)
    if t.data_location == EXTERNAL:
        if t.data_type == STRING:
            raise OnnxImportError(f"string tensor '{short(name)}' is stored outside the file")
        return Stored(name, dims, t.data_type, t, external=_external(t, name, raw_length(t.data_type, elements), base))
    if span is not None or t.HasField("raw_data"):
        have = span.length if span is not None else len(t.raw_data)
        if t.data_type == STRING or have != raw_length(t.data_type, elements):
            raise OnnxImportError(f"tensor '{short(name)}' has dims {list(dims)} but holds {have:,} bytes; "
                                  "the file is damaged")
        return Stored(name, dims, t.data_type, t, span=span)
    typed = _TYPED_FIELD.get(t.data_type, "int32_data")
    per = 2 if t.data_type in (14, 15) else 1
    bits = DTYPE_BITS.get(t.data_type, 32)
    expected = elements * per if bits >= 8 or typed != "int32_data" else -(-elements * bits // 32)
    have = len(getattr(t, typed))
    if have != expected:
        if have == 0 and elements:
            raise OnnxImportError(f"tensor '{short(name)}' has dims {list(dims)} but holds no data; "
                                  "export the model with its weights")
        raise OnnxImportError(f"tensor '{short(name)}' has dims {list(dims)} but holds {have:,} values")
    return Stored(name, dims, t.data_type, t)


@dataclass
class OnnxFile:
    """A parsed ONNX file: the model (without large weights), its stored tensors, its graph in order."""

    path: str
    model: Any  # ModelProto
    opset: int
    initializers: dict[str, Stored]
    nodes: list  # NodeProto, topological order
    input_name: str
    input_dims: tuple[int, int, int, int]  # N (read as 1), C, H, W
    input_dtype: int
    outer_inputs: dict[int, tuple[str, ...]] = field(default_factory=dict)  # id(node) -> names read by subgraphs
    _buffer: Any = None

    def array(self, stored: Stored):
        """The values of a stored tensor, read now; refused when it is large (they are never needed)."""
        import numpy as np
        from onnx import numpy_helper

        if stored.elements > MAX_VALUE_ELEMENTS:
            raise OnnxImportError(f"the values of tensor '{short(stored.name)}' ({stored.elements:,} elements) "
                                  "would be needed; convcost reads values only of small tensors")
        if stored.span is None and stored.external is None:
            return numpy_helper.to_array(stored.proto)
        if stored.span is not None:
            data = bytes(self._buffer[stored.span.offset:stored.span.offset + stored.span.length])
        else:
            path, offset = stored.external
            with open(path, "rb") as fh:
                fh.seek(offset)
                data = fh.read(raw_length(stored.dtype, stored.elements))
        tensor = type(stored.proto)()
        tensor.CopyFrom(stored.proto)
        tensor.ClearField("external_data")
        tensor.data_location = 0
        tensor.raw_data = data
        return np.asarray(numpy_helper.to_array(tensor))


def _outer_names(graph, depth: int = 0) -> set[str]:
    """Names a subgraph reads from enclosing graphs (and its own nested subgraphs read from them)."""
    if depth > 20:
        raise OnnxImportError("subgraphs are nested more than 20 deep")
    local = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    read: set[str] = set()
    for node in graph.node:
        read.update(n for n in node.input if n)
        for sub in _subgraphs(node):
            read |= _outer_names(sub, depth + 1)
        local.update(node.output)
    read.update(o.name for o in graph.output)
    return read - local


def _subgraphs(node):
    from onnx import AttributeProto

    for a in node.attribute:
        if a.type == AttributeProto.GRAPH:
            yield a.g
        elif a.type == AttributeProto.GRAPHS:
            yield from a.graphs


def topological(nodes, available: set[str], outer: dict[int, tuple[str, ...]], where: str = "the graph") -> list:
    """The nodes in an order where each reads only what is available or produced before it.

    A tensor no node produces is an error naming the node; so is a cycle.
    """
    producer: dict[str, int] = {}
    for i, node in enumerate(nodes):
        for out in node.output:
            if not out:
                continue
            if out in producer or out in available:
                raise OnnxImportError(f"tensor '{short(out)}' is produced twice in {where} (by node "
                                      f"'{short(node.name)}' and an earlier one); the file is damaged")
            producer[out] = i
    waiting = [0] * len(nodes)
    readers: dict[int, list[int]] = {}
    for i, node in enumerate(nodes):
        deps = set()
        for name in (*node.input, *outer.get(id(node), ())):
            if not name or name in available:
                continue
            if name not in producer:
                raise OnnxImportError(f"node '{short(node.name)}' ({node.op_type}) reads tensor '{short(name)}', "
                                      "which no node, graph input or initializer provides")
            deps.add(producer[name])
        waiting[i] = len(deps)
        for d in deps:
            readers.setdefault(d, []).append(i)
    # Kahn's algorithm, always taking the earliest ready node: the file's own order where it is valid,
    # so layers read as the exporter wrote them.
    ready = [i for i, n in enumerate(waiting) if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(nodes[i])
        for r in readers.get(i, ()):
            waiting[r] -= 1
            if waiting[r] == 0:
                heapq.heappush(ready, r)
    if len(order) < len(nodes):
        stuck = [nodes[i].name or nodes[i].op_type for i in range(len(nodes)) if waiting[i] > 0]
        raise OnnxImportError(f"{where} has a cycle: nodes {listing(stuck)} can never run (each waits on "
                              "another's output)")
    return order


def _input(graph, initializer_names: set[str]) -> tuple[str, tuple[int, int, int, int], int]:
    inputs = [i for i in graph.input if i.name not in initializer_names]
    if not inputs:
        raise OnnxImportError("the graph has no input; convcost needs one input image (N, C, H, W)")
    if len(inputs) > 1:
        raise OnnxImportError(f"the graph has {len(inputs)} inputs ({listing([i.name for i in inputs])}); "
                              "convcost models take one input image")
    value = inputs[0]
    name = value.name
    ttype = value.type.tensor_type if value.type.HasField("tensor_type") else None
    if ttype is None or not ttype.HasField("shape"):
        raise OnnxImportError(f"input '{short(name)}' has no tensor shape; export with a fixed input size")
    dims = ttype.shape.dim
    if len(dims) != 4:
        raise OnnxImportError(f"input '{short(name)}' has {len(dims)} dimensions; convcost reads images "
                              "in NCHW layout (4 dimensions)")
    if ttype.elem_type not in FLOAT_TYPES:
        raise OnnxImportError(f"input '{short(name)}' has element type {ttype.elem_type}, not a floating "
                              "point image; convcost reads float models")
    sizes = []
    for axis, (d, label) in enumerate(zip(dims, ("batch", "channels", "height", "width"))):
        if d.HasField("dim_value") and d.dim_value > 0:
            sizes.append(d.dim_value)
        elif axis == 0:
            sizes.append(1)  # a dynamic batch: convcost counts one image
        else:
            what = f"'{short(d.dim_param)}'" if d.HasField("dim_param") else "unknown"
            raise OnnxImportError(f"input '{short(name)}' has a {what} {label}; convcost needs fixed sizes: "
                                  "export the model with a fixed input size")
    if sizes[0] != 1:
        raise OnnxImportError(f"input '{short(name)}' has a fixed batch of {sizes[0]}; convcost counts one "
                              "image: export with batch 1 or a dynamic batch (use --batch to scale)")
    if any(s > MAX_DIM for s in sizes) or math.prod(sizes) >= MAX_ELEMENTS:
        raise OnnxImportError(f"input '{short(name)}' has absurd sizes {sizes}")
    return name, tuple(sizes), ttype.elem_type


def parse(path: str, buffer, skeleton: Skeleton) -> OnnxFile:
    """Parse the skeleton and check everything counting relies on."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.ModelProto.FromString(skeleton.data)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise OnnxImportError(f"not an ONNX model: protobuf cannot parse it ({short(exc, 120)})") from None
    graph = model.graph
    if not model.HasField("graph") or not graph.node or model.ir_version <= 0:
        raise OnnxImportError("not an ONNX model: it has no graph of nodes (a truncated or foreign file?)")
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    opset = opsets.get("ai.onnx", 0)
    if opset < 1:
        raise OnnxImportError("the model declares no version of the standard ONNX operator set")
    if graph.sparse_initializer:
        raise OnnxImportError("the graph has sparse initializers, which convcost does not read")
    base = os.path.dirname(os.path.abspath(path))
    initializers: dict[str, Stored] = {}
    if len(graph.initializer) != len(skeleton.spans):
        raise OnnxImportError("not an ONNX model: its initializers cannot be matched to its bytes")
    for i, (t, span) in enumerate(zip(graph.initializer, skeleton.spans)):
        stored = stored_tensor(t, span, base, f"initializer #{i + 1}")
        if stored.name in initializers:
            raise OnnxImportError(f"initializer '{short(stored.name)}' is stored twice; the file is damaged")
        initializers[stored.name] = stored
    name, dims, dtype = _input(graph, set(initializers))
    # One list of node objects, kept: protobuf makes a new wrapper object on every access, and the
    # subgraph readers below are keyed by object identity.
    top = list(graph.node)
    outer: dict[int, tuple[str, ...]] = {}
    count = 0

    def collect(nodes, depth: int = 0) -> None:
        nonlocal count
        count += len(nodes)
        if count > MAX_NODES:
            raise OnnxImportError(f"the graph has more than {MAX_NODES:,} nodes")
        for node in nodes:
            subs = list(_subgraphs(node))
            if subs:
                names: set[str] = set()
                for sub in subs:
                    names |= _outer_names(sub)
                    collect(list(sub.node), depth + 1)
                if depth == 0:
                    outer[id(node)] = tuple(sorted(names))

    collect(top)
    available = set(initializers) | {name}
    nodes = topological(top, available, outer)
    produced = available | {o for n in nodes for o in n.output}
    missing = [o.name for o in graph.output if o.name not in produced]
    if missing:
        raise OnnxImportError(f"graph output {listing(missing)} is produced by no node")
    if not graph.output:
        raise OnnxImportError("the graph has no output")
    return OnnxFile(path, model, opset, initializers, nodes, name, dims, dtype, outer, buffer)


def open_onnx(path: str):
    """A context manager yielding the checked OnnxFile; OnnxImportError for anything wrong with it."""
    return _Opened(path)


class _Opened:
    def __init__(self, path: str):
        self.path = path
        self.fh = None
        self.mm = None

    def __enter__(self) -> OnnxFile:
        self.fh = open(self.path, "rb")  # the caller has checked that it exists
        size = os.fstat(self.fh.fileno()).st_size
        if size == 0:
            raise OnnxImportError("not an ONNX model: the file is empty")
        if size > MAX_ONNX_BYTES:
            raise OnnxImportError(f"the file is {size:,} bytes, over the limit of {MAX_ONNX_BYTES:,} bytes for "
                                  "ONNX files (protobuf's own); larger models keep their weights in external "
                                  "data files")
        self.mm = mmap.mmap(self.fh.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            skeleton = scan_model(self.mm)
        except WireError as exc:
            raise OnnxImportError(f"not an ONNX model (or a damaged one): {exc}") from None
        return parse(self.path, self.mm, skeleton)

    def __exit__(self, *exc) -> None:
        if self.mm is not None:
            self.mm.close()
        if self.fh is not None:
            self.fh.close()

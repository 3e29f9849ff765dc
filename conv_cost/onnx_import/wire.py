"""A scan of an ONNX file's protobuf encoding: the model without the bytes of its large weights.

An ONNX file is one ModelProto message, and nearly all of its bytes are weights: the raw_data
of the graph's initializers (TensorProto). Counting needs only their dims. This scan walks the
message's wire format by hand (no protobuf library involved), notes where each initializer's
raw_data lies in the file, and builds a copy of the model without those bytes: small enough to
parse at once, while the weights are never read or copied. Needs nothing beyond the standard
library, so it also runs without the optional `onnx` package.
"""

from __future__ import annotations

from ..records import record


# Field numbers of onnx.proto (onnx/onnx.proto, stable since IR version 3).
MODEL_GRAPH = 7
MODEL_DROPPED = (20, 25)  # training_info, functions: never used for counting, may hold weights
GRAPH_INITIALIZER = 5
GRAPH_SPARSE_INITIALIZER = 15
TENSOR_RAW_DATA = 9

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
# raw_data up to this size stays in the skeleton: shape constants, scales and pads are read from it.
KEEP_RAW_BYTES = 4096
# A real graph has some thousands of entries and a tensor a handful of fields; far more is an attack
# on the time of a Python loop, refused before it costs minutes.
MAX_GRAPH_FIELDS = 4_000_000
MAX_TENSOR_FIELDS = 10_000


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message (not ONNX, or cut short)."""

    def __init__(self, message: str, offset: int):
        super().__init__(f"{message} at byte {offset:,}")
        self.offset = offset


@record
class Span:
    """Where an initializer's raw_data lies in the file."""

    offset: int
    length: int


@record
class Skeleton:
    """The model's encoding without large raw_data, and one span (or None) per initializer, in order."""

    data: bytes
    spans: tuple[Span | None, ...]


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    start = pos
    while True:
        if pos >= end:
            raise WireError("the file ends inside a number (it is cut short)", start)
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift >= 70:
            raise WireError("malformed number", start)


def _fields(buf, start: int, end: int, limit: int, what: str):
    """(field number, wire type, start of the field, start of its value, end of the field) of a message."""
    pos = start
    count = 0
    while pos < end:
        count += 1
        if count > limit:
            raise WireError(f"{what} has more than {limit:,} entries", pos)
        field_start = pos
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("malformed field (number 0)", field_start)
        if wire == VARINT:
            _, after = _varint(buf, pos, end)
        elif wire == LENGTH:
            length, pos = _varint(buf, pos, end)
            after = pos + length
        elif wire == FIXED64:
            after = pos + 8
        elif wire == FIXED32:
            after = pos + 4
        else:
            raise WireError(f"unsupported protobuf wire type {wire}", field_start)
        if after > end:
            raise WireError("a field runs past the end of its message (the file is cut short)", field_start)
        yield number, wire, field_start, pos, after
        pos = after


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        if n < 0x80:
            out.append(n)
            return bytes(out)
        out.append((n & 0x7F) | 0x80)
        n >>= 7


def _message(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | LENGTH) + _encode_varint(len(payload)) + payload


def _tensor(buf, start: int, end: int, index: int) -> tuple[bytes, Span | None]:
    kept: list[bytes] = []
    last_raw: tuple[int, int, int] | None = None  # (field start, value start, end): protobuf keeps the last
    for number, wire, field_start, value, after in _fields(buf, start, end, MAX_TENSOR_FIELDS,
                                                           f"initializer #{index + 1}"):
        if number == TENSOR_RAW_DATA and wire == LENGTH:
            last_raw = (field_start, value, after)
        else:
            kept.append(buf[field_start:after])
    if last_raw is None:
        return b"".join(kept), None
    field_start, value, after = last_raw
    if after - value <= KEEP_RAW_BYTES:
        kept.append(buf[field_start:after])
        return b"".join(kept), None
    return b"".join(kept), Span(value, after - value)


def _graph(buf, start: int, end: int, spans: list[Span | None]) -> bytes:
    pieces: list[bytes] = []
    for number, wire, field_start, value, after in _fields(buf, start, end, MAX_GRAPH_FIELDS, "the graph"):
        if number == GRAPH_INITIALIZER and wire == LENGTH:
            tensor, span = _tensor(buf, value, after, len(spans))
            spans.append(span)
            pieces.append(_message(GRAPH_INITIALIZER, tensor))
        else:
            pieces.append(buf[field_start:after])
    return b"".join(pieces)


def scan_model(buf) -> Skeleton:
    """The skeleton of a serialized ModelProto held in `buf` (bytes, or an mmap of the file)."""
    end = len(buf)
    pieces: list[bytes] = []
    spans: list[Span | None] = []
    for number, wire, field_start, value, after in _fields(buf, 0, end, MAX_GRAPH_FIELDS, "the model"):
        if number == MODEL_GRAPH and wire == LENGTH:
            pieces.append(_message(MODEL_GRAPH, _graph(buf, value, after, spans)))
        elif number not in MODEL_DROPPED:
            pieces.append(buf[field_start:after])
    return Skeleton(b"".join(pieces), tuple(spans))

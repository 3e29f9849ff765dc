"""Reading SPEC arguments: files or '-' for standard input, within the byte limit, as UTF-8."""

from __future__ import annotations

import sys

from ..errors import Problem

STDIN = "-"


class SourceError(OSError):
    """A SPEC argument cannot be read at all (missing file, directory): a usage error."""


def read_source(arg: str, max_bytes: int) -> tuple[str, bytes]:
    """The display path and raw bytes of one SPEC argument; at most max_bytes + 1 bytes are read,
    in chunks, so a huge limit allocates nothing up front."""
    if arg == STDIN:
        stream = sys.stdin.buffer if sys.stdin is not None else None
        if stream is None:
            raise SourceError("cannot read '-': standard input is closed")
        return "<stdin>", _read_limited(stream, max_bytes, "-")
    try:
        with open(arg, "rb") as fh:
            return arg, _read_limited(fh, max_bytes, arg)
    except FileNotFoundError:
        raise SourceError(f"cannot read '{arg}': no such file") from None
    except IsADirectoryError:
        raise SourceError(f"cannot read '{arg}': it is a directory; give a .yaml file") from None
    except OSError as exc:
        raise SourceError(f"cannot read '{arg}': {exc.strerror or exc}") from None


def _read_limited(stream, max_bytes: int, arg: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= max_bytes:
            chunk = stream.read(min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, ValueError) as exc:  # a closed or unreadable stream
        raise SourceError(f"cannot read '{arg}': {getattr(exc, 'strerror', None) or exc}") from None
    return b"".join(chunks)


def decode(path: str, data: bytes, max_bytes: int) -> tuple[str | None, Problem | None]:
    """The text of a source, or the problem that keeps it from being read."""
    if len(data) > max_bytes:
        return None, Problem(path, 1, 1, f"the file is larger than the limit of {max_bytes:,} bytes; "
                                          "shorten it with repeat and templates, or raise --max-bytes")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[start:exc.start].decode("utf-8", "replace")) + 1  # characters, as YAML positions count
        return None, Problem(path, line, col, f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                                              "save it as UTF-8")

"""Reading SPEC arguments: files or '-' for standard input, within the byte limit, as UTF-8."""

from __future__ import annotations

import sys

from ..errors import Problem
from ..text import inert

STDIN = "-"
READ_CHUNK = 1 << 20


class SourceError(OSError):
    """A SPEC argument cannot be read at all (missing file, directory): a usage error, status 2."""

    status = 2


class StdinError(SourceError):
    """Standard input is closed or fails: a fault of the environment, status 74 (EX_IOERR)."""

    status = 74


def read_at_most(fh, limit: int) -> bytes:
    """Up to `limit` bytes of `fh`, read in chunks: a limit of 10^11 bytes allocates nothing up front."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = fh.read(min(READ_CHUNK, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_source(arg: str, max_bytes: int) -> tuple[str, bytes]:
    """The display path and raw bytes of one SPEC argument; at most max_bytes + 1 bytes are read (one
    more tells that the limit is passed). The display path has its control characters escaped: it
    goes into every message."""
    limit = max_bytes + 1
    if arg == STDIN:
        if sys.stdin is None:
            raise StdinError("cannot read '-': standard input is closed")
        try:
            return "<stdin>", read_at_most(sys.stdin.buffer, limit)
        except (OSError, ValueError) as exc:
            raise StdinError(f"cannot read '-': {getattr(exc, 'strerror', None) or exc}") from None
    shown = inert(arg)
    try:
        with open(arg, "rb") as fh:
            return shown, read_at_most(fh, limit)
    except FileNotFoundError:
        raise SourceError(f"cannot read '{shown}': no such file") from None
    except IsADirectoryError:
        raise SourceError(f"cannot read '{shown}': it is a directory; give a .yaml file") from None
    except OSError as exc:
        raise SourceError(f"cannot read '{shown}': {exc.strerror or exc}") from None


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

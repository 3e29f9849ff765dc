"""Reading the SPEC arguments of a command: files or '-' for standard input."""

from __future__ import annotations

import sys

from .errors import Problem, SpecError
from .graph import Model
from .spec import DEFAULT_MAX_LAYERS, parse_spec

STDIN = "-"
# A written-out 100,000-layer spec is 3-5 MB. Reading YAML takes some 150 bytes of memory per
# byte of text at worst, so this bound also bounds memory (raise it with --max-bytes).
DEFAULT_MAX_BYTES = 8 * 1024 * 1024


class SourceError(OSError):
    """A SPEC argument cannot be read at all (missing file, directory): a usage error."""


def read_source(arg: str, max_bytes: int | None = None) -> tuple[str, bytes]:
    """The display path and raw bytes of one SPEC argument; at most max_bytes + 1 bytes are read."""
    limit = -1 if max_bytes is None else max_bytes + 1  # one byte more tells that the limit is passed
    if arg == STDIN:
        return "<stdin>", sys.stdin.buffer.read(limit)
    try:
        with open(arg, "rb") as fh:
            return arg, fh.read(limit)
    except FileNotFoundError:
        raise SourceError(f"cannot read '{arg}': no such file") from None
    except IsADirectoryError:
        raise SourceError(f"cannot read '{arg}': it is a directory; give a .yaml file") from None
    except OSError as exc:
        raise SourceError(f"cannot read '{arg}': {exc.strerror or exc}") from None


def load_sources(args: list[str], max_layers: int = DEFAULT_MAX_LAYERS,
                 texts: dict[str, str] | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Model]:
    """Every model of every SPEC argument, in order; SpecError carries the problems of all files.

    `texts`, when given, receives each source's text by display path (handouts quote the spec).
    """
    models: list[Model] = []
    problems: list[Problem] = []
    notes: list[str] = []
    for arg in args:
        if arg.lower().endswith(".onnx"):  # an ONNX model: read as the spec `convcost import` writes
            from .onnx_import import onnx_spec_text

            try:
                path, data = arg, onnx_spec_text(arg, max_layers).encode("utf-8")
            except SpecError as exc:
                problems.extend(exc.problems)
                continue
            max_size = len(data)  # the 8 MiB limit is for YAML; ONNX files have their own (docs/onnx.md)
        else:
            path, data = read_source(arg, max_bytes)
            max_size = max_bytes
        if len(data) > max_size:
            problems.append(Problem(path, 1, 1, f"the file is larger than the limit of {max_bytes:,} bytes; "
                                                "shorten it with repeat and templates, or raise --max-bytes"))
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            start = data.rfind(b"\n", 0, exc.start) + 1
            col = len(data[start:exc.start].decode("utf-8")) + 1  # characters, as YAML positions count
            problems.append(Problem(path, line, col, f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                                                     "save it as UTF-8"))
            continue
        if texts is not None:
            texts[path] = text
        try:
            models.extend(parse_spec(text, path, max_layers=max_layers))
        except SpecError as exc:
            problems.extend(exc.problems)
            notes.extend(exc.notes)
    if problems:
        raise SpecError(problems, notes)
    return models

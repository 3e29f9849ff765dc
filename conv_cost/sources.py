"""Reading the SPEC arguments of a command: files or '-' for standard input."""

from __future__ import annotations

import sys

from .errors import Problem, SpecError
from .graph import Model
from .spec import DEFAULT_MAX_LAYERS, parse_spec

STDIN = "-"


class SourceError(OSError):
    """A SPEC argument cannot be read at all (missing file, directory): a usage error."""


def read_source(arg: str) -> tuple[str, bytes]:
    """The display path and raw bytes of one SPEC argument."""
    if arg == STDIN:
        return "<stdin>", sys.stdin.buffer.read()
    try:
        with open(arg, "rb") as fh:
            return arg, fh.read()
    except FileNotFoundError:
        raise SourceError(f"cannot read '{arg}': no such file") from None
    except IsADirectoryError:
        raise SourceError(f"cannot read '{arg}': it is a directory; give a .yaml file") from None
    except OSError as exc:
        raise SourceError(f"cannot read '{arg}': {exc.strerror or exc}") from None


def load_sources(args: list[str], max_layers: int = DEFAULT_MAX_LAYERS,
                 texts: dict[str, str] | None = None) -> list[Model]:
    """Every model of every SPEC argument, in order; SpecError carries the problems of all files.

    `texts`, when given, receives each source's text by display path (handouts quote the spec).
    """
    models: list[Model] = []
    problems: list[Problem] = []
    for arg in args:
        path, data = read_source(arg)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            problems.append(Problem(path, line, col, f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                                                     "save it as UTF-8"))
            continue
        if texts is not None:
            texts[path] = text
        try:
            models.extend(parse_spec(text, path, max_layers=max_layers))
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    return models

"""ONNX models as specs: `convcost import MODEL.onnx`, and .onnx files given to any command.

The model's graph becomes a list of convcost layers (mapping.py), written as spec text with one
layer per line (emit.py), which the normal spec reader then reads: every command sees an ONNX
model exactly as it sees the spec that `convcost import` prints. Needs the optional extra
`onnx` (pip install 'convcost[onnx]'); nothing imports this package unless an ONNX file is read.
See docs/onnx.md for the mapping, the patterns recognised and the limits.
"""

from __future__ import annotations

import os

from ..errors import Problem, SpecError
from ..records import record
from ..spec import DEFAULT_MAX_LAYERS, SourceError, SpecFile

ONNX_SUFFIX = ".onnx"
INSTALL_HINT = "pip install 'convcost[onnx]'"


def is_onnx_path(arg: str) -> bool:
    """SPEC arguments ending in .onnx (any case) are ONNX models."""
    return arg.lower().endswith(ONNX_SUFFIX)


@record
class Imported:
    """An ONNX model as a spec: its text, the layers with the ONNX nodes they came from, and the text
    as read and validated (so a command reading the .onnx file reads the text once)."""

    text: str
    layers: tuple
    spec: SpecFile


def require_onnx() -> None:
    """SourceError (a usage error, exit 2) when the optional onnx package is missing."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise SourceError(f"reading ONNX models needs the onnx package, which is not installed; "
                          f"install it with: {INSTALL_HINT}") from None


def _check_path(path: str) -> None:
    if os.path.isdir(path):
        raise SourceError(f"cannot read '{path}': it is a directory; give an .onnx file")
    if not os.path.exists(path):
        raise SourceError(f"cannot read '{path}': no such file")
    if not os.access(path, os.R_OK):
        raise SourceError(f"cannot read '{path}': permission denied")


def _layers(path: str) -> tuple[str, tuple]:
    from .emit import spec_text
    from .mapping import map_graph
    from .reader import OnnxImportError, open_onnx

    try:
        with open_onnx(path) as f:
            layers = map_graph(f)
            return spec_text(f, layers), tuple(layers)
    except OnnxImportError as exc:
        raise SpecError([Problem(path, 0, 0, p) for p in exc.problems]) from None
    except OSError as exc:
        raise SourceError(f"cannot read '{path}': {exc.strerror or exc}") from None


def _validate(path: str, text: str, layers: tuple, max_layers: int) -> SpecFile:
    """Read the text as any spec is read, and check convcost's shapes against ONNX's, layer by layer."""
    from ..graph import shapes_of
    from ..spec import parse_spec_file
    from .emit import HEADER_LINES

    def located(problem: Problem) -> Problem:
        i = problem.line - HEADER_LINES - 1
        node = f" (ONNX node '{layers[i].node}')" if 0 <= i < len(layers) else ""
        return Problem(path, 0, 0, problem.message + node)

    try:
        spec = parse_spec_file(text, path, max_layers=max_layers)
        [model] = spec.models
        shapes = shapes_of(model)
    except SpecError as exc:
        raise SpecError([located(p) for p in exc.problems], exc.notes) from None
    problems = []
    for layer in layers:
        ours = shapes[layer.name]
        h, w, c = layer.shape
        if (ours.height, ours.width, ours.channels) != (h, w, c):
            problems.append(Problem(path, 0, 0, f"layer '{layer.name}' (ONNX node '{layer.node}'): convcost "
                                                f"computes {ours}, ONNX shape inference {h}x{w}x{c}"))
    if problems:
        raise SpecError(problems[:20])
    return spec


def import_onnx(path: str, *, max_layers: int = DEFAULT_MAX_LAYERS) -> Imported:
    """The spec of an ONNX model. SourceError: the file cannot be read, or onnx is missing (exit 2);
    SpecError: the model cannot be counted, one problem per line (exit 1)."""
    require_onnx()
    _check_path(path)
    text, layers = _layers(path)
    return Imported(text, layers, _validate(path, text, layers, max_layers))

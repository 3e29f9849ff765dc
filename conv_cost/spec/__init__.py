"""Reading specs: YAML text -> validated models with source positions, as a SpecFile.

One module per job: yaml_tree (YAML nodes with positions), values (value kinds), expr (the
${} language), grammar (the structure of a file and its blocks, which the schema reads too),
expand (scopes, templates and blocks -> nodes), budget (limits), problems (collecting them),
files (reading SPEC arguments).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import Problem, SpecError
from ..graph import Model
from ..records import record
from .budget import DEFAULT_MAX_BYTES, DEFAULT_MAX_LAYERS
from .expand import SpecReader
from .files import SourceError, decode, read_source
from .problems import Abort, Problems
from .yaml_tree import compose_tree

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_LAYERS", "SourceError", "SpecFile", "load_spec", "parse_spec",
           "parse_spec_file", "read_specs"]


@record
class SpecFile:
    """One spec as read: where from, its text, its name and description, its validated models,
    and notes for the reader (stderr) that do not make it invalid."""

    path: str
    text: str
    name: str
    description: str
    models: tuple[Model, ...]
    notes: tuple[str, ...] = ()


def parse_spec_file(text: str, path: str = "<spec>", *, max_layers: int = DEFAULT_MAX_LAYERS) -> SpecFile:
    """Read a spec from YAML text; raise SpecError with every problem found."""
    problems = Problems(path)
    root, shared = compose_tree(text, problems)
    reader = SpecReader(path, max_layers)
    models: list[Model] = []
    if root is not None:
        reader.problems = problems
        reader.shared = shared
        try:
            models = reader.read(root)
        except Abort:
            pass  # the reason is among the problems
        except RecursionError:  # a backstop: the depth limits should make it unreachable
            problems.items.append(Problem(path, 1, 1, "the spec is nested too deeply to read; flatten it"))
    problems.raise_if_any()
    return SpecFile(path, text, reader.title or Path(path).stem, reader.description, tuple(models),
                    tuple(reader.notes))


def parse_spec(text: str, path: str = "<spec>", *, max_layers: int = DEFAULT_MAX_LAYERS) -> list[Model]:
    """The models of a spec's YAML text; SpecError with every problem found."""
    return list(parse_spec_file(text, path, max_layers=max_layers).models)


def read_specs(args: list[str], *, max_layers: int = DEFAULT_MAX_LAYERS,
               max_bytes: int = DEFAULT_MAX_BYTES) -> list[SpecFile]:
    """Every SPEC argument read once, in order. SourceError (a usage error) for an argument that
    cannot be read at all; SpecError with the problems of all files otherwise."""
    files: list[SpecFile] = []
    problems: list[Problem] = []
    notes: list[str] = []
    for arg in args:
        if arg.lower().endswith(".onnx"):  # an ONNX model: the spec `convcost import` writes, read once there
            from ..onnx_import import import_onnx

            try:
                files.append(import_onnx(arg, max_layers=max_layers).spec)
            except SpecError as exc:
                problems.extend(exc.problems)
            continue
        path, data = read_source(arg, max_bytes)
        text, problem = decode(path, data, max_bytes)
        if problem is not None:
            problems.append(problem)
            continue
        try:
            spec = parse_spec_file(text, path, max_layers=max_layers)
        except SpecError as exc:
            problems.extend(exc.problems)
            notes.extend(exc.notes)
            continue
        files.append(spec)
    if problems:
        raise SpecError(problems, notes)
    return files


def load_spec(path: str | Path, *, max_layers: int = DEFAULT_MAX_LAYERS) -> list[Model]:
    """Read a spec file (UTF-8, or '-' for standard input); raise SpecError with every problem found."""
    [spec] = read_specs([str(path)], max_layers=max_layers)
    return list(spec.models)

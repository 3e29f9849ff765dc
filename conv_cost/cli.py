"""The `convcost` command line: thin commands over the library; errors to stderr, exit codes 0/1/2/74
(docs/limits.md)."""

from __future__ import annotations

import gc
import os
import sys
from enum import Enum
from typing import Annotated, NoReturn, Optional

import typer

from .output import (EXIT_IO, OutputError, OutputTarget, SignalExit, prepare_output, write_output, write_stderr,
                     write_stdout)
from .render import EXTENSIONS, FORMATS
from .sources import DEFAULT_MAX_BYTES
from .spec import DEFAULT_MAX_LAYERS
from .text import inert, inert_lines
from .transforms import DEFAULT_REDUCE, TRANSFORMS  # costs nothing: spec already imports graph and layers

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Exact parameter, MAC (multiply-add) and FLOP counts of convolutional networks from YAML specs.",
)


def show_version(value: bool) -> None:
    if value:
        from . import __version__

        emit(f"convcost {__version__}\n")
        raise typer.Exit()


@app.callback()
def convcost(
    version: Annotated[bool, typer.Option("--version", callback=show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Exact parameter, MAC (multiply-add) and FLOP counts of convolutional networks from YAML specs."""


# The choices of --format are the renderers registered in render.FORMATS.
Format = Enum("Format", {name: name for name in FORMATS}, type=str)


SpecArgs = Annotated[list[str], typer.Argument(metavar="SPEC...", help="YAML spec files; '-' reads standard input.",
                                               show_default=False)]
FormatOpt = Annotated[Optional[Format], typer.Option(
    "--format", "-f", show_default=False,
    help=f"Output format; without it, the --output file's extension decides ({' '.join(EXTENSIONS)}), "
         "else table.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Short for --format json.")]
ExactOpt = Annotated[bool, typer.Option("--exact", help="Exact integers in tables instead of 160.56M.")]
OutputOpt = Annotated[Optional[str], typer.Option(
    "--output", "-o", metavar="FILE",
    help="Write the result to FILE (replaced whole, only once the run succeeds; '-' is standard output) "
         "instead of standard output.")]
MaxLayersOpt = Annotated[int, typer.Option("--max-layers", min=1,
                                           help="Refuse specs that expand to more layers than this.")]
MaxBytesOpt = Annotated[int, typer.Option("--max-bytes", min=1, help="Refuse spec files larger than this.")]


def fail(message: str, code: int) -> NoReturn:
    write_stderr(inert_lines(message.rstrip("\n")) + "\n")  # no control character reaches the terminal
    raise typer.Exit(code)


def load_models(specs: list[str], max_layers: int, texts: dict[str, str] | None = None,
                max_bytes: int = DEFAULT_MAX_BYTES):
    """Every model of every SPEC; exit 1 with one line per problem, or 2 for an unreadable argument."""
    from .errors import SpecError
    from .sources import SourceError, load_sources

    try:
        return load_sources(specs, max_layers, texts, max_bytes)
    except SourceError as exc:
        fail(f"convcost: error: {exc}", exc.status)
    except SpecError as exc:
        fail("\n".join([*(str(p) for p in exc.problems), *exc.notes]), 1)


def color_wanted() -> bool:
    # NO_COLOR counts only when set and not empty (no-color.org).
    return sys.stdout is not None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def emit(text: str) -> None:
    # Machine formats must not pass through rich's markup or wrapping.
    try:
        write_stdout(text)
    except OutputError as exc:
        fail(f"convcost: error: {exc}", exc.status)


def output_target(output: str | None, specs: list[str]) -> OutputTarget:
    """Where the result goes, checked before any work: exit 2 for an --output path that cannot be
    written (or is a SPEC), 74 for a closed standard output."""
    try:
        return prepare_output(output, specs)
    except OutputError as exc:
        fail(f"convcost: error: {exc}", exc.status)


def deliver(text: str, target: OutputTarget) -> None:
    try:
        write_output(target, text)
    except OutputError as exc:
        fail(f"convcost: error: {exc}", exc.status)


def chosen_format(fmt: Format | None, as_json: bool, output: str | None) -> str:
    """--json, else --format, else the --output file's extension, else table; --json with
    another --format is a usage error."""
    if as_json and fmt not in (None, Format.json):
        raise typer.BadParameter(f"give --json or --format {fmt.value}, not both", param_hint="'--json'")
    if as_json or fmt is not None:
        return "json" if as_json else fmt.value
    return EXTENSIONS.get(os.path.splitext(output or "")[1].lower(), "table")


@app.command()
def report(
    specs: SpecArgs,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    exact: ExactOpt = False,
    max_layers: MaxLayersOpt = DEFAULT_MAX_LAYERS,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
    output: OutputOpt = None,
) -> None:
    """Per-layer table and totals of every model in the SPEC files."""
    from .cost import analyze
    from .render import renderer

    fmt_name = chosen_format(fmt, as_json, output)
    target = output_target(output, specs)
    texts: dict[str, str] = {}
    models = load_models(specs, max_layers, texts, max_bytes)
    reports = [analyze(m) for m in models]
    color = target.to_stdout and color_wanted()
    deliver(renderer(fmt_name, "report")(reports, exact=exact, color=color, models=models, sources=texts), target)


LayerOpt = Annotated[Optional[str], typer.Option("--layer", "-l", metavar="NAME",
                                                 help="Explain only this layer (its full path, e.g. blk/b1/conv1).")]


@app.command()
def explain(
    specs: SpecArgs,
    layer: LayerOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    max_layers: MaxLayersOpt = DEFAULT_MAX_LAYERS,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
    output: OutputOpt = None,
) -> None:
    """How each layer's output shape, costs and receptive field follow from its inputs, step by step."""
    from .explain import explain_model, select_layer
    from .render import renderer

    fmt_name = chosen_format(fmt, as_json, output)
    target = output_target(output, specs)
    texts: dict[str, str] = {}
    models = load_models(specs, max_layers, texts, max_bytes)
    explanations = [explain_model(m) for m in models]
    if layer is not None:
        chosen = select_layer(explanations, layer)
        if not chosen:
            from .errors import did_you_mean

            names = list(dict.fromkeys(n.name for m in models for n in m.nodes))
            examples = ", ".join(f"'{n}'" for n in names[:3])
            hint = did_you_mean(layer, names) or (
                f"; layers are named by their full path, e.g. {examples}" if names else "; the spec has no layers")
            files = ", ".join(inert(s) for s in dict.fromkeys(specs))
            fail(f"convcost: error: no layer named '{inert(layer)}' in {files}{inert(hint)}", 2)
        explanations = chosen
    color = target.to_stdout and color_wanted()
    deliver(renderer(fmt_name, "explain")(explanations, color=color, sources=texts), target)


def _flag(name: str, help: str):
    return Annotated[bool, typer.Option(name, help=help)]


def _transform_flag(key: str):
    t = TRANSFORMS[key]
    return _flag(t.flag, t.help)


@app.command()
def compare(
    specs: SpecArgs,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    exact: ExactOpt = False,
    by_layer: _flag("--by-layer", "Also line up the layers the models share, and show where the saving comes from.") = False,
    without_bottlenecks: _transform_flag("remove_bottlenecks") = False,
    with_bottlenecks: _transform_flag("add_bottlenecks") = False,
    reduce: Annotated[int | None, typer.Option("--reduce", metavar="R", min=2, show_default=False,
                                               help="Inserted bottlenecks reduce C channels to C // R "
                                                    "(default 4); implies --with-bottlenecks.")] = None,
    reduce_to: Annotated[int | None, typer.Option("--reduce-to", metavar="N", min=1, show_default=False,
                                                  help="Inserted bottlenecks reduce to N channels; "
                                                       "implies --with-bottlenecks.")] = None,
    standard_conv: _transform_flag("standard_conv") = False,
    fc_head: _transform_flag("fc_head") = False,
    max_layers: MaxLayersOpt = DEFAULT_MAX_LAYERS,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
    output: OutputOpt = None,
) -> None:
    """The models of the SPEC files side by side, the first as the baseline, with ratios.

    A single model is compared with its counterfactual: without its 1x1 bottlenecks if it has any, else with them.
    """
    if reduce is not None and reduce_to is not None:
        raise typer.BadParameter("give --reduce or --reduce-to, not both", param_hint="'--reduce-to'")
    from .compare import compare_models
    from .errors import SpecError
    from .render import renderer

    fmt_name = chosen_format(fmt, as_json, output)
    target = output_target(output, specs)
    texts: dict[str, str] = {}
    models = load_models(specs, max_layers, texts, max_bytes)
    chosen = [key for key, wanted in (("remove_bottlenecks", without_bottlenecks),
                                      ("add_bottlenecks", with_bottlenecks or reduce is not None or reduce_to is not None),
                                      ("standard_conv", standard_conv), ("fc_head", fc_head)) if wanted]
    try:
        comparison = compare_models(models, chosen or None, reduce=reduce or DEFAULT_REDUCE, reduce_to=reduce_to)
    except SpecError as exc:
        fail("\n".join(str(p) for p in exc.problems), 1)
    color = target.to_stdout and color_wanted()
    deliver(renderer(fmt_name, "compare")(comparison, exact=exact, by_layer=by_layer, color=color, sources=texts),
            target)


@app.command()
def verify(
    specs: SpecArgs,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also list the layers that agree.")] = False,
    max_layers: MaxLayersOpt = DEFAULT_MAX_LAYERS,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
) -> None:
    """Cross-check every model with PyTorch, layer by layer: shapes, params, buffers and MACs (needs torch)."""
    from .verify import TorchMissing, render_checks, require_torch, verify_model

    try:
        version = require_torch()
    except TorchMissing as exc:
        fail(f"convcost: error: {exc}", 2)
    models = load_models(specs, max_layers, max_bytes=max_bytes)
    checks = [verify_model(m) for m in models]
    emit(render_checks(checks, version, verbose))
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


@app.command()
def check(
    specs: SpecArgs,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what was checked.")] = False,
    max_layers: MaxLayersOpt = DEFAULT_MAX_LAYERS,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
) -> None:
    """Only validate the SPEC files: exit 0, quietly, if all are valid; 1 with every problem if not."""
    models = load_models(specs, max_layers, max_bytes=max_bytes)
    if verbose:
        per_file: dict[str, list[int]] = {}
        for m in models:
            counts = per_file.setdefault(m.source, [0, 0])
            counts[0] += 1
            counts[1] += len(m.nodes)
        emit("".join(f"{src}: ok ({n} model{'s' * (n != 1)}, {k:,} layers)\n"
                     for src, (n, k) in per_file.items()))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec format, for editors that validate and complete YAML."""
    import json

    from .schema import spec_schema

    emit(json.dumps(spec_schema(), indent=2) + "\n")


def main() -> None:
    """Entry point: run the app; an unexpected failure is one line on stderr, never a traceback."""
    # A spec becomes many small acyclic objects; the cyclic collector would rescan them again and
    # again (three quarters of the time on a 100,000-layer spec) and find nothing to free.
    gc.disable()
    try:
        app()
    except (SystemExit, SignalExit):
        raise
    except OSError as exc:
        # Reading or writing failed where no command expected it (help into a full disk).
        write_stderr(f"convcost: error: {exc.strerror or exc}\n")
        sys.exit(EXIT_IO)
    except KeyboardInterrupt:
        write_stderr("convcost: interrupted\n")
        sys.exit(130)
    except BaseException as exc:  # noqa: BLE001 - the last line of defence for "never a traceback"
        if os.environ.get("CONVCOST_DEBUG"):
            raise
        write_stderr(f"convcost: internal error: {type(exc).__name__}: {exc}\n"
                     "Please report this with the spec that caused it (CONVCOST_DEBUG=1 shows the traceback).\n")
        sys.exit(1)

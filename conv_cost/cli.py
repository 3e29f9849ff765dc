"""The `convcost` command line: thin commands over the library; errors to stderr, exit codes 0/1/2."""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import Annotated, NoReturn

import typer

from .spec import DEFAULT_MAX_LAYERS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Exact parameter, MAC (multiply-add) and FLOP counts of convolutional networks from YAML specs.",
)


def show_version(value: bool) -> None:
    if value:
        from . import __version__

        sys.stdout.write(f"convcost {__version__}\n")
        raise typer.Exit()


@app.callback()
def convcost(
    version: Annotated[bool, typer.Option("--version", callback=show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Exact parameter, MAC (multiply-add) and FLOP counts of convolutional networks from YAML specs."""


class Format(str, Enum):
    table = "table"
    json = "json"


SpecArgs = Annotated[list[str], typer.Argument(metavar="SPEC...", help="YAML spec files; '-' reads standard input.",
                                               show_default=False)]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Short for --format json.")]
ExactOpt = Annotated[bool, typer.Option("--exact", help="Exact integers in tables instead of 160.56M.")]
MaxLayersOpt = Annotated[int, typer.Option("--max-layers", min=1,
                                           help="Refuse specs that expand to more layers than this.")]


def fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(message.rstrip("\n") + "\n")
    raise typer.Exit(code)


def load_models(specs: list[str], max_layers: int):
    """Every model of every SPEC; exit 1 with one line per problem, or 2 for an unreadable argument."""
    from .errors import SpecError
    from .sources import SourceError, load_sources

    try:
        return load_sources(specs, max_layers)
    except SourceError as exc:
        fail(f"convcost: error: {exc}", 2)
    except SpecError as exc:
        fail("\n".join(str(p) for p in exc.problems), 1)


def color_wanted() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def emit(text: str) -> None:
    # Machine formats must not pass through rich's markup or wrapping.
    sys.stdout.write(text)
    sys.stdout.flush()


def chosen_format(fmt: Format, as_json: bool) -> str:
    return "json" if as_json else fmt.value


@app.command()
def report(
    specs: SpecArgs,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
    exact: ExactOpt = False,
    max_layers: MaxLayersOpt = DEFAULT_MAX_LAYERS,
) -> None:
    """Per-layer table and totals of every model in the SPEC files."""
    from .cost import analyze
    from .render import renderer

    models = load_models(specs, max_layers)
    reports = [analyze(m) for m in models]
    emit(renderer(chosen_format(fmt, as_json), "report")(reports, exact=exact, color=color_wanted()))


@app.command()
def verify(
    specs: SpecArgs,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also list the layers that agree.")] = False,
    max_layers: MaxLayersOpt = DEFAULT_MAX_LAYERS,
) -> None:
    """Cross-check every model with PyTorch, layer by layer: shapes, params, buffers and MACs (needs torch)."""
    from .verify import TorchMissing, render_checks, require_torch, verify_model

    try:
        version = require_torch()
    except TorchMissing as exc:
        fail(f"convcost: error: {exc}", 2)
    models = load_models(specs, max_layers)
    checks = [verify_model(m) for m in models]
    emit(render_checks(checks, version, verbose))
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def main() -> None:
    """Entry point: run the app; an unexpected failure is one line on stderr, never a traceback."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("convcost: interrupted\n")
        sys.exit(130)
    except BaseException as exc:  # noqa: BLE001 - the last line of defence for "never a traceback"
        if os.environ.get("CONVCOST_DEBUG"):
            raise
        sys.stderr.write(f"convcost: internal error: {type(exc).__name__}: {exc}\n"
                         "Please report this with the spec that caused it (CONVCOST_DEBUG=1 shows the traceback).\n")
        sys.exit(1)

"""The `convcost` command line: thin commands over the library; errors to stderr, exit codes 0/1/2/74
(docs/limits.md)."""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import replace
from enum import Enum
from typing import Annotated, NoReturn, Optional

import typer

from .memory import DTYPES
from .output import (EXIT_IO, OutputError, OutputTarget, SignalExit, prepare_output, write_output, write_stderr,
                     write_stdout)
from .render import EXTENSIONS, FORMATS
from .spec.budget import DEFAULT_MAX_BYTES, DEFAULT_MAX_LAYERS, MAX_EXPLAINED
from .text import inert, inert_lines
from .transforms import DEFAULT_REDUCE, TRANSFORMS  # costs nothing: spec already imports graph and layers

app_settings = dict(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Exact parameter, MAC (multiply-add) and FLOP counts of convolutional networks from YAML specs.",
)
app = typer.Typer(**app_settings)


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


SpecArgs = Annotated[list[str], typer.Argument(metavar="SPEC...", help="YAML spec files or ONNX models (.onnx); "
                                                                      "'-' reads standard input.",
                                               show_default=False)]
FormatOpt = Annotated[Optional[Format], typer.Option(
    "--format", "-f", metavar="FORMAT", show_default=False,
    help=f"Output format: {', '.join(FORMATS)}; without it, the --output file's extension decides "
         f"({' '.join(EXTENSIONS)}), else table.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Short for --format json.")]
ExactOpt = Annotated[bool, typer.Option("--exact", help="Exact integers in tables instead of 160.56M.")]
OutputOpt = Annotated[Optional[str], typer.Option(
    "--output", "-o", metavar="FILE",
    help="Write the result to FILE instead of standard output (replaced whole, once the run succeeds; '-' is "
         "standard output).")]
MaxLayersOpt = Annotated[int, typer.Option("--max-layers", min=1, metavar="N",
                                           help="Refuse specs that expand to more layers than this.")]
MaxBytesOpt = Annotated[int, typer.Option("--max-bytes", min=1, metavar="N", help="Refuse spec files larger than this.")]
Dtype = Enum("Dtype", {name: name for name in DTYPES}, type=str)
DtypeOpt = Annotated[Dtype, typer.Option("--dtype", metavar="DTYPE",
                                         help="Precision of weights and activations: fp32, fp16, bf16 or int8 "
                                              "(4, 2, 2 or 1 bytes).")]
BatchOpt = Annotated[int, typer.Option("--batch", min=1, metavar="N",
                                       help="Images per batch: MACs, FLOPs, activations and activation bytes "
                                            "scale by it.")]
InputOpt = Annotated[Optional[str], typer.Option("--input", metavar="H,W[,C]", show_default=False,
                                                 help="Run every model on this input (its channels kept when "
                                                      "C is left out).")]
DeviceOpt = Annotated[Optional[str], typer.Option("--device", metavar="NAME", show_default=False,
                                                  help="Roofline times on a device of the bundled table "
                                                       "(convcost devices lists them).")]
PeakOpt = Annotated[Optional[str], typer.Option("--peak-tflops", metavar="X", show_default=False,
                                                help="Roofline: peak TFLOP/s (with --bandwidth-gbs).")]
BandwidthOpt = Annotated[Optional[str], typer.Option("--bandwidth-gbs", metavar="Y", show_default=False,
                                                     help="Roofline: memory bandwidth in GB/s (with --peak-tflops).")]


DepthOpt = Annotated[Optional[int], typer.Option("--depth", min=1, metavar="N", show_default=False,
                                                 help="Group rows by the first N levels of the layer paths, "
                                                      "with subtotals.")]
WideOpt = Annotated[bool, typer.Option("--wide", help="Show every column in full, however wide the terminal.")]


def table_width(wide: bool) -> int | None:
    """The width tables must fit: COLUMNS when set, else the terminal's; None (no limit) for --wide or
    output that is not a terminal, so scripts get every column."""
    if wide:
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isascii() and columns.isdigit() and 0 < int(columns) < 100_000:
        return int(columns)
    try:
        if sys.stdout is not None and sys.stdout.isatty():
            return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        pass
    return None


def ascii_only() -> bool:
    """Whether standard output cannot carry the box and bar characters (PYTHONIOENCODING=ascii, say)."""
    try:
        "━│█…".encode(getattr(sys.stdout, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return True
    return False


def view_options(target: OutputTarget, wide: bool = False) -> dict:
    """How a table is drawn: the width to fit and the characters it may use (a file gets everything)."""
    if not target.to_stdout:
        return {"width": None, "ascii_only": False}
    return {"width": table_width(wide), "ascii_only": ascii_only()}


def fail(message: str, code: int) -> NoReturn:
    write_stderr(inert_lines(message.rstrip("\n")) + "\n")  # no control character reaches the terminal
    raise typer.Exit(code)


def read_files(specs: list[str], max_layers: int, max_bytes: int = DEFAULT_MAX_BYTES):
    """Every SPEC read once, as SpecFiles; their notes on stderr; exit 1 with one line per problem,
    or 2 for an unreadable argument."""
    from .errors import SpecError
    from .spec import SourceError, read_specs

    try:
        files = read_specs(specs, max_layers=max_layers, max_bytes=max_bytes)
    except SourceError as exc:
        fail(f"convcost: error: {exc}", exc.status)
    except SpecError as exc:
        fail("\n".join([*(str(p) for p in exc.problems), *exc.notes]), 1)
    notes = [note for f in files for note in f.notes]
    if notes:
        sys.stderr.write("".join(f"{note}\n" for note in notes))
    return files


def models_of(files, input_: str | None = None) -> list:
    """Every model of the files; with --input, on that input (exit 1 naming a layer that no longer fits)."""
    models = [m for f in files for m in f.models]
    if input_ is None:
        return models
    from dataclasses import replace

    from .errors import SpecError
    from .graph import with_input
    from .settings import input_shape, parse_input

    try:
        given = parse_input(input_)
    except ValueError as exc:
        fail(f"convcost: error: {exc}", 2)
    out = []
    problems = []
    for m in models:
        shape = input_shape(given, m.input)
        try:
            out.append(with_input(m, shape))
        except SpecError as exc:
            problems += [replace(p, message=f"{p.message} (with --input {shape.height},{shape.width},"
                                            f"{shape.channels})") for p in exc.problems]
    if problems:
        fail("\n".join(str(p) for p in problems[:20]), 1)
    return out


def run_settings(dtype, batch: int, device: str | None, peak: str | None, bandwidth: str | None):
    """The Settings of the options; exit 2 with what to fix."""
    from .settings import run_settings as make

    try:
        return make(dtype.value, batch, device, peak, bandwidth)
    except ValueError as exc:
        fail(f"convcost: error: {exc}", 2)


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
    depth: DepthOpt = None,
    wide: WideOpt = False,
    dtype: DtypeOpt = Dtype.fp32,
    batch: BatchOpt = 1,
    input_: InputOpt = None,
    device: DeviceOpt = None,
    peak_tflops: PeakOpt = None,
    bandwidth_gbs: BandwidthOpt = None,
    max_layers: MaxLayersOpt = DEFAULT_MAX_LAYERS,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
    output: OutputOpt = None,
) -> None:
    """Per-layer table and totals of every model in the SPEC files."""
    from .cost import analyze
    from .render import renderer, wants_explanations

    name = chosen_format(fmt, as_json, output)
    target = output_target(output, specs)
    settings = run_settings(dtype, batch, device, peak_tflops, bandwidth_gbs)
    files = read_files(specs, max_layers, max_bytes)
    models = models_of(files, input_)
    reports = [analyze(m, settings) for m in models]
    explanations = groups = None
    if wants_explanations(name):
        from .explain import explain_model

        explanations = [explain_model(m, r, handout=True) for m, r in zip(models, reports)]
    if depth is not None:
        from .groups import group_rows

        groups = [group_rows(r, depth) for r in reports]
    color = target.to_stdout and color_wanted()
    deliver(renderer(name, "report")(reports, exact=exact, color=color, files=files, explanations=explanations,
                                     depth=depth, groups=groups, **view_options(target, wide)), target)


LayerOpt = Annotated[Optional[str], typer.Option("--layer", "-l", metavar="NAME",
                                                 help="Explain only this layer: its full path (blk/b1/conv1) or the "
                                                      "end of one path (conv1).")]


@app.command()
def explain(
    specs: SpecArgs,
    layer: LayerOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    exact: ExactOpt = False,
    dtype: DtypeOpt = Dtype.fp32,
    batch: BatchOpt = 1,
    input_: InputOpt = None,
    device: DeviceOpt = None,
    peak_tflops: PeakOpt = None,
    bandwidth_gbs: BandwidthOpt = None,
    max_layers: MaxLayersOpt = DEFAULT_MAX_LAYERS,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
    output: OutputOpt = None,
) -> None:
    """How each layer's output shape, costs, bytes and receptive field follow from its inputs, step by step."""
    from .cost import analyze
    from .explain import explain_model
    from .render import renderer

    name = chosen_format(fmt, as_json, output)
    target = output_target(output, specs)
    settings = run_settings(dtype, batch, device, peak_tflops, bandwidth_gbs)
    files = read_files(specs, max_layers, max_bytes)
    models = models_of(files, input_)
    layers = sum(len(m.nodes) for m in models)
    if layer is None and layers > MAX_EXPLAINED:
        fail(f"convcost: error: explain derives at most {MAX_EXPLAINED:,} layers in one run, and these specs have "
             f"{layers:,}; pick one with --layer NAME, or use convcost report for the counts", 2)
    only = None
    if layer is not None:
        from .errors import did_you_mean
        from .explain import layer_matches

        names = [n.name for m in models for n in m.nodes]
        found = layer_matches(names, layer)
        if len(found) > 1:
            shown = ", ".join(f"'{n}'" for n in found[:10]) + (f" and {len(found) - 10} more" if len(found) > 10 else "")
            fail(f"convcost: error: '{inert(layer)}' ends {len(found)} layer paths: {inert(shown)}; give the full path",
                 2)
        if not found:
            examples = ", ".join(f"'{n}'" for n in list(dict.fromkeys(names))[:3])
            hint = did_you_mean(layer, list(dict.fromkeys(names))) or (
                f"; layers are named by their full path, e.g. {examples}" if names else "; the spec has no layers")
            files = ", ".join(inert(s) for s in dict.fromkeys(specs))
            fail(f"convcost: error: no layer named '{inert(layer)}' in {files}{inert(hint)}", 2)
        only = found[0]
        models = [m for m in models if any(n.name == only for n in m.nodes)]
    explanations = [explain_model(m, analyze(m, settings), only) for m in models]
    color = target.to_stdout and color_wanted()
    deliver(renderer(name, "explain")(explanations, color=color, files=files, exact=exact, **view_options(target)),
            target)


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
    depth: DepthOpt = None,
    wide: WideOpt = False,
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
    dtype: DtypeOpt = Dtype.fp32,
    batch: BatchOpt = 1,
    input_: InputOpt = None,
    device: DeviceOpt = None,
    peak_tflops: PeakOpt = None,
    bandwidth_gbs: BandwidthOpt = None,
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
    from .render import renderer, wants_explanations

    name = chosen_format(fmt, as_json, output)
    target = output_target(output, specs)
    settings = run_settings(dtype, batch, device, peak_tflops, bandwidth_gbs)
    files = read_files(specs, max_layers, max_bytes)
    models = models_of(files, input_)
    chosen = [key for key, wanted in (("remove_bottlenecks", without_bottlenecks),
                                      ("add_bottlenecks", with_bottlenecks or reduce is not None or reduce_to is not None),
                                      ("standard_conv", standard_conv), ("fc_head", fc_head)) if wanted]
    try:
        comparison = compare_models(models, chosen or None, reduce=reduce or DEFAULT_REDUCE, reduce_to=reduce_to,
                                    settings=settings, depth=depth)
    except SpecError as exc:
        fail("\n".join(str(p) for p in exc.problems), 1)
    explanations = None
    if wants_explanations(name):
        from .explain import explain_model

        explanations = [explain_model(e.model, e.report, handout=True) for e in comparison.entries
                        if e.model is not None]
    color = target.to_stdout and color_wanted()
    deliver(renderer(name, "compare")(comparison, exact=exact, by_layer=by_layer, color=color, files=files,
                                      explanations=explanations, depth=depth, **view_options(target, wide)), target)


@app.command()
def sweep(
    specs: SpecArgs,
    sizes: Annotated[str, typer.Option("--sizes", metavar="N|HxW,...", show_default=False,
                                       help="Input sizes, comma-separated: N for NxN or HxW (e.g. 160,224,320).")],
    batches: Annotated[str, typer.Option("--batches", metavar="N,...", help="Batch sizes, comma-separated.")] = "1",
    dtypes: Annotated[str, typer.Option("--dtypes", metavar="DTYPE,...",
                                        help="Precisions, comma-separated: fp32, fp16, bf16, int8.")] = "fp32",
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    exact: ExactOpt = False,
    device: DeviceOpt = None,
    peak_tflops: PeakOpt = None,
    bandwidth_gbs: BandwidthOpt = None,
    max_layers: MaxLayersOpt = DEFAULT_MAX_LAYERS,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
    output: OutputOpt = None,
) -> None:
    """The totals of every model at several input sizes, batches and precisions: one row per combination."""
    from .errors import SpecError
    from .render import renderer
    from .settings import parse_batches, parse_dtypes, parse_sizes
    from .sweep import sweep as run_sweep

    name = chosen_format(fmt, as_json, output)
    target = output_target(output, specs)
    try:
        size_list, batch_list, dtype_list = parse_sizes(sizes), parse_batches(batches), parse_dtypes(dtypes)
    except ValueError as exc:
        fail(f"convcost: error: {exc}", 2)
    machines = {d: run_settings(Dtype(d), 1, device, peak_tflops, bandwidth_gbs) for d in dtype_list}
    files = read_files(specs, max_layers, max_bytes)
    try:
        result = run_sweep(models_of(files), size_list, batch_list, dtype_list,
                           lambda d, b: replace(machines[d], batch=b))
    except SpecError as exc:
        fail("\n".join(str(p) for p in exc.problems[:20]), 1)
    color = target.to_stdout and color_wanted()
    deliver(renderer(name, "sweep")(result, exact=exact, color=color, files=files, **view_options(target)), target)


@app.command()
def devices(
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """The bundled devices for --device: peak TFLOP/s per precision and memory bandwidth, with sources."""
    from .devices import load_devices
    from .render import renderer

    name = chosen_format(fmt, as_json, output)
    target = output_target(output, [])
    color = target.to_stdout and color_wanted()
    deliver(renderer(name, "devices")(list(load_devices().values()), color=color, **view_options(target)), target)


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
    checks = [verify_model(m) for m in models_of(read_files(specs, max_layers, max_bytes))]
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
    files = read_files(specs, max_layers, max_bytes)
    if verbose:
        lines = []
        for f in files:
            n, k = len(f.models), sum(len(m.nodes) for m in f.models)
            lines.append(f"{f.path}: ok ({n} model{'s' * (n != 1)}, {k:,} layer{'s' * (k != 1)})\n")
        emit("".join(lines))


@app.command("import")
def import_onnx(
    model: Annotated[str, typer.Argument(metavar="MODEL.onnx", help="An ONNX model (needs the onnx extra).",
                                         show_default=False)],
    max_layers: MaxLayersOpt = DEFAULT_MAX_LAYERS,
    output: OutputOpt = None,
) -> None:
    """Write the spec of an ONNX model, one line per layer; every command also reads .onnx files directly."""
    from .errors import SpecError
    from .onnx_import import import_onnx as read_model
    from .spec import SourceError

    target = output_target(output, [model])  # checked first: never overwrite the model itself
    try:
        imported = read_model(model, max_layers=max_layers)
    except SourceError as exc:
        fail(f"convcost: error: {exc}", 2)
    except SpecError as exc:
        fail("\n".join([*(str(p) for p in exc.problems), *exc.notes]), 1)
    deliver(imported.text, target)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec format, for editors that validate and complete YAML."""
    import json

    from .schema import spec_schema

    emit(json.dumps(spec_schema(), indent=2) + "\n")


def runnable(args: list[str]) -> typer.Typer:
    """The app with only the command the arguments name, when they name one: typer builds the options
    of every command it holds before it runs one, a few milliseconds each. `convcost --help` and
    unknown commands get the whole app."""
    name = next((a for a in args if not a.startswith("-")), None)
    chosen = [c for c in app.registered_commands if (c.name or c.callback.__name__) == name]
    if not chosen or name is None or args.index(name) != 0:
        return app
    one = typer.Typer(**app_settings)
    one.registered_callback = app.registered_callback
    one.registered_commands = chosen
    return one


def main() -> None:
    """Entry point: run the app; an unexpected failure is one line on stderr, never a traceback."""
    # A spec becomes many small acyclic objects; the cyclic collector would rescan them again and
    # again (three quarters of the time on a 100,000-layer spec) and find nothing to free.
    gc.disable()
    try:
        runnable(sys.argv[1:])()
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

"""Terminal tables with rich: one per model, human numbers (or exact with exact=True)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..cost import ModelReport
from ..text import inert, inert_lines
from .common import signed as _signed, type_label as _type_label
from .numbers import exact as exact_number, human, percent, ratio_phrase, summary_sentence

BAR_WIDTH = 10
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(part: int, whole: int, width: int = BAR_WIDTH) -> str:
    """A bar of block characters, part/whole of `width` cells, to eighths of a cell; padded to width."""
    eighths = round(8 * width * part / whole) if whole > 0 else 0
    full, rest = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[rest] if rest else "")).ljust(width)

# Without a terminal there is no width to fit: let tables take what they need.
PIPE_WIDTH = 1000


def new_console(color: bool, width: int | None) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, color_system="auto" if color else None,
                      width=width or PIPE_WIDTH, highlight=False, emoji=False, markup=False)
    return console, buf


def model_table(report: ModelReport, exact: bool = False) -> Table:
    fmt = exact_number if exact else human
    title = Text(inert(report.name), style="bold")
    caption = f"input {report.input} -> output {report.output}"
    if report.description:
        caption = f"{inert_lines(report.description)}\n{caption}"
    table = Table(title=title, caption=caption, show_footer=True, title_justify="left", caption_justify="left")
    total = report.totals
    table.add_column("layer", footer="total")
    table.add_column("type")
    table.add_column("role")
    table.add_column("output", justify="right", footer=str(report.output))
    table.add_column("receptive field", justify="right")
    table.add_column("params", justify="right", footer=fmt(total.params))
    table.add_column("MACs (multiply-adds)", justify="right", footer=fmt(total.macs))
    table.add_column("FLOPs", justify="right", footer=fmt(total.flops))
    # The share of MACs with a bar, so the eye finds where the cost sits.
    table.add_column("% MACs", justify="left", footer=f"{percent(total.macs, total.macs):>6}")
    for row in report.layers:
        c = row.cost
        field = str(row.receptive_field) if row.receptive_field is not None else ""
        table.add_row(Text(inert(row.name)), row.type, row.role or "", str(row.output), field, fmt(c.params),
                      fmt(c.macs), fmt(c.flops), f"{percent(c.macs, total.macs):>6} {bar(c.macs, total.macs)}")
    return table


def render_report(reports: list[ModelReport], *, exact: bool = False, color: bool = False,
                  width: int | None = None, **_options) -> str:
    console, buf = new_console(color, width)
    for i, report in enumerate(reports):
        if i:
            console.print()
        console.print(model_table(report, exact))
    return strip_lines(buf.getvalue())


def totals_table(comparison, fmt) -> Table:
    """Rows: output and each cost; one column per model, then a ratio column per non-baseline model."""
    base = comparison.baseline
    others = comparison.entries[1:]
    title = Text(inert(" vs ".join([f"{base.name} (baseline)"] + [e.name for e in others])), style="bold")
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column(inert(base.name), justify="right")
    for e in others:
        table.add_column(inert(e.name), justify="right")
        table.add_column(inert(f"vs {base.name}"))
    keys = [("params", "params"), ("macs", "MACs (multiply-adds)"), ("flops", "FLOPs"), ("activations", "activations")]
    if any(e.totals.buffers for e in comparison.entries):
        keys.insert(1, ("buffers", "buffers"))
    table.add_row("output", str(base.report.output),
                  *[cell for e in others for cell in (str(e.report.output), "")])
    for key, label in keys:
        cells = [fmt(getattr(base.totals, key))]
        for e in others:
            cells += [fmt(getattr(e.totals, key)), ratio_phrase(getattr(e.ratio, key))]
        table.add_row(label, *cells)
    return table


def by_layer_table(comparison, fmt) -> Table:
    """One row per layer name, its params and MACs in each model, and the change in MACs from the baseline."""
    entries = comparison.entries
    table = Table(title=Text("by layer", style="bold"), title_justify="left", show_footer=True)
    table.add_column("layer", footer="total")
    table.add_column("type")
    for e in entries:
        table.add_column(f"{inert(e.name)}\nparams", justify="right", footer=fmt(e.totals.params))
        table.add_column(f"{inert(e.name)}\nMACs (multiply-adds)", justify="right", footer=fmt(e.totals.macs))
    for e in entries[1:]:
        table.add_column(f"{inert(e.name)}\nchange in MACs", justify="right",
                         footer=_signed(e.totals.macs - entries[0].totals.macs, fmt))
    table.add_column("only in")
    for match in comparison.layers:
        cells = [Text(inert(match.name)), _type_label(match.rows)]
        for row in match.rows:
            cells += ["-", "-"] if row is None else [fmt(row.cost.params), fmt(row.cost.macs)]
        base_macs = match.rows[0].cost.macs if match.rows[0] else 0
        for row in match.rows[1:]:
            cells.append(_signed((row.cost.macs if row else 0) - base_macs, fmt))
        present = [e.name for e, row in zip(entries, match.rows) if row is not None]
        cells.append("" if len(present) == len(entries) else inert(", ".join(present)))
        table.add_row(*cells)
    return table


def render_compare(comparison, *, exact: bool = False, color: bool = False, width: int | None = None,
                   by_layer: bool = False, **_options) -> str:
    """The totals side by side, a one-line summary per model, notes, and with by_layer the layers aligned."""
    fmt = exact_number if exact else human
    console, buf = new_console(color, width)
    console.print(totals_table(comparison, fmt))
    for e in comparison.entries[1:]:
        console.print(inert(summary_sentence(e, comparison.baseline, fmt)), soft_wrap=True)
    for note in comparison.notes:
        console.print(f"note: {inert(note)}", soft_wrap=True)
    if by_layer:
        console.print()
        console.print(by_layer_table(comparison, fmt))
    return strip_lines(buf.getvalue())


def strip_lines(text: str) -> str:
    # rich pads titles and captions to the table's width.
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def render_explain(explanations, *, color: bool = False, width: int | None = None, **_options) -> str:
    """Each layer's derivation as indented text: summary, shapes, equations, notes."""
    from .common import equation, shapes_line

    console, buf = new_console(color, width)
    for i, expl in enumerate(explanations):
        report = expl.report
        if i:
            console.print()
        console.print(Text(inert(report.name), style="bold underline"))
        if report.description:
            console.print(Text(inert_lines(report.description)))
        console.print(f"input {report.input} -> output {report.output}")
        for layer in expl.layers:
            row = layer.row
            console.print()
            console.print(Text.assemble((inert(row.name), "bold"), f" ({row.type}): {layer.summary}"))
            console.print(f"  {shapes_line(row)}")
            for step in layer.steps:
                console.print(f"  {equation(step)}", soft_wrap=True)
            for note in layer.notes:
                console.print(Text(f"  note: {note}", style="italic"), soft_wrap=True)
    return strip_lines(buf.getvalue())

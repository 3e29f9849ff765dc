"""Terminal tables with rich: one per model, human numbers (or exact with exact=True)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..cost import ModelReport
from .numbers import exact as exact_number, human, percent

# Without a terminal there is no width to fit: let tables take what they need.
PIPE_WIDTH = 1000


def new_console(color: bool, width: int | None) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, color_system="auto" if color else None,
                      width=width or PIPE_WIDTH, highlight=False, emoji=False, markup=False)
    return console, buf


def model_table(report: ModelReport, exact: bool = False) -> Table:
    fmt = exact_number if exact else human
    title = Text(report.name, style="bold")
    caption = f"input {report.input} -> output {report.output}"
    if report.description:
        caption = f"{report.description}\n{caption}"
    table = Table(title=title, caption=caption, show_footer=True, title_justify="left", caption_justify="left")
    total = report.totals
    table.add_column("layer", footer="total")
    table.add_column("type")
    table.add_column("role")
    table.add_column("output", justify="right", footer=str(report.output))
    table.add_column("params", justify="right", footer=fmt(total.params))
    table.add_column("MACs (multiply-adds)", justify="right", footer=fmt(total.macs))
    table.add_column("FLOPs", justify="right", footer=fmt(total.flops))
    table.add_column("% MACs", justify="right", footer=percent(total.macs, total.macs))
    for row in report.layers:
        c = row.cost
        table.add_row(Text(row.name), row.type, row.role or "", str(row.output), fmt(c.params),
                      fmt(c.macs), fmt(c.flops), percent(c.macs, total.macs))
    return table


def render_report(reports: list[ModelReport], *, exact: bool = False, color: bool = False,
                  width: int | None = None, **_options) -> str:
    console, buf = new_console(color, width)
    for i, report in enumerate(reports):
        if i:
            console.print()
        console.print(model_table(report, exact))
    return strip_lines(buf.getvalue())


def strip_lines(text: str) -> str:
    # rich pads titles and captions to the table's width.
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"

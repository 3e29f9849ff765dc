"""Terminal tables: laid out to fit the terminal (render/layout.py), coloured with rich on a terminal.

Every renderer here takes `width` (None: no limit, the whole table) and `ascii_only` (box and bar
characters that an ASCII-only output can carry).
"""

from __future__ import annotations

from typing import Sequence

from ..cost import ModelReport
from ..text import inert
from .common import (MACS_HEADER, Numbers, by_layer_cells, by_layer_notes, compare_cells, compare_title,
                     layer_cells, layer_columns, peak_line, settings_line, shapes_line, summary_lines)
from .layout import ASCII, UNICODE, Col, Laid, cell_len, lay_out, wrap
from .numbers import exact as exact_number, human, percent

BAR_WIDTH = 10
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(part: int, whole: int, width: int = BAR_WIDTH, ascii_only: bool = False) -> str:
    """A bar of block characters, part/whole of `width` cells, to eighths of a cell; padded to width."""
    if ascii_only:
        return ("#" * round(width * part / whole) if whole > 0 else "").ljust(width)
    eighths = round(8 * width * part / whole) if whole > 0 else 0
    full, rest = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[rest] if rest else "")).ljust(width)


STYLES = {"title": "bold", "head": "bold", "total": "bold", "group": "", "row": "", "rule": "", "caption": "",
          "note": "italic", "heading": "bold underline"}


def styled(lines: Sequence[tuple[str, str]], color: bool) -> str:
    """The lines as text, every control character a spec could bring in escaped (a name with ESC [2J
    must not clear the reader's screen); on a colour terminal through rich, with the style of each
    kind of line."""
    lines = [(inert(text), kind) for text, kind in lines]
    if not color:
        return "".join(f"{text}\n" for text, _ in lines)
    import io

    from rich.console import Console
    from rich.text import Text

    text = Text()
    for line, kind in lines:
        text.append(line + "\n", STYLES.get(kind) or None)
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="auto", width=10**6, highlight=False,
                      emoji=False, markup=False, soft_wrap=True)
    console.print(text, end="")
    return buf.getvalue()


def left_out(laid: Laid, width: int | None) -> tuple[str, ...]:
    """The caption line that says what a narrow terminal left out."""
    parts = []
    if laid.dropped:
        parts.append(f"left out to fit {width} columns: {', '.join(laid.dropped)}")
    if laid.shortened:
        parts.append("long layer paths shortened in the middle" if not parts else "paths shortened")
    return (f"({'; '.join(parts)}; --wide shows everything)",) if parts else ()


def model_table(report: ModelReport, exact: bool, width: int | None, depth: int | None, ascii_only: bool,
                columns=None, rows=None) -> tuple[tuple[str, str], ...]:
    """One model's table; `rows` are its groups when --depth is given (else its layers)."""
    columns = columns or layer_columns([report])
    body, foot = layer_cells(report, exact, columns, rows)
    share = next((i for i, c in enumerate(columns) if c.key == "share"), None)
    if share is not None:  # the share of MACs with a bar, so the eye finds where the cost sits
        whole = report.totals.macs
        for cells, row in zip(body, report.layers if rows is None else rows):
            cells[share] = f"{percent(row.cost.macs, whole):>6} {bar(row.cost.macs, whole, ascii_only=ascii_only)}"
        foot[share] = f"{foot[share]:>6} {' ' * BAR_WIDTH}"
    cols = [Col(c.header, c.short, "left" if c.key == "share" else c.align, c.drop, name=c.key == "layer")
            for c in columns]
    caption = [c for c in (report.description, f"input {report.input} -> output {report.output}; "
                           f"{settings_line(report)}", peak_line(report, exact)) if c]
    if report.time is not None:
        caption.append(f"estimated time {Numbers(exact).time(report.time)} on the roofline")
    if depth is not None:
        caption.append(f"rows grouped by the first {depth} level{'s' if depth > 1 else ''} of the layer paths; "
                       "they add up to the totals")
    laid = lay_out(cols, body, foot, width=width, title=report.name, caption=tuple(caption),
                   box=ASCII if ascii_only else UNICODE, row_styles=None)
    return laid.lines + tuple((line, "caption") for c in left_out(laid, width) for line in wrap(c, width))


def render_report(reports: list[ModelReport], *, exact: bool = False, color: bool = False, width: int | None = None,
                  depth: int | None = None, groups=None, ascii_only: bool = False, **_options) -> str:
    lines: list[tuple[str, str]] = []
    columns = layer_columns(reports)
    for i, report in enumerate(reports):
        if i:
            lines.append(("", "row"))
        lines.extend(model_table(report, exact, width, depth, ascii_only, columns,
                                 None if groups is None else groups[i]))
    return styled(lines, color)


def render_compare(comparison, *, exact: bool = False, color: bool = False, width: int | None = None,
                   by_layer: bool = False, ascii_only: bool = False, **_options) -> str:
    """The totals side by side, a one-line summary per model, notes, and with by_layer the layers aligned."""
    box = ASCII if ascii_only else UNICODE
    headers, aligns, rows = compare_cells(comparison, exact)
    # Model names head the columns; a narrow terminal calls them A, B, C... (said under the table).
    letters = {e.name: model_letter(i) for i, e in enumerate(comparison.entries)}
    legend = "; ".join(f"{model_letter(i)} = {e.name}" for i, e in enumerate(comparison.entries))
    cols = []
    for i, (h, a) in enumerate(zip(headers, aligns)):
        ratio_column = i > 1 and i % 2 == 1  # the summary lines under the table say the ratios too
        short = f"vs {letters.get(h[3:], h[3:])}" if ratio_column else letters.get(h, h) if i else h
        cols.append(Col(h, short, a, drop=100 - i if ratio_column else 0))
    laid = lay_out(cols, rows, None, width=width, title=compare_title(comparison), box=box)
    lines = list(laid.lines) + [(line, "caption") for c in left_out(laid, width) for line in wrap(c, width)]
    if laid.short_headers:
        lines += [(line, "caption") for line in wrap(legend, width)]
    fmt = exact_number if exact else human
    lines += [(line, "row") for s in summary_lines(comparison, fmt) for line in wrap(s, width)]
    lines += [(line, "note") for note in comparison.notes for line in wrap(f"note: {note}", width)]
    if by_layer:
        lines.append(("", "row"))
        heads, aligns, body, foot = by_layer_cells(comparison, exact)
        short = {MACS_HEADER: "MACs", "change in MACs": "change"}
        entries = len(comparison.entries)
        by_cols = []
        for i, ((model, label), align) in enumerate(zip(heads, aligns)):
            header = f"{model} {label}" if model else label
            drop = 0
            if label == "params":
                drop = 50 + i
            elif label == "type":
                drop = 40
            elif label == "only in":
                drop = 45
            elif label == "change in MACs" and entries > 2:
                drop = 30 + i
            by_cols.append(Col(header, f"{letters[model]} {short.get(label, label)}" if model else label, align, drop,
                               name=label == "layer"))
        laid = lay_out(by_cols, body, foot, width=width, title="by layer", box=box)
        lines += list(laid.lines) + [(line, "caption") for c in left_out(laid, width) for line in wrap(c, width)]
        if laid.short_headers:
            lines += [(line, "caption") for line in wrap(legend, width)]
        lines += [(line, "note") for note in by_layer_notes(comparison) for line in wrap(note, width)]
    return styled(lines, color)


def model_letter(i: int) -> str:
    """A, B, ... Z, then A2, B2...: short names for models heading the columns of a narrow table."""
    return chr(ord("A") + i % 26) + (str(i // 26 + 1) if i >= 26 else "")


def render_explain(explanations, *, color: bool = False, width: int | None = None, exact: bool = False,
                   **_options) -> str:
    """Each layer's derivation as indented text: summary, shapes, equations, notes; then the model's
    totals as sums of its layers and where its activation memory peaks. With a width, long lines
    wrap between words (an equation before an '='), their continuation lines indented."""
    lines: list[tuple[str, str]] = []

    def add(text: str, kind: str, indent: str = "    ") -> None:
        lines.extend((line, kind) for line in wrap_words(text, width, indent))

    def note(text: str) -> None:
        add(f"  note: {text}", "note", " " * 8)

    def step(s) -> None:
        lines.extend((line, "row") for line in equation_lines(s.parts(exact_number), width))

    for i, expl in enumerate(explanations):
        report = expl.report
        if i:
            lines.append(("", "row"))
        lines.append((report.name, "heading"))
        if report.description:
            add(report.description, "row", "  ")
        add(f"input {report.input} -> output {report.output}; {settings_line(report)}", "row", "  ")
        for layer in expl.layers:
            row = layer.row
            lines.append(("", "row"))
            add(f"{row.name} ({row.type}): {layer.summary}", "title")
            add(f"  {shapes_line(row)}", "row")
            for s in layer.steps:
                step(s)
            for text in layer.notes:
                note(text)
        lines.append(("", "row"))
        lines.append((f"{report.name}: totals", "title"))
        for s in expl.totals:
            step(s)
        for text in expl.total_notes:
            note(text)
    return styled(lines, color)


def wrap_words(text: str, width: int | None, indent: str) -> list[str]:
    """`text` as lines of at most `width` cells, broken between words only (a longer word stands
    alone on its line); continuation lines start with `indent`."""
    if width is None or cell_len(text) <= width:
        return [text]
    from textwrap import wrap as text_wrap

    body = text.lstrip(" ")
    return text_wrap(body, width=max(width, 40), initial_indent=text[:len(text) - len(body)],
                     subsequent_indent=indent, break_long_words=False, break_on_hyphens=False) or [text]


def equation_lines(parts: tuple[str, ...], width: int | None) -> list[str]:
    """'  MACs = formula = numbers = value', continued before an '=' (indented) where it is too long."""
    text = "  " + " = ".join(parts)
    if width is None or cell_len(text) <= width:
        return [text]
    lines = ["  " + parts[0]]
    for part in parts[1:]:
        if cell_len(f"{lines[-1]} = {part}") <= width:
            lines[-1] += f" = {part}"
        else:
            lines += wrap_words(f"      = {part}", width, " " * 8)
    return lines


def render_sweep(result, *, exact: bool = False, color: bool = False, width: int | None = None,
                 ascii_only: bool = False, **_options) -> str:
    """One row per model, size, batch and dtype with its totals."""
    from .common import sweep_cells

    heads, aligns, rows = sweep_cells(result, exact)
    drops = {"weight bytes": 8, "write bytes": 7, "read bytes": 6, "FLOPs": 5, "activations": 4, "params": 3,
             "FLOPs/byte": 9, "bound": 2}
    cols = [Col(h, {MACS_HEADER: "MACs", "peak activation bytes": "peak"}.get(h, h), a, drops.get(h, 0))
            for h, a in zip(heads, aligns)]
    laid = lay_out(cols, rows, None, width=width, title="sweep", box=ASCII if ascii_only else UNICODE)
    return styled(list(laid.lines) + [(line, "caption") for c in left_out(laid, width) for line in wrap(c, width)],
                  color)


def render_devices(devices, *, color: bool = False, width: int | None = None, ascii_only: bool = False,
                   **_options) -> str:
    """The bundled devices: peaks per precision and bandwidth; sources are in devices.toml and the docs."""
    from .common import device_cells

    heads, aligns, rows = device_cells(devices)
    cols = [Col(h, h, a, drop=(10 if h == "kind" else 0)) for h, a in zip(heads, aligns)]
    laid = lay_out(cols, rows, None, width=width, title="devices for --device (TFLOP/s; int8: TOPS)",
                   caption=("sources: every figure cites its datasheet in conv_cost/devices.toml "
                            "(docs/memory.md lists them)",), box=ASCII if ascii_only else UNICODE)
    return styled(list(laid.lines) + [(line, "caption") for c in left_out(laid, width) for line in wrap(c, width)],
                  color)

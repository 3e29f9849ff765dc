"""Terminal tables laid out to fit a width: which columns stay, how long names shorten, the box.

The rule when a table is wider than the terminal, in this order (docs/terminal.md):
1. headers take their short forms ("MACs (multiply-adds)" -> "MACs");
2. layer paths longer than NAME_CAP are shortened in the middle ("layer2/…/conv2");
3. columns are dropped, those with the highest `drop` first (0: never dropped);
4. the name column narrows further, down to NAME_MIN characters.
What was left out is said in a line under the table, with `--wide` to show everything. Without a
width (output to a file or a pipe, `COLUMNS` unset, or `--wide`) every column is shown in full.

Lines come out as plain text plus, per line, the style of each cell span, so the terminal
renderer can colour them (rich) and the plain one just joins them: the layout is done once, in
linear time, whatever the number of rows.
"""

from __future__ import annotations

from ..records import record


NAME_CAP = 40  # a longer layer path is shortened in the middle once the table must narrow
NAME_MIN = 12
ELLIPSIS = "…"


@record
class Col:
    """One column as laid out: headers (full and short), alignment, and its drop rank (0: kept)."""

    header: str
    short: str
    align: str  # "left" or "right"
    drop: int = 0
    name: bool = False  # the layer-name column, which may be shortened


@record
class Box:
    """The characters of a table: a heavy head over a light body, as rich's HEAVY_HEAD; or ASCII."""

    top: str
    head_sep: str
    head_cross: str
    mid: str
    bottom: str
    head_side: str
    side: str


UNICODE = Box("┏━┳┓", "┡━╇┩", "┃", "├─┼┤", "└─┴┘", "┃", "│")
ASCII = Box("+-++", "+=++", "|", "+-++", "+-++", "|", "|")


@record
class Laid:
    """A table laid out: its lines, each with its style ('title', 'head', 'row', 'group', 'total',
    'rule' or 'note'), and what was left out to make it fit."""

    lines: tuple[tuple[str, str], ...]
    dropped: tuple[str, ...]
    shortened: bool
    short_headers: bool = False


def shorten(name: str, width: int) -> str:
    """A path cut in the middle to `width` characters, keeping its head and its last part."""
    if cell_len(name) <= width:
        return name
    if not name.isascii():  # wide characters: cut by cells from the end, simply
        out = ""
        for c in reversed(name):
            if cell_len(out + c) > width - 1:
                break
            out = c + out
        return ELLIPSIS + out
    if width <= 1:
        return name[:width]
    tail = name.rsplit("/", 1)[-1]
    keep_tail = min(len(tail), max(width // 2, width - 1 - name.find("/") if "/" in name else width // 2))
    head = width - 1 - keep_tail
    if head < 1:
        return ELLIPSIS + name[-(width - 1):]
    return name[:head] + ELLIPSIS + name[-keep_tail:]


def lay_out(cols: list[Col], rows: list[list[str]], foot: list[str] | None, *, width: int | None,
            title: str = "", caption: tuple[str, ...] = (), box: Box = UNICODE,
            row_styles: list[str] | None = None) -> Laid:
    """Fit `rows` (lists of cell text, one per column) to `width` columns of terminal (None: no limit)."""
    keep = list(range(len(cols)))
    headers = [c.header for c in cols]
    widths = _widths(headers, rows, foot, len(cols))
    name_width: int | None = None
    dropped: list[str] = []
    shortened = False

    def total(indices: list[int]) -> int:
        return sum(widths[i] for i in indices) + 3 * len(indices) + 1

    if width is not None and total(keep) > width:
        headers = [c.short for c in cols]
        widths = _widths(headers, rows, foot, len(cols))
        names = [i for i, c in enumerate(cols) if c.name]
        for i in names:
            if widths[i] > NAME_CAP:
                widths[i] = max(NAME_CAP, len(headers[i]))
                name_width, shortened = widths[i], True
        for i in sorted((i for i, c in enumerate(cols) if c.drop), key=lambda i: -cols[i].drop):
            if total(keep) <= width:
                break
            keep.remove(i)
            dropped.append(cols[i].header)
        excess = total(keep) - width
        if excess > 0 and names:
            i = names[0]
            widths[i] = max(NAME_MIN, len(headers[i]), widths[i] - excess)
            name_width, shortened = widths[i], True
    if name_width is not None:
        for i, c in enumerate(cols):
            if c.name:
                rows = [[shorten(r[i], name_width) if j == i else r[j] for j in range(len(r))] for r in rows]
                if foot is not None:
                    foot = [shorten(f, name_width) if j == i else f for j, f in enumerate(foot)]
    shown = [cols[i] for i in keep]
    w = [widths[i] for i in keep]
    lines: list[tuple[str, str]] = []
    if title:
        lines.append((title, "title"))
    lines.append((_rule(box.top, w), "rule"))
    lines.append((_line([headers[i] for i in keep], shown, w, box.head_side), "head"))
    lines.append((_rule(box.head_sep, w), "rule"))
    styles = row_styles or ["row"] * len(rows)
    side = box.side
    for r, style in zip(rows, styles):
        lines.append((_line([r[i] for i in keep], shown, w, side), style))
    if foot is not None:
        lines.append((_rule(box.mid, w), "rule"))
        lines.append((_line([foot[i] for i in keep], shown, w, side), "total"))
    lines.append((_rule(box.bottom, w), "rule"))
    lines.extend((line, "caption") for c in caption for line in wrap(c, width))
    if title and width is not None and cell_len(title) > width:
        lines[0] = (shorten(title, width), "title")
    return Laid(tuple(lines), tuple(dropped), shortened, headers != [c.header for c in cols])


def wrap(text: str, width: int | None, indent: str = "  ") -> list[str]:
    """A caption or note as lines of at most `width` cells (continuation lines indented); one line without a width."""
    if width is None or cell_len(text) <= width:
        return [text]
    import textwrap

    return textwrap.wrap(text, width=max(width, 20), subsequent_indent=indent, break_long_words=True,
                         break_on_hyphens=False) or [text]


def cell_len(text: str) -> int:
    """Terminal cells a text takes: 2 for wide (East Asian) characters, 1 for the others."""
    if text.isascii():
        return len(text)
    from unicodedata import east_asian_width

    return sum(2 if east_asian_width(c) in "WF" else 1 for c in text)


def _widths(headers: list[str], rows: list[list[str]], foot: list[str] | None, n: int) -> list[int]:
    widths = [cell_len(h) for h in headers]
    for r in rows:
        for i in range(n):
            size = cell_len(r[i])
            if size > widths[i]:
                widths[i] = size
    if foot is not None:
        for i in range(n):
            widths[i] = max(widths[i], cell_len(foot[i]))
    return widths


def _rule(chars: str, widths: list[int]) -> str:
    left, fill, cross, right = chars
    return left + cross.join(fill * (w + 2) for w in widths) + right


def _line(cells: list[str], cols: list[Col], widths: list[int], side: str) -> str:
    parts = []
    for c, col, w in zip(cells, cols, widths):
        pad = " " * (w - cell_len(c))
        parts.append(pad + c if col.align == "right" else c + pad)
    return side + " " + f" {side} ".join(parts) + " " + side

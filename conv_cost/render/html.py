"""A printable handout: one self-contained HTML file (inline CSS and SVG, no JavaScript, A4).

The formulas section formats explanations computed before rendering (WANTS_EXPLANATIONS).

Built from small helpers (page shell, tables, bar charts, spec listing) shared by the report,
the comparison and the derivation pages, so all three have the same look.
"""

from __future__ import annotations

import re
from html import escape
from itertools import accumulate
from typing import Iterable, Sequence

from ..cost import ModelReport
from ..explain import HANDOUT_LAYERS, LayerExplanation, ModelExplanation
from ..text import inert_lines
from .common import (MACS_HEADER, by_layer_cells, by_layer_notes, compare_cells, compare_keys, compare_title, in_out,
                     layer_cells, layer_columns, number_format, peak_line, settings_line, shapes_line, summary_lines,
                     total_value, totals_text)
from .numbers import exact, human, percent, ratio_phrase, seconds

WANTS_EXPLANATIONS = True  # the command computes the derivations this format prints

CSS = """
@page { size: A4; margin: 14mm 13mm 16mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #fff; color: #1b1f24; font: 10.5pt/1.45 "DejaVu Sans", "Helvetica Neue",
       Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 36px 44px 48px; }
h1 { font-size: 21pt; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 14.5pt; margin: 26px 0 6px; padding-bottom: 3px; border-bottom: 2px solid #2f5d8a; }
h3 { font-size: 11.5pt; margin: 18px 0 6px; color: #2f5d8a; }
h4 { font-size: 10pt; margin: 12px 0 2px; }
p { margin: 4px 0; }
code, pre, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em; }
.lead { font-size: 12pt; color: #333; }
.meta, .io, .muted { color: #5b6470; }
.totals { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0 12px; padding: 0; }
.totals div { border: 1px solid #c9d3de; border-radius: 4px; padding: 5px 10px; background: #f3f6f9; }
.totals dt { font-size: 8pt; color: #5b6470; text-transform: uppercase; letter-spacing: 0.04em; }
.totals dd { margin: 0; font-weight: bold; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; font-size: 8.8pt; }
th, td { padding: 3px 6px; border-bottom: 1px solid #dde3ea; vertical-align: top; }
thead th { background: #2f5d8a; color: #fff; text-align: left; font-weight: bold; border-bottom: 0; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
tbody tr:nth-child(even) { background: #f5f7fa; }
tfoot td { font-weight: bold; border-top: 2px solid #2f5d8a; border-bottom: 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { overflow-wrap: break-word; }
th.num { white-space: normal; }
.share { display: inline-block; width: 44px; height: 8px; margin-right: 5px; background: #e4e9ef;
         vertical-align: middle; }
.share span { display: block; height: 100%; background: #2f5d8a; }
figure { margin: 14px 0 4px; break-inside: avoid; }
figcaption { font-size: 8.5pt; color: #5b6470; margin-top: 2px; }
svg { width: 100%; height: auto; display: block; }
svg text { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 12px; fill: #1b1f24; }
svg .label { font-size: 11.5px; }
svg .head { font-weight: bold; font-size: 12.5px; }
svg .value { font-size: 11px; fill: #3d4550; }
svg .macs { fill: #2f5d8a; }
svg .params { fill: #d9822b; }
svg .track { fill: #eef1f5; }
.layer { break-inside: avoid; margin: 0 0 10px; padding: 6px 10px 8px; border-left: 3px solid #c9d3de; }
.layer h4 code { font-size: 1em; }
.layer .type { color: #2f5d8a; }
table.steps { width: auto; font-size: 8.8pt; margin: 4px 0 2px; }
table.steps td { border: 0; padding: 1px 6px 1px 0; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
table.steps td.q { font-weight: bold; font-family: inherit; }
table.steps td.q, table.steps td.v { white-space: nowrap; }
table.steps td.v { font-weight: bold; }
.note { font-size: 9pt; color: #3d4550; font-style: italic; }
pre.spec { background: #f5f7fa; border: 1px solid #dde3ea; border-radius: 4px; padding: 8px 10px;
           font-size: 8.4pt; line-height: 1.35; white-space: pre-wrap; word-break: break-word; }
svg .m0 { fill: #2f5d8a; } svg .m1 { fill: #d9822b; } svg .m2 { fill: #3a8a5c; }
svg .m3 { fill: #8a3a6e; } svg .m4 { fill: #8a6d2f; } svg .m5 { fill: #5b6470; }
svg .none { font-size: 11px; fill: #8a929c; }
svg .line0 { stroke: #2f5d8a; } svg .line1 { stroke: #d9822b; } svg .line2 { stroke: #3a8a5c; }
svg .line3 { stroke: #8a3a6e; } svg .line4 { stroke: #8a6d2f; } svg .line5 { stroke: #5b6470; }
svg.wide text { font-size: 15px; } svg.wide .label { font-size: 14.5px; } svg.wide .head { font-size: 15.5px; }
svg.wide .value { font-size: 14px; } svg.wide .none { font-size: 13px; }
.formulas > p.muted { break-inside: avoid; break-after: avoid; }
.swatch { display: inline-block; width: 11px; height: 11px; margin-right: 6px; border-radius: 2px;
          vertical-align: -1px; }
.swatch.m0 { background: #2f5d8a; } .swatch.m1 { background: #d9822b; } .swatch.m2 { background: #3a8a5c; }
.swatch.m3 { background: #8a3a6e; } .swatch.m4 { background: #8a6d2f; } .swatch.m5 { background: #5b6470; }
ul.models { list-style: none; margin: 6px 0 10px; padding: 0; }
ul.models li { margin: 2px 0; }
table.compare { width: auto; min-width: 60%; font-size: 9.5pt; margin: 8px 0; }
table.compare td:first-child { font-weight: bold; }
table.compare td { padding: 4px 8px; }
.exact { display: block; font-size: 0.82em; color: #5b6470; font-weight: normal; }
.fewer { color: #2e7d4f; font-weight: bold; } .more { color: #b5541b; font-weight: bold; }
.summary { margin: 10px 0; padding: 8px 12px; border-left: 4px solid #2e7d4f; background: #eef6f1;
           font-size: 10.5pt; break-inside: avoid; }
.summary.worse { border-left-color: #b5541b; background: #fbf1ea; }
table.bylayer { font-size: 8.2pt; }
table.many { font-size: 7.6pt; }
table.many th, table.many td { padding: 3px 4px; }
table.many th.model { text-align: center; border-left: 2px solid #fff; }
table.many th.sub { font-weight: normal; font-size: 7pt; opacity: 0.9; }
table.bylayer th .sub { display: block; font-weight: normal; font-size: 7.6pt; opacity: 0.9; }
.legend { break-inside: avoid; margin-top: 22px; padding-top: 6px; border-top: 1px solid #c9d3de; font-size: 8.5pt; color: #4a525c; }
@media print {
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  h3, h4 { break-after: avoid; }
  section.model { break-inside: avoid; }
}
""".strip()

CHART_WIDTH = 1000
CHART_LABEL = 250
CHART_ROW = 22
CHART_TOP = 30
LABEL_SIZE, LABEL_LINE = 11.5, 13  # font size and line height of a bar's label (svg .label)
WIDE_LABEL_SIZE, WIDE_LABEL_LINE = 14.5, 17  # the same in the comparison charts (svg.wide .label)


_HTML_SPECIAL = re.compile(r"[&<>\"']")


def esc(text: object) -> str:
    # Control characters escaped too (\x1b): the page may be read with `cat` as well. Most texts
    # (numbers, shapes, formulas) have nothing to escape: a handout of 10,000 layers escapes 500,000.
    text = text if type(text) is str else str(text)
    if not text.isprintable():
        text = inert_lines(text)
    return escape(text, quote=True) if _HTML_SPECIAL.search(text) else text


def page(title: str, body: str) -> str:
    """A whole HTML document: head with inline CSS, then `body` inside <main>."""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n<main>\n"
            f"{body}</main>\n</body>\n</html>\n")


def arrows(text: str) -> str:
    """Escaped text with ASCII arrows as typeset ones."""
    return esc(text).replace(" -&gt; ", " &#8594; ")


def name_cell(name: str) -> str:
    """A layer path that may wrap after each '/', and nowhere else."""
    return "/<wbr>".join(esc(part) for part in name.split("/"))


def table(headers: Sequence[str], aligns: Sequence[str], rows: Iterable[Sequence[str]],
          foot: Sequence[str] | None = None, classes: Sequence[str] | None = None, css: str = "",
          head_rows: str = "", style: str = "") -> str:
    """A <table>; cells are HTML already (escape text first); aligns are 'left' or 'right'; head_rows,
    when given, are the <tr>s of the head instead of one row of headers; style, its inline CSS."""
    def cls(i: int) -> str:
        names = ["num" if aligns[i] == "right" else "", classes[i] if classes else ""]
        joined = " ".join(n for n in names if n)
        return f' class="{joined}"' if joined else ""

    attrs = [cls(i) for i in range(len(aligns))]
    head = "".join(f"<th{a}>{h}</th>" for a, h in zip(attrs, headers))
    body = "".join("<tr>" + "".join(f"<td{a}>{c}</td>" for a, c in zip(attrs, r)) + "</tr>\n" for r in rows)
    tfoot = ("<tfoot><tr>" + "".join(f"<td{a}>{c}</td>" for a, c in zip(attrs, foot)) + "</tr></tfoot>\n"
             if foot else "")
    attr = (f' class="{css}"' if css else "") + (f' style="{style}"' if style else "")
    return (f"<table{attr}>\n<thead>{head_rows or f'<tr>{head}</tr>'}</thead>\n"
            f"<tbody>\n{body}</tbody>\n{tfoot}</table>\n")


PAGE_WIDTH_PX = 695  # the text width of an A4 page less the @page margins (184 mm) in CSS pixels


_EM = {**dict.fromkeys("ijl.,:;'|! ", 0.32), **dict.fromkeys("ftr()/-[]", 0.42), **dict.fromkeys("m%W", 1.0),
       **dict.fromkeys("w+M", 0.87), **dict.fromkeys("0123456789", 0.64)}


def _char_em(c: str) -> float:
    return _EM.get(c, 0.8 if c.isupper() else 0.62)


_ASCII_EM = {chr(i): _char_em(chr(i)) for i in range(128)}


def text_em(text: str, bold: bool = False) -> float:
    """The width of a text in DejaVu Sans, in em, a little rounded up (bold is a tenth wider)."""
    try:
        em = sum(map(_ASCII_EM.__getitem__, text))  # the table's lookups in C: tables measure every name
    except KeyError:
        em = sum(map(_char_em, text))
    return (1.1 if bold else 1.0) * em


def fitted_font(column_ems: Sequence[float], padding_px: float, largest_pt: float, extra_px: float = 0) -> str:
    """An inline style with a font size (at most `largest_pt`, at least 6 pt) at which columns whose
    unbreakable texts are `column_ems` wide, each with `padding_px` of padding (and `extra_px` more
    in all), fit the width of an A4 page; "" when the largest fits."""
    room = PAGE_WIDTH_PX - padding_px * len(column_ems) - extra_px
    ems = sum(column_ems)
    fits = room / ems * 0.75 if ems else largest_pt  # a CSS pixel is 0.75 pt
    return "" if fits >= largest_pt else f"font-size: {max(int(fits * 10) / 10, 6.0):g}pt"  # rounded down


_WIDEST_EM = max(1.0, *_EM.values())  # no character is wider: a word of n characters is at most n of these


def widest_word_em(words: Iterable[str], bold: bool = False) -> float:
    """The largest text_em of the words; longest first, stopping where no shorter word can be wider."""
    best = 0.0
    for w in sorted(set(words), key=len, reverse=True):
        if len(w) * _WIDEST_EM * (1.1 if bold else 1.0) <= best:
            break
        best = max(best, text_em(w, bold))
    return best


def cell_words(cell: str) -> list[str]:
    """The parts of a cell that cannot wrap: words, and a layer path's parts after each '/'."""
    if "/" not in cell:
        return cell.split(" ")
    return re.split(r" |(?<=/)", cell)


def column_ems(headers: Sequence[str], rows: Sequence[Sequence[str]], foot: Sequence[str] | None) -> list[float]:
    """Per column, the width in em of its widest text that cannot wrap: a word of a header (which wraps
    after a '-' or '_' too) or of a cell (a layer path after a '/' too); heads and the total row are bold."""
    ems = []
    for i, h in enumerate(headers):
        # A table of 10,000 rows has few distinct cells in most columns: each is split and measured once.
        cells = {r[i] for r in rows}
        em = max(widest_word_em(re.split(r" |(?<=[_-])", h), bold=True),
                 widest_word_em(w for c in cells for w in cell_words(c)))
        ems.append(max(em, widest_word_em(cell_words(foot[i]), bold=True)) if foot else em)
    return ems


def table_font(headers: Sequence[str], rows: Sequence[Sequence[str]], foot: Sequence[str] | None,
               padding_px: float, largest_pt: float, extra_px: float = 0) -> str:
    """fitted_font for a table of these texts (column_ems)."""
    return fitted_font(column_ems(headers, rows, foot), padding_px, largest_pt, extra_px)


def model_head(name: str) -> str:
    """A model's name in a column head: it may wrap at spaces and after each '_'."""
    return esc(name).replace("_", "_<wbr>")


def share_cell(part: int, whole: int) -> str:
    """'24.2%' with a small bar in front of it."""
    width = f"{100 * part / whole:.1f}%" if whole else "0%"
    return f'<span class="share"><span style="width:{width}"></span></span>{esc(percent(part, whole))}'


LABEL_ROOM = CHART_LABEL - 14  # chart units left of the bars for a label


def label_lines(label: str, size: float) -> list[str]:
    """A chart label in lines that fit LABEL_ROOM at font size `size`, never cut: broken after a '/'
    or at a space, else after a '_' or '-', and inside a word only when the word alone is too long."""
    room = LABEL_ROOM / size  # in em
    if text_em(label) <= room:
        return [label]
    parts = [q for part in re.split(r"(?<=[/ ])", label)
             for q in (re.split(r"(?<=[_-])", part) if text_em(part.rstrip()) > room else [part])]
    lines = [""]
    for part in parts:
        if lines[-1] and text_em(lines[-1] + part.rstrip()) > room:
            lines.append("")
        while text_em(part.rstrip()) > room:  # a word wider than the room on its own: cut it
            cut = max([1] + [k for k in range(len(part) + 1) if text_em(part[:k]) <= room])
            lines[-1] += part[:cut]
            lines.append("")
            part = part[cut:]
        lines[-1] += part
    return [line for line in (line.rstrip() for line in lines) if line]


def label_text(lines: Sequence[str], x: float, y: float, line_height: float) -> str:
    """A right-aligned label, its first line's baseline at y and the others under it."""
    if len(lines) == 1:
        return f'<text class="label" x="{x}" y="{y:g}" text-anchor="end">{esc(lines[0])}</text>'
    spans = "".join(f'<tspan x="{x}" dy="{0 if k == 0 else line_height:g}">{esc(line)}</tspan>'
                    for k, line in enumerate(lines))
    return f'<text class="label" x="{x}" y="{y:g}" text-anchor="end">{spans}</text>'


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[int]]]) -> str:
    """Horizontal bars, one row per label and one panel per series (title, css class, values).

    Each panel is scaled to its own largest value, so MACs and params can sit side by side; a long
    label takes more lines, and its row is made taller to hold them.
    """
    panel = (CHART_WIDTH - CHART_LABEL) // len(series)
    room = panel - 110  # what is left for the bar once its value label fits after it
    lines = [label_lines(label, LABEL_SIZE) for label in labels]
    heights = [max(CHART_ROW, len(ls) * LABEL_LINE + 8) for ls in lines]
    tops = [CHART_TOP + t for t in accumulate([0, *heights[:-1]])]
    height = CHART_TOP + sum(heights) + 6
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_WIDTH} {height}" role="img" '
           f'aria-label="{esc(" and ".join(s[0] for s in series))} per layer">']
    for p, (title, css, values) in enumerate(series):
        x0 = CHART_LABEL + p * panel
        out.append(f'<text class="head" x="{x0}" y="16">{esc(title)}</text>')
        top = max(values) if values else 0
        total = sum(values)
        for i, v in enumerate(values):
            y = tops[i]
            length = round(room * v / top, 1) if top else 0
            out.append(f'<rect class="track" x="{x0}" y="{y}" width="{room}" height="14"/>')
            out.append(f'<rect class="{css}" x="{x0}" y="{y}" width="{length}" height="14">'
                       f"<title>{esc(exact(v))}</title></rect>")
            out.append(f'<text class="value" x="{x0 + room + 5}" y="{y + 11}">'
                       f"{esc(human(v))} ({esc(percent(v, total))})</text>")
    for i, ls in enumerate(lines):
        out.append(label_text(ls, CHART_LABEL - 10, tops[i] + 11, LABEL_LINE))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def totals_block(report: ModelReport) -> str:
    shown = [(k, v) for k, v in totals_text(report.totals) if k != "buffers" or report.totals.buffers]
    if report.total_bytes is not None:
        shown += [("weight bytes", exact(report.total_bytes.weight_bytes)),
                  ("bytes moved", exact(report.total_bytes.moved_bytes)),
                  ("peak activation bytes", exact(report.peak.bytes))]
    if report.time is not None:
        shown.append(("estimated time", seconds(report.time)))
    items = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in shown)
    return f'<dl class="totals">{items}</dl>\n'


# The per-layer figures in two tables, so each fits the width of an A4 page: what a layer costs,
# then what it moves (and, with a roofline, how long it takes).
COST_TABLE = ("layer", "type", "role", "output", "receptive_field", "params", "macs", "flops", "activations",
              "buffers", "share")
MEMORY_TABLE = ("layer", "weight_bytes", "output_bytes", "read_bytes", "intensity", "time", "bound")


def layer_table(report: ModelReport, exact_numbers: bool, keys: tuple[str, ...] = COST_TABLE, rows=None) -> str:
    columns = [c for c in layer_columns([report]) if c.key in keys]
    body, total = layer_cells(report, exact_numbers, columns, rows)
    share = next((i for i, c in enumerate(columns) if c.key == "share"), None)
    html_rows = []
    escaped: dict[str, str] = {}  # a long model repeats its numbers: each distinct text escaped once
    for layer, cells in zip(report.layers if rows is None else rows, body):
        out = [escaped[c] if c in escaped else escaped.setdefault(c, esc(c)) for c in cells]
        out[0] = name_cell(cells[0])
        if share is not None:
            out[share] = share_cell(layer.cost.macs, report.totals.macs)
        html_rows.append(out)
    classes = ["name" if i == 0 else "" for i in range(len(columns))]
    # The share's bar is 49 pixels whatever the font.
    font = table_font([c.header for c in columns], body, total, 12, 8.8, 49 if share is not None else 0)
    return table([esc(c.header) for c in columns], [c.align for c in columns], html_rows,
                 [esc(c) for c in total], classes, "layers", style=font)


def cost_chart(report: ModelReport) -> str:
    """Where the cost sits: MACs and params of every layer that has any."""
    costly = [r for r in report.layers if r.cost.macs or r.cost.params]
    if not costly:
        return ""
    left_out = len(report.layers) - len(costly)
    caption = "Bars are scaled per panel; the share is of the model's total."
    if left_out:
        caption += f" {left_out} layer{'s' if left_out > 1 else ''} without MACs or params (activations, pools, merges) left out."
    chart = bar_chart([r.name for r in costly], [(MACS_HEADER, "macs", [r.cost.macs for r in costly]),
                                                   ("params", "params", [r.cost.params for r in costly])])
    return f"<figure>\n{chart}<figcaption>{esc(caption)}</figcaption>\n</figure>\n"


def steps_block(layer: LayerExplanation) -> str:
    row = layer.row
    head = (f'<h4><code>{esc(row.name)}</code> <span class="type">{esc(row.type)}</span> '
            f"<span class=\"muted\">{esc(layer.summary)}</span></h4>\n"
            f'<p class="muted">{arrows(shapes_line(row))}</p>\n')
    notes = "".join(f'<p class="note">{esc(n)}</p>\n' for n in layer.notes)
    return f'<div class="layer">\n{head}{steps_table(layer.steps)}{notes}</div>\n'


def steps_table(steps) -> str:
    rows = []
    for step in steps:
        quantity, *middle, value = step.parts(exact)
        cells = [f'<td class="q">{esc(quantity)}</td>']
        cells += [f"<td>= {esc(m)}</td>" for m in middle]
        cells += ["<td></td>"] * (2 - len(middle))
        cells.append(f'<td class="v">= {esc(value)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return '<table class="steps">\n' + "\n".join(rows) + "\n</table>\n" if rows else ""


def totals_steps_block(expl: ModelExplanation) -> str:
    """The model's totals as sums of its layers, and where its activation memory peaks."""
    if not expl.totals:
        return ""
    notes = "".join(f'<p class="note">{esc(n)}</p>\n' for n in expl.total_notes)
    return (f'<div class="layer">\n<h4>Totals of {esc(expl.report.name)}</h4>\n{steps_table(expl.totals)}{notes}'
            "</div>\n")


FORMULAS_INTRO = (
    '<p class="muted">Each number is the formula with this layer\'s sizes put in. H, W, C: the '
    "input's height, width, channels; Ho, Wo, Co: the output's; k kernel, s stride, d dilation, "
    "p padding; r and j: receptive field size and stride (r_in, j_in those of the input).</p>\n")


NAMED = 50  # layers named in one sentence of the handout; the rest are counted


def name_list(names: Sequence[str]) -> str:
    """Up to NAMED layer names as code, then how many more."""
    listed = ", ".join(f"<code>{esc(n)}</code>" for n in names[:NAMED])
    return listed + (f" and {len(names) - NAMED:,} more" if len(names) > NAMED else "")


def formulas_section(explanations: Sequence[ModelExplanation], heading: str,
                     titles: Sequence[str] | None = None, skip_repeats: bool = False) -> str:
    """Every explained layer's steps, then the layers a handout only names or counts (explain_model's
    `handout`); with `skip_repeats`, a layer exactly as in an earlier model is named instead of shown again."""
    titles = titles or [e.report.name for e in explanations]
    out = [f'<section class="formulas">\n<h2>{esc(heading)}</h2>\n', FORMULAS_INTRO]
    seen: dict[LayerExplanation, str] = {}
    for title, expl in zip(titles, explanations, strict=True):
        if len(explanations) > 1:
            out.append(f"<h3>{esc(title)}</h3>\n")
        repeats: dict[str, list[str]] = {}
        for layer in expl.layers:
            if skip_repeats:
                if layer in seen:
                    repeats.setdefault(seen[layer], []).append(layer.row.name)
                    continue
                seen.setdefault(layer, title)
            out.append(steps_block(layer))
        for first, names in repeats.items():
            out.append(f'<p class="note">Worked out as in {esc(first)} above: {name_list(names)}.</p>\n')
        if expl.left_out:
            out.append(f'<p class="note">Not worked out in this handout, which works out at most '
                       f"{HANDOUT_LAYERS:,} layers of a model (activations aside): {name_list(expl.left_out)}. "
                       "convcost explain works out every layer.</p>\n")
        if expl.simple:
            out.append(f'<p class="note">Not worked out here: {name_list(expl.simple)}. They keep their input\'s '
                       "shape and have no params and no MACs; an activation costs 1 FLOP per element (convcost "
                       "explain shows every layer).</p>\n")
        out.append(totals_steps_block(expl))
    out.append("</section>\n")
    return "".join(out)


def spec_section(files: Sequence | None, reports: Sequence[ModelReport]) -> str:
    """The YAML text of every spec the reports come from, as written."""
    used = set(r.source for r in reports)
    blocks = "".join(f'<p class="muted">{esc(f.path)}</p>\n<pre class="spec">{esc(f.text.rstrip())}</pre>\n'
                     for f in files or () if f.path in used)
    return f'<section class="spec">\n<h2>The spec</h2>\n{blocks}</section>\n' if blocks else ""


def spec_heading(files: Sequence | None, reports: Sequence[ModelReport]) -> tuple[str, str]:
    """Title and description of the page: the spec file's own name and description when it is one file."""
    named = spec_title(files, reports)
    if named is not None:
        return named
    if len(reports) == 1:
        return reports[0].name, reports[0].description
    return ", ".join(r.name for r in reports), ""


def spec_title(files: Sequence | None, reports: Sequence[ModelReport]) -> tuple[str, str] | None:
    """The name and description of the spec file (its top-level keys, else its stem), when the reports come from
    one file."""
    paths = set(r.source for r in reports)
    chosen = [f for f in files or () if f.path in paths]
    if len(chosen) == 1 and len(paths) == 1:
        return chosen[0].name, chosen[0].description
    return None


def header(title: str, description: str, reports: Sequence[ModelReport], kind: str) -> str:
    """The page's title, the spec's description under it, and what the page is of."""
    from .. import __version__

    files = ", ".join(dict.fromkeys(r.source for r in reports))
    models = len(reports)
    meta = (f"{kind} of {models} model{'s' if models != 1 else ''} from {files} · convcost {__version__} · "
            f"{settings_line(reports[0]) if reports else ''}, exact counts")
    lead = f'<p class="lead">{esc(description)}</p>\n' if description else ""
    return f"<header>\n<h1>{esc(title)}</h1>\n{lead}<p class=\"meta\">{esc(meta)}</p>\n</header>\n"


LEGEND = (
    '<section class="legend">\n<p><b>MACs</b> are multiply-accumulates (one multiply and one add): what most '
    "papers call FLOPs. <b>FLOPs</b> here are 2&#215;MACs, plus one per output for a bias, plus the work of "
    "batch norm (2 per element), activations (1), pools and adds. <b>params</b> are trainable parameters as "
    "PyTorch counts them; <b>activations</b> the elements of each layer's output. <b>Receptive field</b> "
    "&#8220;11x11 s4&#8221;: one output pixel sees 11x11 input pixels, and neighbouring outputs are 4 input "
    "pixels apart. Short numbers: K = 10<sup>3</sup>, M = 10<sup>6</sup>, G = 10<sup>9</sup>.</p>\n</section>\n"
)


def model_section(report: ModelReport, page_description: str, exact_numbers: bool, several: bool,
                  title: str | None = None, chart: bool = True, depth: int | None = None, rows=None) -> str:
    desc = report.description if report.description and report.description != page_description else ""
    name = title or report.name
    head = f"<h2>{esc(name)}</h2>\n" if several or desc else "<h2>Cost per layer</h2>\n"
    grouped = ""
    if rows is not None:
        grouped = (f'<p class="muted">Rows grouped by the first {depth} level{"s" if depth > 1 else ""} of the '
                   "layer paths; they add up to the totals.</p>\n")
    return (f'<section class="model">\n{head}'
            + (f"<p>{esc(desc)}</p>\n" if desc else "")
            + f'<p class="io">{arrows(in_out(report))}; {esc(settings_line(report))}</p>\n'
            + totals_block(report) + grouped + layer_table(report, exact_numbers, COST_TABLE, rows)
            + (cost_chart(report) if chart else "")
            + f'<h3>Memory traffic{" and time" if report.time is not None else ""}</h3>\n'
            + f'<p class="muted">{esc(peak_line(report, exact_numbers))}</p>\n'
            + layer_table(report, exact_numbers, MEMORY_TABLE, rows)
            + (roofline_chart(report) if report.time is not None else "")
            + "</section>\n")


def roofline_chart(report: ModelReport) -> str:
    """Attainable FLOP/s against intensity (log-log): the roof, the ridge point, one dot per layer."""
    import math

    roof = report.settings.roofline
    peak, bandwidth = float(roof.peak_flops), float(roof.bandwidth)
    ridge = peak / bandwidth
    points = [(r.name, r.bytes.intensity, r.bytes.flops / r.time_s, r.bound) for r in report.layers
              if r.bytes is not None and r.bytes.intensity > 0 and r.time_s]
    if not points:
        return ""
    xs = [p[1] for p in points] + [ridge]
    lo_x, hi_x = math.floor(math.log10(min(xs))) - 0.5, math.ceil(math.log10(max(xs))) + 0.5
    lo_y = math.floor(math.log10(min(p[2] for p in points) * 0.5))
    hi_y = math.ceil(math.log10(peak * 2))
    w, h, left, bottom, top = 1000, 420, 90, 50, 20

    def x(v: float) -> float:
        return round(left + (math.log10(v) - lo_x) / (hi_x - lo_x) * (w - left - 20), 1)

    def y(v: float) -> float:
        return round(h - bottom - (math.log10(v) - lo_y) / (hi_y - lo_y) * (h - bottom - top), 1)

    roof_start = 10 ** lo_x
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" '
           'aria-label="roofline: attainable FLOP/s against FLOPs per byte, one dot per layer">',
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - 20}" y2="{h - bottom}" stroke="#8a929c"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#8a929c"/>',
           f'<polyline fill="none" stroke="#2f5d8a" stroke-width="2.5" points="{x(roof_start)},'
           f'{y(roof_start * bandwidth)} {x(ridge)},{y(peak)} {x(10 ** hi_x)},{y(peak)}"/>',
           f'<line x1="{x(ridge)}" y1="{y(peak)}" x2="{x(ridge)}" y2="{h - bottom}" stroke="#2f5d8a" '
           'stroke-dasharray="4 4"/>',
           f'<text class="value" x="{x(ridge) + 6}" y="{y(peak) + 16}">ridge {ridge:.3g} FLOPs/byte</text>']
    for exp in range(math.ceil(lo_x), math.floor(hi_x) + 1):
        out.append(f'<text class="value" x="{x(10 ** exp)}" y="{h - bottom + 18}" text-anchor="middle">'
                   f"10^{exp}</text>")
    for exp in range(lo_y, hi_y + 1):
        out.append(f'<text class="value" x="{left - 8}" y="{y(10 ** exp) + 4}" text-anchor="end">10^{exp}</text>')
    out.append(f'<text class="head" x="{(left + w) // 2}" y="{h - 8}" text-anchor="middle">FLOPs per byte '
               "(arithmetic intensity)</text>")
    out.append(f'<text class="head" x="16" y="{top + 10}">FLOP/s</text>')
    for name, intensity, rate, bound in points:
        css = "macs" if bound == "compute" else "params"
        out.append(f'<circle class="{css}" cx="{x(intensity)}" cy="{y(rate)}" r="4"><title>{esc(name)}: '
                   f"{intensity:.3g} FLOPs/byte, {bound}-bound</title></circle>")
    out.append("</svg>")
    memory = sum(1 for p in points if p[3] == "memory")
    caption = (f"The roofline of {report.settings.device or 'the given machine'}: {peak / 1e12:g} TFLOP/s peak, "
               f"{bandwidth / 1e9:g} GB/s. Each dot is a layer at the FLOP/s it attains (its FLOPs over its time); "
               f"{memory} of {len(points)} are memory-bound (orange, left of the ridge), the others compute-bound "
               "(blue).")
    return f'<figure>\n{"".join(out)}\n<figcaption>{esc(caption)}</figcaption>\n</figure>\n'



def render_report(reports: list[ModelReport], *, exact: bool = False, files=None,
                  explanations: Sequence[ModelExplanation] | None = None, depth: int | None = None,
                  groups=None, **_options) -> str:
    """The handout: title, spec, then per model totals, table and chart; formulas when explanations are given."""
    title, description = spec_heading(files, reports)
    body = [header(title, description, reports, "Cost report"), spec_section(files, reports)]
    body += [model_section(r, description, exact, len(reports) > 1, depth=depth,
                           rows=None if groups is None else groups[i]) for i, r in enumerate(reports)]
    if explanations:
        body.append(formulas_section(explanations, "How each number is worked out"))
    body.append(LEGEND)
    return page(title, "".join(body))


def render_explain(explanations: list[ModelExplanation], *, files=None, **_options) -> str:
    reports = [e.report for e in explanations]
    title, description = spec_heading(files, reports)
    body = [header(title, description, reports, "Worked derivation"), spec_section(files, reports),
            formulas_section(explanations, "How each number is worked out"), LEGEND]
    return page(title, "".join(body))


# ------------------------------------------------------------------ comparisons

PALETTE = 6  # model colours m0..m5 in the CSS, reused in order


def model_class(i: int) -> str:
    return f"m{i % PALETTE}"


def grouped_chart(labels: Sequence[str], panels: Sequence[tuple[str, Sequence[Sequence[tuple[int | None, str, int]]]]],
                  aria: str, reserve: int = 110) -> str:
    """Horizontal bars, one row per label holding one bar per (value, text, colour) item, one panel
    per (title, rows). A panel shares one scale across all its bars, so lengths compare across
    models; a None value is a model without that layer (its text instead of a bar)."""
    panel = (CHART_WIDTH - CHART_LABEL) // len(panels)
    room = panel - reserve
    per_row = max((len(items) for _, rows in panels for items in rows), default=1)
    bar = 17 if per_row == 1 else 14
    bars = per_row * (bar + 3) - 3  # the height of a row's bars
    row_height = bars + (12 if per_row > 1 else 8)
    # A long label takes more lines, and its row grows to hold them.
    lines = [label_lines(label, WIDE_LABEL_SIZE) for label in labels]
    heights = [max(row_height, (len(ls) - 1) * WIDE_LABEL_LINE + WIDE_LABEL_SIZE + 10) for ls in lines]
    tops = [CHART_TOP + t for t in accumulate([0, *heights[:-1]])]
    height = CHART_TOP + sum(heights) + 4
    # Larger text than the report's chart: these charts are the point of the page and get printed.
    out = [f'<svg class="wide" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_WIDTH} {height}" role="img" '
           f'aria-label="{esc(aria)}">']
    for p, (title, rows) in enumerate(panels):
        x0 = CHART_LABEL + p * panel
        out.append(f'<text class="head" x="{x0}" y="16">{esc(title)}</text>')
        top = max((v for items in rows for v, _, _ in items if v is not None), default=0)
        for i, items in enumerate(rows):
            for j, (value, text, colour) in enumerate(items):
                y = tops[i] + j * (bar + 3)
                if value is None:
                    out.append(f'<text class="none" x="{x0}" y="{y + bar - 3}">{esc(text)}</text>')
                    continue
                length = round(room * value / top, 1) if top else 0
                out.append(f'<rect class="track" x="{x0}" y="{y}" width="{room}" height="{bar}"/>')
                out.append(f'<rect class="{model_class(colour)}" x="{x0}" y="{y}" width="{length}" height="{bar}">'
                           f"<title>{esc(exact(value))}</title></rect>")
                out.append(f'<text class="value" x="{x0 + room + 6}" y="{y + bar - 3}">{esc(text)}</text>')
    for i, ls in enumerate(lines):
        # The lines centred on the row's bars (on the row, when they are taller than the bars).
        middle = tops[i] + max(bars, (len(ls) - 1) * WIDE_LABEL_LINE + WIDE_LABEL_SIZE) / 2
        out.append(label_text(ls, CHART_LABEL - 10, middle - (len(ls) - 1) * WIDE_LABEL_LINE / 2 + 5,
                              WIDE_LABEL_LINE))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def ratio_html(r: float | None) -> str:
    """The ratio in words, green when fewer, orange when more."""
    text = ratio_phrase(r)
    kind = "fewer" if text.endswith("fewer") or text == "none" else "more" if "more" in text or r is None else ""
    return f'<span class="{kind}">{esc(text)}</span>' if kind else esc(text)


def model_list(comparison) -> str:
    """The models with their colour in the charts and what each one is."""
    items = []
    for i, e in enumerate(comparison.entries):
        role = " <span class=\"muted\">(baseline)</span>" if i == 0 else ""
        desc = f": {esc(e.report.description)}" if e.report.description else ""
        items.append(f'<li><span class="swatch {model_class(i)}"></span><b>{esc(e.name)}</b>{role}{desc} '
                     f'<span class="muted">({arrows(in_out(e.report))})</span></li>')
    return '<ul class="models">\n' + "\n".join(items) + "\n</ul>\n"


EXACT_EM = 0.82  # the size of the exact numbers under the short ones (.exact)


def compare_table(comparison, exact_numbers: bool) -> str:
    """Totals side by side: short numbers with the exact ones under them, ratios in words."""
    headers, aligns, rows = compare_cells(comparison, exact_numbers)
    keys = [None] + list(compare_keys(comparison))
    html_rows = []
    for key, cells in zip(keys, rows):
        out = [esc(c) for c in cells]
        if key is not None:
            name, _, kind = key
            for col, e in enumerate(comparison.entries):
                at = 1 if col == 0 else 2 * col
                value = total_value(e.report, name)
                if kind != "time" and not exact_numbers and human(value) != exact(value):
                    out[at] += f'<span class="exact">{esc(exact(value))}</span>'
                if col:
                    out[at + 1] = ratio_html(getattr(e.ratio, name))
        html_rows.append(out)
    head = [model_head(h) for h in headers]
    head[1] += " <span class=\"sub\">(baseline)</span>" if len(comparison.entries) > 1 else ""
    # What cannot wrap: the words of each column, and the exact numbers in their smaller type.
    ems = [max(text_em(w, bold=True) for w in re.split(r" |(?<=_)", h)) for h in headers]
    for cells in rows:  # the labels and the ratios are bold
        ems = [max([em, *(text_em(w, bold=True) for w in c.split())]) for em, c in zip(ems, cells)]
    if not exact_numbers:
        for col, e in enumerate(comparison.entries):
            at = 1 if col == 0 else 2 * col
            ems[at] = max(ems[at], EXACT_EM * max(text_em(exact(total_value(e.report, k[0]))) for k in keys[1:]))
    return table(head, aligns, html_rows, css="compare", style=fitted_font(ems, 16, 9.5))


def summary_block(comparison, exact_numbers: bool) -> str:
    """The savings in one line per model, the model's name in bold."""
    out = []
    for e, line in zip(comparison.entries[1:], summary_lines(comparison, number_format(exact_numbers))):
        rest = line[len(e.name) + 2:]  # the sentence after "<name>: ", so the name can be set in bold
        worse = e.ratio.macs is None or e.ratio.macs > 1
        out.append(f'<p class="summary{" worse" if worse else ""}"><b>{esc(e.name)}</b>: {arrows(rest)}</p>\n')
    return "".join(out)


def totals_chart(comparison) -> str:
    """MACs and params of each model on one scale, with its ratio to the baseline."""
    entries = comparison.entries

    def rows(key: str):
        out = []
        for i, e in enumerate(entries):
            value = getattr(e.totals, key)
            text = human(value) + (f" · {ratio_phrase(getattr(e.ratio, key))}" if i else " · baseline")
            out.append([(value, text, i)])
        return out

    chart = grouped_chart([e.name for e in entries], [(MACS_HEADER, rows("macs")), ("params", rows("params"))],
                          "MACs and params per model", reserve=165)
    return (f"<figure>\n{chart}<figcaption>Each panel has one scale for all models, so the bars' lengths "
            "compare directly.</figcaption>\n</figure>\n")


def layers_chart(comparison) -> str:
    """MACs and params of every layer that has any, one bar per model, on one scale per panel."""
    entries = comparison.entries
    costly = [m for m in comparison.layers if any(r is not None and (r.cost.macs or r.cost.params) for r in m.rows)]
    if not costly:
        return ""

    def rows(key: str):
        return [[(None, "no such layer", i) if r is None else (getattr(r.cost, key), human(getattr(r.cost, key)), i)
                 for i, r in enumerate(m.rows)] for m in costly]

    chart = grouped_chart([m.name for m in costly], [(MACS_HEADER, rows("macs")), ("params", rows("params"))],
                          "MACs and params per layer and model")
    legend = " ".join(f'<span class="swatch {model_class(i)}"></span>{esc(e.name)}' for i, e in enumerate(entries))
    left_out = len(comparison.layers) - len(costly)
    caption = "Layers matched by name; one scale per panel for all models."
    if left_out:
        caption += (f" {left_out} layer{'s' if left_out > 1 else ''} without MACs or params "
                    "(activations, pools, merges) left out.")
    return (f'<section class="where">\n<h2>Where the cost sits, layer by layer</h2>\n<p>{legend}</p>\n'
            f"<figure>\n{chart}<figcaption>{esc(caption)}</figcaption>\n</figure>\n</section>\n")


BY_LAYER_LABELS = {MACS_HEADER: "MACs"}  # the legend says what MACs are; the long form made every column wide


def by_layer_section(comparison, exact_numbers: bool) -> str:
    """The layers lined up by name: params and MACs in each model and the change in MACs. Up to two
    models in one table; with more, a table of MACs and their changes (each model's name over its
    columns) and one of params, so that each fits the width of an A4 page."""
    heads, aligns, rows, foot = by_layer_cells(comparison, exact_numbers)
    html_rows = [[name_cell(r[0][:-2]) + " *" if r[0].endswith(" *") else name_cell(r[0]), *(esc(c) for c in r[1:])]
                 for r in rows]
    foot_text, foot = foot, [esc(c) for c in foot]
    names = ["name" if i == 0 else "" for i in range(len(heads))]
    n = len(comparison.entries)

    def font(keep: Sequence[int], largest_pt: float, headers: bool = True) -> str:
        words = [f"{m} {BY_LAYER_LABELS.get(label, label)}" if headers else "" for m, label in heads]
        return table_font([words[i] for i in keep], [[r[i] for i in keep] for r in rows],
                          [foot_text[i] for i in keep], 8 if len(comparison.entries) > 2 else 12, largest_pt)

    if n <= 2:
        head = [f'{model_head(m)}<span class="sub">{esc(BY_LAYER_LABELS.get(label, label))}</span>' if m
                else esc(label) for m, label in heads]
        tables = table(head, aligns, html_rows, foot, names, "layers bylayer", style=font(range(len(heads)), 8.2))
    else:
        # Columns of by_layer_cells: layer, type, (params, MACs) per model, the change of each model but
        # the baseline, only in.
        macs = [0, 1] + [i for k in range(n) for i in ([3 + 2 * k] + ([1 + 2 * n + k] if k else []))]
        params = [0, 1] + [2 + 2 * k for k in range(n)] + [len(heads) - 1]
        top = ('<th rowspan="2">layer</th><th rowspan="2">type</th>'
               + "".join(f'<th class="model" colspan="{2 if k else 1}">{model_head(e.name)}</th>'
                         for k, e in enumerate(comparison.entries)))
        sub = "".join('<th class="num sub">MACs</th>' + ('<th class="num sub">change</th>' if k else "")
                      for k in range(n))
        tables = ("<h3>MACs</h3>\n"
                  + table([], [aligns[i] for i in macs], [[r[i] for i in macs] for r in html_rows],
                          [foot[i] for i in macs], [names[i] for i in macs], "layers bylayer many",
                          head_rows=f"<tr>{top}</tr><tr>{sub}</tr>", style=font(macs, 7.6, headers=False))
                  + "<h3>Params</h3>\n"
                  + table([f'{model_head(m)}<span class="sub">params</span>' if m else esc(label)
                           for m, label in (heads[i] for i in params)], [aligns[i] for i in params],
                          [[r[i] for i in params] for r in html_rows], [foot[i] for i in params],
                          [names[i] for i in params], "layers bylayer many", style=font(params, 7.6)))
    return ('<section class="bylayer">\n<h2>Layer by layer</h2>\n'
            '<p class="muted">Layers matched by name (their full path); - where a model has no such layer; '
            "the change in MACs is against the baseline; <i>only in</i> names the models that have the layer "
            "when not all do.</p>\n"
            + tables
            + "".join(f'<p class="note">{esc(n)}</p>\n' for n in by_layer_notes(comparison)) + "</section>\n")


COMPARE_LEGEND = (
    '<p><b>Ratios</b> compare each model with the baseline: &#8220;12.1x fewer&#8221; means the baseline\'s '
    "total is 12.1 times this model's; differences under 10% are given in percent.</p>\n")


def render_compare(comparison, *, exact: bool = False, by_layer: bool = False, files=None,
                   explanations: Sequence[ModelExplanation] | None = None, **_options) -> str:
    """The comparison handout: title, spec, totals side by side with ratios and the savings in words,
    the per-layer tables (or the layers lined up), charts on a shared scale, a legend, the formulas
    (explanations of the entries whose graphs are known, in order)."""
    entries = comparison.entries
    reports = [e.report for e in entries]
    title, description = spec_title(files, reports) or (compare_title(comparison), "")
    notes = "".join(f'<p class="note">note: {esc(n)}</p>\n' for n in comparison.notes)
    body = [header(title, description, reports, "Comparison"), spec_section(files, reports),
            f'<section class="side">\n<h2>Side by side: {esc(compare_title(comparison))}</h2>\n',
            model_list(comparison), compare_table(comparison, exact), summary_block(comparison, exact), notes,
            totals_chart(comparison), "</section>\n"]
    if by_layer:
        body.append(by_layer_section(comparison, exact))
    else:
        body += [model_section(e.report, description, exact, True, title=e.name, chart=False) for e in entries]
    body.append(layers_chart(comparison))
    # The legend before the formulas: it explains the tables above, and the formulas may fill pages.
    body.append(LEGEND.replace("</section>", COMPARE_LEGEND + "</section>"))
    if explanations:
        known = [e for e in entries if e.model is not None]
        body.append(formulas_section(explanations, "How each number is worked out",
                                     titles=[e.name for e in known], skip_repeats=True))
    return page(title, "".join(body))


def sweep_chart(result) -> str:
    """MACs and peak activation bytes against the input size: one line per model, batch and dtype."""
    series: dict[tuple, list] = {}
    for r in result.rows:
        series.setdefault((r.model, r.batch, r.dtype), []).append(r)
    if all(len(points) < 2 for points in series.values()):
        return ""
    w, h, left, bottom, top, gap = 1000, 300, 90, 40, 30, 60
    panel = (w - left - gap) // 2
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" '
           'aria-label="MACs and peak activation bytes against the input size">']
    sizes = [hh * ww for hh, ww in result.sizes]
    for p, (title, value) in enumerate(((MACS_HEADER, lambda r: r.report.totals.macs),
                                        ("peak activation bytes", lambda r: r.report.peak.bytes))):
        x0 = left + p * (panel + gap)
        top_value = max(value(r) for r in result.rows) or 1
        out.append(f'<text class="head" x="{x0}" y="16">{esc(title)}</text>')
        out.append(f'<line x1="{x0}" y1="{h - bottom}" x2="{x0 + panel}" y2="{h - bottom}" stroke="#8a929c"/>')
        for i, (key, points) in enumerate(series.items()):
            coords = " ".join(
                f"{round(x0 + panel * (sizes.index(r.input.height * r.input.width) / max(len(sizes) - 1, 1)), 1)},"
                f"{round(h - bottom - (h - bottom - top) * value(r) / top_value, 1)}" for r in points)
            out.append(f'<polyline fill="none" class="line{i % PALETTE}" stroke-width="2" points="{coords}"/>')
        for j, (hh, ww) in enumerate(result.sizes):
            x = round(x0 + panel * (j / max(len(sizes) - 1, 1)), 1)
            out.append(f'<text class="value" x="{x}" y="{h - bottom + 18}" text-anchor="middle">{hh}x{ww}</text>')
        out.append(f'<text class="value" x="{x0 - 6}" y="{top + 4}" text-anchor="end">{esc(human(top_value))}</text>')
    out.append("</svg>")
    legend = " ".join(f'<span class="swatch {model_class(i)}"></span>{esc(m)}, batch {b}, {esc(d)}'
                      for i, (m, b, d) in enumerate(series))
    return (f"<figure>\n{''.join(out)}\n<figcaption>{legend}. One scale per panel, from 0 to the largest value."
            "</figcaption>\n</figure>\n")


def render_sweep(result, *, exact: bool = False, files=None, **_options) -> str:
    """The sweep handout: the spec, the table of totals per combination, and their curves against the size."""
    from .common import sweep_cells

    headers, aligns, rows = sweep_cells(result, exact)
    reports = [r.report for r in result.rows]
    title = (spec_title(files, reports) or ("Sweep", ""))[0]
    body = [header(title, "", reports[:1], "Sweep"), spec_section(files, reports),
            '<section class="sweep">\n<h2>Totals per input size, batch and precision</h2>\n',
            table([esc(h) for h in headers], aligns, [[esc(c) for c in r] for r in rows], css="layers"),
            sweep_chart(result), "</section>\n", LEGEND]
    return page(f"{title}: sweep", "".join(body))


def render_devices(devices, **_options) -> str:
    from .common import device_cells

    headers, aligns, rows = device_cells(devices)
    sources = sorted({(f.source.title, f.source.url) for d in devices
                      for f in (d.bandwidth_gbs, *(f for _, f in d.peak_tflops))})
    listed = "".join(f"<li>{esc(t)}: <code>{esc(u)}</code></li>\n" for t, u in sources)
    body = ("<header>\n<h1>Devices for --device</h1>\n</header>\n"
            + table([esc(h) for h in headers], aligns, [[esc(c) for c in r] for r in rows], css="layers")
            + f"<h2>Sources</h2>\n<ul>\n{listed}</ul>\n")
    return page("convcost devices", body)

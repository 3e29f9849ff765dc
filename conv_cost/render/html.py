"""A printable handout: one self-contained HTML file (inline CSS and SVG, no JavaScript, A4).

Built from small helpers (page shell, tables, bar chart, spec listing) so that other views,
such as a comparison of models, can be rendered with the same look.
"""

from __future__ import annotations

from html import escape
from typing import Iterable, Sequence

from ..cost import ModelReport
from ..explain import LayerExplanation, ModelExplanation, explain_model
from ..layers import ACTIVATIONS, PASSTHROUGH
from .common import LAYER_COLUMNS, MACS_HEADER, in_out, layer_cells, shapes_line, totals_text
from .numbers import exact, human, percent

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
td.name { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.95em; overflow-wrap: break-word; }
th.num { white-space: normal; }
.share { display: inline-block; width: 44px; height: 8px; margin-right: 5px; background: #e4e9ef;
         vertical-align: middle; }
.share span { display: block; height: 100%; background: #2f5d8a; }
figure { margin: 14px 0 4px; break-inside: avoid; }
figcaption { font-size: 8.5pt; color: #5b6470; margin-top: 2px; }
svg { width: 100%; height: auto; display: block; }
svg text { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 12px; fill: #1b1f24; }
svg .label { font-family: "DejaVu Sans Mono", Menlo, monospace; font-size: 11.5px; }
svg .head { font-weight: bold; font-size: 12.5px; }
svg .value { font-size: 11px; fill: #3d4550; }
svg .macs { fill: #2f5d8a; }
svg .params { fill: #d9822b; }
svg .track { fill: #eef1f5; }
.layer { break-inside: avoid; margin: 0 0 10px; padding: 6px 10px 8px; border-left: 3px solid #c9d3de; }
.layer h4 code { font-size: 1em; }
.layer .type { color: #2f5d8a; }
table.steps { width: auto; font-size: 8.8pt; margin: 4px 0 2px; }
table.steps td { border: 0; padding: 1px 6px 1px 0; white-space: nowrap; font-family: "DejaVu Sans Mono",
                 Menlo, Consolas, monospace; }
table.steps td.q { font-weight: bold; font-family: inherit; }
table.steps td.v { font-weight: bold; }
.note { font-size: 9pt; color: #3d4550; font-style: italic; }
pre.spec { background: #f5f7fa; border: 1px solid #dde3ea; border-radius: 4px; padding: 8px 10px;
           font-size: 8.4pt; line-height: 1.35; white-space: pre-wrap; word-break: break-word; }
.legend { margin-top: 22px; padding-top: 6px; border-top: 1px solid #c9d3de; font-size: 8.5pt; color: #4a525c; }
@media print {
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  h3, h4 { break-after: avoid; }
  section.model { break-inside: avoid; }
}
""".strip()

ELEMENTWISE = frozenset(ACTIVATIONS + PASSTHROUGH)
CHART_WIDTH = 1000
CHART_LABEL = 250
CHART_ROW = 22
CHART_TOP = 30


def esc(text: object) -> str:
    return escape(str(text), quote=True)


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
          foot: Sequence[str] | None = None, classes: Sequence[str] | None = None, css: str = "") -> str:
    """A <table>; cells are HTML already (escape text first); aligns are 'left' or 'right'."""
    def cls(i: int) -> str:
        names = ["num" if aligns[i] == "right" else "", classes[i] if classes else ""]
        joined = " ".join(n for n in names if n)
        return f' class="{joined}"' if joined else ""

    head = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(r)) + "</tr>\n" for r in rows)
    tfoot = ("<tfoot><tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(foot)) + "</tr></tfoot>\n"
             if foot else "")
    attr = f' class="{css}"' if css else ""
    return (f"<table{attr}>\n<thead><tr>{head}</tr></thead>\n"
            f"<tbody>\n{body}</tbody>\n{tfoot}</table>\n")


def share_cell(part: int, whole: int) -> str:
    """'24.2%' with a small bar in front of it."""
    width = f"{100 * part / whole:.1f}%" if whole else "0%"
    return f'<span class="share"><span style="width:{width}"></span></span>{esc(percent(part, whole))}'


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[int]]]) -> str:
    """Horizontal bars, one row per label and one panel per series (title, css class, values).

    Each panel is scaled to its own largest value, so MACs and params can sit side by side.
    """
    panel = (CHART_WIDTH - CHART_LABEL) // len(series)
    room = panel - 110  # what is left for the bar once its value label fits after it
    height = CHART_TOP + CHART_ROW * len(labels) + 6
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_WIDTH} {height}" role="img" '
           f'aria-label="{esc(" and ".join(s[0] for s in series))} per layer">']
    for p, (title, css, values) in enumerate(series):
        x0 = CHART_LABEL + p * panel
        out.append(f'<text class="head" x="{x0}" y="16">{esc(title)}</text>')
        top = max(values) if values else 0
        total = sum(values)
        for i, v in enumerate(values):
            y = CHART_TOP + i * CHART_ROW
            length = round(room * v / top, 1) if top else 0
            out.append(f'<rect class="track" x="{x0}" y="{y}" width="{room}" height="14"/>')
            out.append(f'<rect class="{css}" x="{x0}" y="{y}" width="{length}" height="14">'
                       f"<title>{esc(exact(v))}</title></rect>")
            out.append(f'<text class="value" x="{x0 + room + 5}" y="{y + 11}">'
                       f"{esc(human(v))} ({esc(percent(v, total))})</text>")
    for i, label in enumerate(labels):
        y = CHART_TOP + i * CHART_ROW + 11
        shown = label if len(label) <= 34 else "…" + label[-33:]
        out.append(f'<text class="label" x="{CHART_LABEL - 10}" y="{y}" text-anchor="end">{esc(shown)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def totals_block(report: ModelReport) -> str:
    shown = [(k, v) for k, v in totals_text(report.totals) if k != "buffers" or report.totals.buffers]
    items = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in shown)
    return f'<dl class="totals">{items}</dl>\n'


def layer_table(report: ModelReport, exact_numbers: bool) -> str:
    rows, total = layer_cells(report, exact_numbers)
    share = [c.header for c in LAYER_COLUMNS].index("% MACs")
    html_rows = []
    for layer, cells in zip(report.layers, rows):
        out = [esc(c) for c in cells]
        out[0] = name_cell(cells[0])
        out[share] = share_cell(layer.cost.macs, report.totals.macs)
        html_rows.append(out)
    classes = ["name" if i == 0 else "" for i in range(len(LAYER_COLUMNS))]
    return table([esc(c.header) for c in LAYER_COLUMNS], [c.align for c in LAYER_COLUMNS], html_rows,
                 [esc(c) for c in total], classes, "layers")


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
    rows = []
    for step in layer.steps:
        quantity, *middle, value = step.parts(exact)
        cells = [f'<td class="q">{esc(quantity)}</td>']
        cells += [f"<td>= {esc(m)}</td>" for m in middle]
        cells += ["<td></td>"] * (2 - len(middle))
        cells.append(f'<td class="v">= {esc(value)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    steps = '<table class="steps">\n' + "\n".join(rows) + "\n</table>\n" if rows else ""
    notes = "".join(f'<p class="note">{esc(n)}</p>\n' for n in layer.notes)
    return f'<div class="layer">\n{head}{steps}{notes}</div>\n'


def formulas_section(explanations: Sequence[ModelExplanation], heading: str, brief: bool = False) -> str:
    """Every layer's steps; with `brief`, activations and the like are named in one line instead."""
    out = [f'<section class="formulas">\n<h2>{esc(heading)}</h2>\n'
           '<p class="muted">Each number is the formula with this layer\'s sizes put in. H, W, C: the '
           "input's height, width, channels; Ho, Wo, Co: the output's; k kernel, s stride, d dilation, "
           "p padding; r and j: receptive field size and stride (r_in, j_in those of the input).</p>\n"]
    for expl in explanations:
        if len(explanations) > 1:
            out.append(f"<h3>{esc(expl.report.name)}</h3>\n")
        simple = [layer for layer in expl.layers if brief and layer.row.type in ELEMENTWISE]
        out.extend(steps_block(layer) for layer in expl.layers if layer not in simple)
        if simple:
            names = ", ".join(f"<code>{esc(layer.row.name)}</code>" for layer in simple)
            out.append(f'<p class="note">Not worked out here: {names}. They keep their input\'s shape and have '
                       "no params and no MACs; an activation costs 1 FLOP per element (convcost explain "
                       "shows every layer).</p>\n")
    out.append("</section>\n")
    return "".join(out)


def spec_section(sources: dict[str, str] | None, reports: Sequence[ModelReport]) -> str:
    """The YAML text of every spec the reports come from, as written."""
    if not sources:
        return ""
    paths = list(dict.fromkeys(r.source for r in reports if r.source in sources))
    blocks = "".join(f'<p class="muted">{esc(p)}</p>\n<pre class="spec">{esc(sources[p].rstrip())}</pre>\n'
                     for p in paths)
    return f'<section class="spec">\n<h2>The spec</h2>\n{blocks}</section>\n' if blocks else ""


def spec_heading(sources: dict[str, str] | None, reports: Sequence[ModelReport]) -> tuple[str, str]:
    """Title and description of the page: the spec file's own `name` and `description` when it is one file."""
    paths = list(dict.fromkeys(r.source for r in reports))
    if sources and len(paths) == 1 and paths[0] in sources:
        import yaml

        try:
            doc = yaml.safe_load(sources[paths[0]])
        except yaml.YAMLError:  # the spec was read already; this is only for the title
            doc = None
        if isinstance(doc, dict):
            name, desc = doc.get("name"), doc.get("description")
            if isinstance(name, str):
                return name, desc if isinstance(desc, str) else ""
    if len(reports) == 1:
        return reports[0].name, reports[0].description
    return ", ".join(r.name for r in reports), ""


def header(title: str, description: str, reports: Sequence[ModelReport], kind: str) -> str:
    from .. import __version__

    files = ", ".join(dict.fromkeys(r.source for r in reports))
    models = len(reports)
    meta = (f"{kind} of {models} model{'s' if models != 1 else ''} from {files} · convcost {__version__} · "
            "batch 1, exact counts")
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


def model_section(report: ModelReport, page_description: str, exact_numbers: bool, several: bool) -> str:
    desc = report.description if report.description and report.description != page_description else ""
    head = f"<h2>{esc(report.name)}</h2>\n" if several or desc else "<h2>Cost per layer</h2>\n"
    return (f'<section class="model">\n{head}'
            + (f"<p>{esc(desc)}</p>\n" if desc else "")
            + f'<p class="io">{arrows(in_out(report))}</p>\n'
            + totals_block(report) + layer_table(report, exact_numbers) + cost_chart(report)
            + "</section>\n")


def render_report(reports: list[ModelReport], *, exact: bool = False, models=None,
                  sources: dict[str, str] | None = None, **_options) -> str:
    """The handout: title, spec, then per model totals, table and chart; formulas when `models` are given."""
    title, description = spec_heading(sources, reports)
    body = [header(title, description, reports, "Cost report"), spec_section(sources, reports)]
    body += [model_section(r, description, exact, len(reports) > 1) for r in reports]
    if models is not None:
        explanations = [explain_model(m, r) for m, r in zip(models, reports, strict=True)]
        body.append(formulas_section(explanations, "How each number is worked out", brief=True))
    body.append(LEGEND)
    return page(title, "".join(body))


def render_explain(explanations: list[ModelExplanation], *, sources: dict[str, str] | None = None,
                   **_options) -> str:
    reports = [e.report for e in explanations]
    title, description = spec_heading(sources, reports)
    body = [header(title, description, reports, "Worked derivation"), spec_section(sources, reports),
            formulas_section(explanations, "How each number is worked out"), LEGEND]
    return page(title, "".join(body))

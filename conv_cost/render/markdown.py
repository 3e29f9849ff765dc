"""Markdown (GitHub-flavoured tables): one section per model, ready to paste into notes."""

from __future__ import annotations

import re

from ..cost import ModelReport
from ..explain import ModelExplanation
from ..text import inert
from .common import (by_layer_cells, by_layer_notes, compare_cells, compare_title, equation, in_out, layer_cells,
                     layer_columns, number_format, peak_line, settings_line, shapes_line, summary_lines)


# Characters that would start raw HTML, an entity, a link or image, a code span or emphasis; an
# underscore between letters or digits (mobilenet_v1) never does, so it stays as it is.
_MARKUP = re.compile(r"([\\`*\[\]<&~]|_(?![^\W_])|(?<![^\W_])_)")


def literal(words: str) -> str:
    """Text from the spec (a name, a description, a note quoting names) as literal Markdown: one
    line, control characters escaped, and `<img onerror=...>` or `[x](javascript:...)` shown as
    written, never rendered."""
    return _MARKUP.sub(r"\\\1", inert(" ".join(words.split("\n"))))


def cell(text: str) -> str:
    """Table cell text: pipes escaped, line breaks flattened."""
    return text.replace("|", "\\|").replace("\n", " ")


def code(text: str) -> str:
    """An inline code span that survives backticks inside the text (control characters escaped)."""
    text = inert(text)
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def marked_code(name: str) -> str:
    """A lined-up layer name in a code span, its mark (see by_layer_notes) outside it."""
    from .common import MARK

    if name.endswith(f" {MARK}"):
        return f"{code(name[:-2])} {MARK}"
    return code(name)


def table(headers: list[str], aligns: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table; aligns are 'left' or 'right'."""
    rule = ["---:" if a == "right" else "---" for a in aligns]
    lines = [headers, rule, *rows]
    return "\n".join("| " + " | ".join(cell(c) if i != 1 else c for c in line) + " |"
                     for i, line in enumerate(lines)) + "\n"


def heading(level: int, text: str) -> str:
    return f"{'#' * level} {text}\n"


def paragraphs(*texts: str) -> str:
    return "".join(f"{t}\n\n" for t in texts if t)


def report_section(report: ModelReport, exact: bool, columns, depth: int | None = None, groups=None) -> str:
    rows, total = layer_cells(report, exact, columns, groups)
    # Names go in code spans: '_' and '*' in layer paths are not emphasis.
    rows = [[code(r[0]), *r[1:]] for r in rows]
    total = [f"**{c}**" if c else "" for c in total]
    grouped = (f"Rows grouped by the first {depth} level{'s' if depth > 1 else ''} of the layer paths; they add up "
               "to the totals." if depth is not None else "")
    return (heading(1, literal(report.name)) + "\n"
            + paragraphs(literal(report.description), f"{in_out(report)}; {settings_line(report)}",
                         literal(peak_line(report, exact)), grouped)
            + table([c.header for c in columns], [c.align for c in columns], rows + [total]))


def render_report(reports: list[ModelReport], *, exact: bool = False, depth: int | None = None, groups=None,
                  **_options) -> str:
    columns = layer_columns(reports)
    return "\n".join(report_section(r, exact, columns, depth, None if groups is None else groups[i])
                     for i, r in enumerate(reports))


def explain_section(expl: ModelExplanation) -> str:
    report = expl.report
    out = [heading(1, literal(report.name)), "\n", paragraphs(literal(report.description), in_out(report))]
    for layer in expl.layers:
        row = layer.row
        out.append(heading(2, f"{code(row.name)} ({row.type}): {layer.summary}"))
        out.append("\n" + paragraphs(shapes_line(row)))
        out.extend(f"- {code(equation(step))}\n" for step in layer.steps)
        if layer.steps:
            out.append("\n")
        out.extend(f"> {literal(note)}\n\n" for note in layer.notes)
    if expl.totals:
        out.append(heading(2, "Totals"))
        out.append("\n")
        out.extend(f"- {code(equation(step))}\n" for step in expl.totals)
        out.append("\n")
        out.extend(f"> {literal(note)}\n\n" for note in expl.total_notes)
    return "".join(out).rstrip("\n") + "\n"


def render_explain(explanations: list[ModelExplanation], **_options) -> str:
    return "\n".join(explain_section(e) for e in explanations)


def model_list(comparison) -> str:
    """One bullet per model: name, what it is, and what it maps."""
    lines = []
    for i, e in enumerate(comparison.entries):
        role = " (baseline)" if i == 0 else ""
        desc = f": {literal(e.report.description)}" if e.report.description else ""
        lines.append(f"- **{literal(e.name)}**{role}{desc}; {in_out(e.report)}\n")
    return "".join(lines) + "\n"


def render_compare(comparison, *, exact: bool = False, by_layer: bool = False, **_options) -> str:
    """The totals side by side with ratios in words, one summary line per model, notes; with
    by_layer, a second table lining up the layers."""
    fmt = number_format(exact)
    headers, aligns, rows = compare_cells(comparison, exact)
    headers = [literal(h) for h in headers]  # model names
    out = [heading(1, literal(compare_title(comparison))), "\n", model_list(comparison), table(headers, aligns, rows),
           "\n"]
    out.append(paragraphs(*(literal(line) for line in summary_lines(comparison, fmt))))
    out.extend(f"> note: {literal(note)}\n\n" for note in comparison.notes)
    if by_layer:
        heads, aligns, rows, foot = by_layer_cells(comparison, exact)
        rows = [[marked_code(r[0]), *r[1:-1], literal(r[-1])] for r in rows]  # the last column names models
        foot = [f"**{c}**" if c else "" for c in foot]
        out += [heading(2, "By layer"), "\n",
                paragraphs("Layers matched by name; `-` where a model has no such layer; the change in MACs is "
                           "against the baseline."),
                table([f"{literal(m)} {label}" if m else label for m, label in heads], aligns, rows + [foot])]
        notes = by_layer_notes(comparison)
        if notes:
            out += ["\n", paragraphs(*(literal(n) for n in notes))]
    return "".join(out).rstrip("\n") + "\n"


def render_sweep(result, *, exact: bool = False, **_options) -> str:
    from .common import sweep_cells

    headers, aligns, rows = sweep_cells(result, exact)
    return heading(1, "Sweep") + "\n" + table(headers, aligns, [[literal(r[0]), *r[1:]] for r in rows])


def render_devices(devices, **_options) -> str:
    from .common import device_cells

    headers, aligns, rows = device_cells(devices)
    sources = sorted({(f.source.title, f.source.url) for d in devices
                      for f in (d.bandwidth_gbs, *(f for _, f in d.peak_tflops))})
    return (heading(1, "Devices for --device") + "\n" + paragraphs("Peak TFLOP/s per precision (int8: TOPS) and "
                                                                   "memory bandwidth in GB/s.")
            + table(headers, aligns, rows) + "\n" + heading(2, "Sources") + "\n"
            + "".join(f"- {cell(title)}: <{url}>\n" for title, url in sources))

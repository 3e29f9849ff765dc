"""What the handout formats (markdown, html, csv) share: the per-layer columns and equations.

Plain functions over reports, no rich, so the machine formats stay light; a later
`render_compare` can reuse the same columns and helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..cost import LayerRow, ModelReport
from ..explain import Step
from ..layers import Cost
from .numbers import exact as exact_number, human, percent

MACS_HEADER = "MACs (multiply-adds)"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the per-layer table: header, alignment, cell of a layer row and of the total."""

    header: str
    align: str  # "left" or "right"
    cell: Callable[[LayerRow, ModelReport, Callable[[int], str]], str]
    total: Callable[[ModelReport, Callable[[int], str]], str]


def _cost_column(header: str, key: str) -> Column:
    return Column(header, "right", lambda r, m, fmt: fmt(getattr(r.cost, key)),
                  lambda m, fmt: fmt(getattr(m.totals, key)))


LAYER_COLUMNS: tuple[Column, ...] = (
    Column("layer", "left", lambda r, m, fmt: r.name, lambda m, fmt: "total"),
    Column("type", "left", lambda r, m, fmt: r.type, lambda m, fmt: ""),
    Column("role", "left", lambda r, m, fmt: r.role or "", lambda m, fmt: ""),
    Column("output", "right", lambda r, m, fmt: str(r.output), lambda m, fmt: str(m.output)),
    Column("receptive field", "right", lambda r, m, fmt: field_text(r), lambda m, fmt: ""),
    _cost_column("params", "params"),
    _cost_column(MACS_HEADER, "macs"),
    _cost_column("FLOPs", "flops"),
    _cost_column("activations", "activations"),
    Column("% MACs", "right", lambda r, m, fmt: percent(r.cost.macs, m.totals.macs),
           lambda m, fmt: percent(m.totals.macs, m.totals.macs)),
)


def number_format(exact: bool) -> Callable[[int], str]:
    """Exact integers with separators (160,563,200) or short ones (160.56M)."""
    return exact_number if exact else human


def field_text(row: LayerRow) -> str:
    return str(row.receptive_field) if row.receptive_field is not None else ""


def layer_cells(report: ModelReport, exact: bool) -> tuple[list[list[str]], list[str]]:
    """The per-layer table of a report as text cells, and its total row."""
    fmt = number_format(exact)
    rows = [[c.cell(r, report, fmt) for c in LAYER_COLUMNS] for r in report.layers]
    return rows, [c.total(report, fmt) for c in LAYER_COLUMNS]


def equation(step: Step) -> str:
    """'MACs = Ho*Wo*filters*kh*kw*C/groups = 28*28*32*5*5*256/1 = 160,563,200'."""
    return " = ".join(step.parts(exact_number))


def in_out(report: ModelReport) -> str:
    return f"input {report.input} -> output {report.output}"


def totals_text(totals: Cost) -> list[tuple[str, str]]:
    """(label, exact number) pairs for a totals summary."""
    return [("params", exact_number(totals.params)), (MACS_HEADER, exact_number(totals.macs)),
            ("FLOPs", exact_number(totals.flops)), ("activations", exact_number(totals.activations)),
            ("buffers", exact_number(totals.buffers))]


def layer_heading(row: LayerRow, summary: str) -> str:
    return f"{row.name}: {summary}"


def shapes_line(row: LayerRow) -> str:
    """'28x28x256 -> 28x28x16, receptive field 1x1 s1'."""
    ins = ", ".join(str(s) for s in row.input_shapes)
    text = f"{ins} -> {row.output}"
    if row.receptive_field is not None:
        text += f"; receptive field {row.receptive_field}"
    return text

"""`convcost sweep`: the totals of every model at several input sizes, batches and precisions.

Each model is validated once per size (a layer that stops fitting is a SpecError naming it and the
size); each (batch, dtype) at that size is one analysis. Renderers only format the rows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

from .cost import ModelReport, Settings, analyze
from .errors import SpecError
from .graph import Model, with_input
from .layers import Shape
from .records import record


@record
class SweepRow:
    """One combination: the model's name, the input it ran on, the batch and dtype, and its report."""

    model: str
    input: Shape
    batch: int
    dtype: str
    report: ModelReport


@record
class Sweep:
    rows: tuple[SweepRow, ...]
    sizes: tuple[tuple[int, int], ...]
    batches: tuple[int, ...]
    dtypes: tuple[str, ...]


def sweep(models: Sequence[Model], sizes: Sequence[tuple[int, int]], batches: Sequence[int],
          dtypes: Sequence[str], settings_for: Callable[[str, int], Settings]) -> Sweep:
    """Every model at every size, batch and dtype (in that nesting order).

    settings_for(dtype, batch) gives the run settings (the roofline may depend on the dtype)."""
    rows = []
    for model in models:
        for h, w in sizes:
            shape = Shape(h, w, model.input.channels)
            try:
                sized = with_input(model, shape)
            except SpecError as exc:
                raise SpecError(replace(p, message=f"{p.message} (at input {h}x{w})") for p in exc.problems) from None
            for batch in batches:
                for dtype in dtypes:
                    rows.append(SweepRow(model.name, shape, batch, dtype, analyze(sized, settings_for(dtype, batch))))
    return Sweep(tuple(rows), tuple(sizes), tuple(batches), tuple(dtypes))

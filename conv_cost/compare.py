"""Models side by side: totals, ratios to the first (the baseline), and a layer-by-layer alignment.

Renderers only format a Comparison; every number they show is computed here (or in cost.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from .cost import DEFAULT_SETTINGS, LayerRow, ModelReport, Settings, analyze
from .graph import Model
from .layers import COST_KEYS, Cost
from .records import record
from .transforms import DEFAULT_REDUCE, TRANSFORMS, apply, find_bottlenecks


@record
class Ratio:
    """This model's totals divided by the baseline's, per key.

    0/0 is 1.0 (both have none); n/0 with n > 0 is None (no finite ratio). The byte keys are those
    of the memory model; time_s is None unless both models have a roofline time.
    """

    params: float | None = 1.0
    buffers: float | None = 1.0
    macs: float | None = 1.0
    flops: float | None = 1.0
    activations: float | None = 1.0
    weight_bytes: float | None = 1.0
    read_bytes: float | None = 1.0
    write_bytes: float | None = 1.0
    peak_activation_bytes: float | None = 1.0
    time_s: float | None = None


BYTE_KEYS = ("weight_bytes", "read_bytes", "write_bytes")
RATIO_KEYS = (*COST_KEYS, *BYTE_KEYS, "peak_activation_bytes")


def ratio(value, base) -> float | None:
    if base == 0:
        return 1.0 if value == 0 else None
    return float(value / base)  # exact ints (or Fractions) in, one rounding out


def ratios(totals: Cost, base: Cost) -> Ratio:
    """Of two Costs only (layer rows): the byte keys are left at 1.0."""
    return Ratio(*(ratio(getattr(totals, k), getattr(base, k)) for k in COST_KEYS))


def report_values(report: ModelReport) -> dict:
    """Every total a comparison relates: the costs, the byte sums, the peak."""
    values = {k: getattr(report.totals, k) for k in COST_KEYS}
    if report.total_bytes is not None:
        values.update({k: getattr(report.total_bytes, k) for k in BYTE_KEYS})
        values["peak_activation_bytes"] = report.peak.bytes
    return values


def report_ratios(report: ModelReport, base: ModelReport) -> Ratio:
    mine, theirs = report_values(report), report_values(base)
    time = ratio(report.time, base.time) if report.time is not None and base.time is not None else None
    return Ratio(**{k: ratio(mine[k], theirs[k]) for k in RATIO_KEYS if k in mine}, time_s=time)


@record
class Subject:
    """A model to compare, and where it came from: TRANSFORMS[transform] applied to model `variant_of`.

    model: the graph the report was made from, when known (handouts derive its formulas)."""

    report: ModelReport
    variant_of: str | None = None
    transform: str | None = None
    model: Model | None = None


@record
class Entry:
    """One model of a comparison.

    name: unique within the comparison (a repeated name gets " (2)", " (3)"...);
    report: the full per-layer report; ratio: totals / the baseline's totals;
    variant_of, transform: set when the model is a counterfactual made by a transform;
    model: the graph behind the report, when known.
    """

    name: str
    report: ModelReport
    ratio: Ratio
    variant_of: str | None = None
    transform: str | None = None
    model: Model | None = None
    macs_change: int = 0  # its MACs minus the baseline's

    @property
    def totals(self) -> Cost:
        return self.report.totals


@record
class LayerMatch:
    """One layer name and its row in each model (None where that model has no such layer).

    changes: per model after the baseline, its MACs minus the baseline's (a missing row counts 0);
    ratios: per model, its row's costs / the baseline row's (None where either row is missing);
    differs: why rows of this name are not the same layer ("type conv / deconv", "kernel 5x5 / 1x1",
    "input 28x28x256 / 28x28x16"), empty when they agree; by_default_name: the name is a default
    (`conv1`) in every model that has it, so the rows are matched by position alone."""

    name: str
    rows: tuple[LayerRow | None, ...]
    changes: tuple[int, ...] = ()
    ratios: tuple[Ratio | None, ...] = ()
    differs: str = ""
    by_default_name: bool = False


@record
class Comparison:
    """entries: the models, the baseline first; layers: every layer name of any model, aligned
    (matching names share a row; a layer of one model only comes after that model's previous
    matched layer); notes: what the transforms did or why a variant was left out."""

    entries: tuple[Entry, ...]
    layers: tuple[LayerMatch, ...]
    notes: tuple[str, ...] = ()

    @property
    def baseline(self) -> Entry:
        return self.entries[0]


def unique_names(names: Sequence[str]) -> list[str]:
    """The names, with " (2)", " (3)"... appended to repeats so each one is unique."""
    seen: set[str] = set(names)
    count: dict[str, int] = {}
    out = []
    for name in names:
        count[name] = count.get(name, 0) + 1
        if count[name] == 1:
            out.append(name)
            continue
        n = count[name]
        while f"{name} ({n})" in seen:
            n += 1
        seen.add(f"{name} ({n})")
        out.append(f"{name} ({n})")
    return out


# Lining up L layer names over M models makes L x M cells; beyond this the alignment is left out
# (with a note) rather than filling memory: 1,000 models of 1,000 distinct layers would be 10^9.
MAX_ALIGNED_CELLS = 4_000_000


def layer_order(row_lists: Sequence[Sequence]) -> list[str]:
    """Every layer name of any model, each model's own order kept: a name new to the order goes right
    after the model's previous layer that is already there. Linear in the number of rows."""
    following: dict[str | None, str | None] = {None: None}  # a linked list; None is the head
    for rows in row_lists:
        cursor: str | None = None
        for row in rows:
            name = row.name
            if name not in following:
                following[name] = following[cursor]
                following[cursor] = name
            cursor = name
    order = []
    name = following[None]
    while name is not None:
        order.append(name)
        name = following[name]
    return order


def _differs(rows: Sequence[LayerRow | None]) -> str:
    """What sets rows of one name apart: their type, kernel or input shape (the first that differs).
    A different input alone is what a bottleneck does to the conv after it; a different type or
    kernel means the name stands for different layers."""
    present = [r for r in rows if r is not None]
    if len(present) < 2 or any(r.layer is None for r in present if isinstance(r, LayerRow)) or not all(
            isinstance(r, LayerRow) for r in present):
        return ""  # groups (--depth) are compared as sums, not as layers
    for what, value in (("type", lambda r: r.type),
                        ("kernel", lambda r: "x".join(map(str, getattr(r.layer, "kernel", ()) or ())) or "-"),
                        ("input", lambda r: ", ".join(str(s) for s in r.input_shapes))):
        values = list(dict.fromkeys(value(r) for r in present))
        if len(values) > 1:
            return f"{what} {' / '.join(values)}"
    return ""


def _layer_ratios(row: LayerRow | None, base: LayerRow | None) -> Ratio | None:
    if row is None or base is None:
        return None
    return ratios(row.cost, base.cost)


def align(reports: Sequence[ModelReport], named: Sequence[dict[str, bool]] | None = None,
          depth: int | None = None) -> tuple[LayerMatch, ...]:
    """Line up the layers of several models by name, keeping each model's own order; with each row, the
    changes and ratios against the baseline and whether the rows really are one layer.

    named: per model, whether the spec named each layer (False for a default name like `conv1`);
    depth: line up the groups of the first `depth` path levels instead (conv_cost.groups)."""
    if not reports:
        return ()
    if depth is not None:
        from .groups import group_rows

        row_lists = [group_rows(r, depth) for r in reports]
        named = None
    else:
        row_lists = [r.layers for r in reports]
    by_name = [{row.name: row for row in rows} for rows in row_lists]
    out = []
    for name in layer_order(row_lists):
        rows = tuple(rows.get(name) for rows in by_name)
        base = rows[0]
        base_macs = base.cost.macs if base is not None else 0
        changes = tuple((r.cost.macs if r is not None else 0) - base_macs for r in rows[1:])
        default = named is not None and all(not n.get(name, True) for n, r in zip(named, rows) if r is not None)
        out.append(LayerMatch(name, rows, changes, tuple(_layer_ratios(r, base) for r in rows), _differs(rows),
                              default and sum(r is not None for r in rows) > 1))
    return tuple(out)


def compare(items: Sequence[ModelReport | Subject], notes: Sequence[str] = (), depth: int | None = None
            ) -> Comparison:
    """Compare reports (or Subjects), the first as the baseline; with depth, line up groups of layers."""
    subjects = [i if isinstance(i, Subject) else Subject(i) for i in items]
    if not subjects:
        raise ValueError("compare needs at least one model")
    base = subjects[0].report
    names = unique_names([s.report.name for s in subjects])
    entries = tuple(Entry(name, s.report, report_ratios(s.report, base), s.variant_of, s.transform, s.model,
                          s.report.totals.macs - base.totals.macs)
                    for name, s in zip(names, subjects))
    reports = [s.report for s in subjects]
    notes = list(notes)
    distinct = len(set().union(*({r.name for r in rep.layers} for rep in reports)))
    if distinct * len(reports) > MAX_ALIGNED_CELLS:
        notes.append(f"the layers are not lined up: {distinct:,} layer names in {len(reports):,} models make "
                     f"more than {MAX_ALIGNED_CELLS:,} cells")
        return Comparison(entries, (), tuple(notes))
    named = [{n.name: n.named for n in s.model.nodes} if s.model is not None else {} for s in subjects]
    return Comparison(entries, align(reports, named, depth), tuple(notes))


def default_transform(model: Model) -> str:
    """The counterfactual of a lone model: without bottlenecks if it has one, else with them."""
    return "remove_bottlenecks" if find_bottlenecks(model) else "add_bottlenecks"


def changes(before: Model, after: Model) -> str:
    """What a transform did, in words: the layers it removed, added and changed."""
    old = {n.name: n for n in before.nodes}
    new = {n.name: n for n in after.nodes}
    parts = []
    for verb, names in (("removed", [n for n in old if n not in new]),
                        ("added", [n for n in new if n not in old]),
                        ("changed", [n for n in new if n in old and new[n] != old[n]])):
        if names:
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            parts.append(f"{verb} {shown}")
    return "; ".join(parts)


NOTHING_TO_DO = {
    "remove_bottlenecks": "it has no 1x1 bottleneck to remove",
    "add_bottlenecks": "every larger conv already has a bottleneck, has groups > 1, or too few channels to reduce",
    "standard_conv": "it has no dwconv followed by a 1x1 conv",
    "fc_head": "it has no global average pool in a classifier head (before an fc, or ending the network)",
}


def subjects(models: Sequence[Model], transforms: Sequence[str] | None = None, *,
             reduce: int = DEFAULT_REDUCE, reduce_to: int | None = None,
             settings: Settings = DEFAULT_SETTINGS) -> tuple[list[Subject], list[str]]:
    """Each model followed by its variants, analyzed; and notes on what each transform did.

    transforms: TRANSFORMS keys to apply to every model; None means the default (a lone model
    gets its bottleneck counterfactual, several models none). A variant identical to its model
    is left out, with a note saying so.
    """
    if transforms is None:
        transforms = [default_transform(models[0])] if len(models) == 1 else []
    unknown = [k for k in transforms if k not in TRANSFORMS]
    if unknown:
        raise ValueError(f"unknown transform(s) {unknown}; known: {list(TRANSFORMS)}")
    wanted = [k for k in TRANSFORMS if k in transforms]  # registry order, each once
    out: list[Subject] = []
    notes: list[str] = []
    for model in models:
        out.append(Subject(analyze(model, settings), model=model))
        for key in wanted:
            variant = apply(key, model, reduce=reduce, reduce_to=reduce_to)
            label = TRANSFORMS[key].label
            if variant.nodes == model.nodes:
                notes.append(f"no '{model.name} {label}': {NOTHING_TO_DO[key]}")
                continue
            what = changes(model, variant)
            if key == "add_bottlenecks":
                what = (f"1x1 convs to {reduce_to} channels" if reduce_to else f"1x1 convs to C // {reduce}") + f": {what}"
            variant = replace(variant, description=what)
            out.append(Subject(analyze(variant, settings), model.name, key, variant))
            notes.append(f"{variant.name}: {what}")
    return out, notes


def compare_models(models: Sequence[Model], transforms: Sequence[str] | None = None, *,
                   reduce: int = DEFAULT_REDUCE, reduce_to: int | None = None,
                   settings: Settings = DEFAULT_SETTINGS, depth: int | None = None) -> Comparison:
    """Compare models and the variants `transforms` make of them (see `subjects`), the first as the baseline."""
    items, notes = subjects(models, transforms, reduce=reduce, reduce_to=reduce_to, settings=settings)
    return compare(items, notes, depth)

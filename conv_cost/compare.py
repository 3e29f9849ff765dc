"""Models side by side: totals, ratios to the first (the baseline), and a layer-by-layer alignment.

Renderers only format a Comparison; every number they show is computed here (or in cost.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from .cost import LayerRow, ModelReport, analyze
from .graph import Model
from .layers import COST_KEYS, Cost
from .transforms import DEFAULT_REDUCE, TRANSFORMS, apply, find_bottlenecks


@dataclass(frozen=True, slots=True)
class Ratio:
    """This model's totals divided by the baseline's, per cost key.

    0/0 is 1.0 (both have none); n/0 with n > 0 is None (no finite ratio).
    """

    params: float | None = 1.0
    buffers: float | None = 1.0
    macs: float | None = 1.0
    flops: float | None = 1.0
    activations: float | None = 1.0


def ratio(value: int, base: int) -> float | None:
    if base == 0:
        return 1.0 if value == 0 else None
    return value / base


def ratios(totals: Cost, base: Cost) -> Ratio:
    return Ratio(*(ratio(getattr(totals, k), getattr(base, k)) for k in COST_KEYS))


@dataclass(frozen=True, slots=True)
class Subject:
    """A model to compare, and where it came from: TRANSFORMS[transform] applied to model `variant_of`.

    model: the graph the report was made from, when known (handouts derive its formulas)."""

    report: ModelReport
    variant_of: str | None = None
    transform: str | None = None
    model: Model | None = None


@dataclass(frozen=True, slots=True)
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

    @property
    def totals(self) -> Cost:
        return self.report.totals


@dataclass(frozen=True, slots=True)
class LayerMatch:
    """One layer name and its row in each model (None where that model has no such layer)."""

    name: str
    rows: tuple[LayerRow | None, ...]


@dataclass(frozen=True, slots=True)
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


def align(reports: Sequence[ModelReport]) -> tuple[LayerMatch, ...]:
    """Line up the layers of several models by name, keeping each model's own order."""
    if not reports:
        return ()
    order = [row.name for row in reports[0].layers]
    for report in reports[1:]:
        known = set(order)
        # New names go right after the model's previous layer that is already in the order.
        after: dict[str | None, list[str]] = {}
        anchor: str | None = None
        for row in report.layers:
            if row.name in known:
                anchor = row.name
            else:
                after.setdefault(anchor, []).append(row.name)
        merged = list(after.get(None, ()))
        for name in order:
            merged.append(name)
            merged.extend(after.get(name, ()))
        order = merged
    by_name = [{row.name: row for row in r.layers} for r in reports]
    return tuple(LayerMatch(name, tuple(rows.get(name) for rows in by_name)) for name in order)


def compare(items: Sequence[ModelReport | Subject], notes: Sequence[str] = ()) -> Comparison:
    """Compare reports (or Subjects), the first as the baseline."""
    subjects = [i if isinstance(i, Subject) else Subject(i) for i in items]
    if not subjects:
        raise ValueError("compare needs at least one model")
    base = subjects[0].report.totals
    names = unique_names([s.report.name for s in subjects])
    entries = tuple(Entry(name, s.report, ratios(s.report.totals, base), s.variant_of, s.transform,
                          s.model)
                    for name, s in zip(names, subjects))
    return Comparison(entries, align([s.report for s in subjects]), tuple(notes))


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
             reduce: int = DEFAULT_REDUCE, reduce_to: int | None = None) -> tuple[list[Subject], list[str]]:
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
        out.append(Subject(analyze(model), model=model))
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
            out.append(Subject(analyze(variant), model.name, key, variant))
            notes.append(f"{variant.name}: {what}")
    return out, notes


def compare_models(models: Sequence[Model], transforms: Sequence[str] | None = None, *,
                   reduce: int = DEFAULT_REDUCE, reduce_to: int | None = None) -> Comparison:
    """Compare models and the variants `transforms` make of them (see `subjects`), the first as the baseline."""
    items, notes = subjects(models, transforms, reduce=reduce, reduce_to=reduce_to)
    return compare(items, notes)

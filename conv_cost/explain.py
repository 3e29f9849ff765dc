"""How each layer's output shape, costs and receptive field follow from its inputs.

Every Step carries the formula, the same formula with the numbers substituted, and the
value, which is always read from the LayerRow that cost.analyze computed (never worked out
a second time here); tests evaluate the substituted text and check it gives that value.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cost import LayerRow, ModelReport, analyze
from .graph import INPUT, Model
from .receptive import ReceptiveField

# Step keys -> the LayerRow number a step equals.
KEYS = ("height", "width", "channels", "params", "buffers", "macs", "flops", "activations",
        "rf_size_h", "rf_size_w", "rf_stride_h", "rf_stride_w")
COST_LABELS = {"params": "params", "buffers": "buffers", "macs": "MACs", "flops": "FLOPs",
               "activations": "activations"}


@dataclass(frozen=True, slots=True)
class Step:
    """One derived number: `quantity = formula = substituted = value`."""

    quantity: str
    keys: tuple[str, ...]  # the LayerRow numbers it equals (two when both axes agree)
    formula: str
    substituted: str
    value: int  # a Fraction for a receptive-field stride or size below one pixel

    def parts(self, number=str) -> tuple[str, ...]:
        """quantity, formula, substituted numbers (left out when they add nothing), value."""
        value = number(self.value) if type(self.value) is int else str(self.value)
        middle = (self.formula,) if self.substituted in (str(self.value), self.formula) else (
            self.formula, self.substituted)
        return (self.quantity, *middle, value)


@dataclass(frozen=True, slots=True)
class LayerExplanation:
    row: LayerRow
    summary: str  # what the layer is, e.g. "5x5 conv, 32 filters, stride 1, padding same"
    steps: tuple[Step, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ModelExplanation:
    report: ModelReport
    layers: tuple[LayerExplanation, ...]


def row_value(row: LayerRow, key: str) -> int:
    """The number of `row` that a step key names."""
    if key in ("height", "width", "channels"):
        return getattr(row.output, key)
    if key.startswith("rf_"):
        rf = row.receptive_field or ReceptiveField()
        pair = rf.size if key.startswith("rf_size") else rf.stride
        return pair[0] if key.endswith("_h") else pair[1]
    return getattr(row.cost, key)


def explain_model(model: Model, report: ModelReport | None = None) -> ModelExplanation:
    """Explain every layer of `model` (analysed here unless its report is given)."""
    from .transforms import find_bottlenecks

    report = report or analyze(model)
    bottlenecks = {b.reduce: b.conv for b in find_bottlenecks(model)}
    fields = {INPUT: ReceptiveField(), **{r.name: r.receptive_field or ReceptiveField() for r in report.layers}}
    layers = tuple(explain_layer(row, tuple([fields[i] for i in row.inputs]), bottlenecks.get(row.name))
                   for row in report.layers)
    return ModelExplanation(report, layers)


class Derivation:
    """The steps and notes of one layer, each value read from its row; layer types add to it."""

    __slots__ = ("row", "steps", "notes", "bottleneck")

    def __init__(self, row: LayerRow, bottleneck: str | None = None):
        self.row = row
        self.steps: list[Step] = []
        self.notes: list[str] = []
        self.bottleneck = bottleneck  # a 1x1 bottleneck (the contract's sense): the larger conv it serves

    def add(self, quantity: str, keys: tuple[str, ...], formula: str, substituted: str) -> None:
        self.steps.append(Step(quantity, keys, formula, substituted, row_value(self.row, keys[0])))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def axes(self, names: tuple[str, str], keys: tuple[str, str], per_axis, together: str = "") -> None:
        """One step per axis, or a single one when both axes work out alike.

        per_axis(axis, symbols) -> (formula, substituted); symbols maps 'X', 'k', 's', 'd', 'p' to
        the axis' letters (H, kh, ...), or to the axis-free ones (H, k, ...) for the single step.
        """
        both = [per_axis(a, _SYMBOLS[a]) for a in (0, 1)]
        if both[0][1] == both[1][1] and row_value(self.row, keys[0]) == row_value(self.row, keys[1]):
            formula, subst = per_axis(0, _SYMBOLS[None])
            self.add(together or f"{names[0]} = {names[1]}", keys, formula, subst)
        else:
            for a in (0, 1):
                self.add(names[a], (keys[a],), *both[a])


_SYMBOLS = {
    0: {"X": "H", "k": "kh", "s": "sh", "d": "dh", "p": "ph"},
    1: {"X": "W", "k": "kw", "s": "sw", "d": "dw", "p": "pw"},
    None: {"X": "H", "k": "k", "s": "s", "d": "d", "p": "p"},
}


def explain_layer(row: LayerRow, in_fields: tuple[ReceptiveField, ...], bottleneck: str | None = None
                  ) -> LayerExplanation:
    """The steps and notes of one layer, given its row and its inputs' receptive fields."""
    d = Derivation(row, bottleneck)
    summary = row.layer.explain(d, row.input_shapes, row.output, in_fields)
    return LayerExplanation(row, summary, tuple(d.steps), tuple(d.notes))


def select_layer(explanations: list[ModelExplanation], name: str) -> list[ModelExplanation]:
    """Keep only the layer `name` of each model that has it (models without it are left out)."""
    out = []
    for e in explanations:
        kept = tuple(layer for layer in e.layers if layer.row.name == name)
        if kept:
            out.append(ModelExplanation(e.report, kept))
    return out

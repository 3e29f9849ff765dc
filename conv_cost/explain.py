"""How each layer's output shape, costs, bytes and receptive field follow from its inputs, and how the
model's totals and its peak of activation memory follow from its layers.

Every Step carries the formula, the same formula with the numbers substituted, and the
value, which is always read from the LayerRow (or the report) that cost.analyze computed (never
worked out a second time here); tests evaluate the substituted text and check it gives that value.
Each layer type derives its own shape and per-image costs (`explain` in conv_cost/layers); the
bytes, the batch and the roofline time are the same for every type and are derived here.
"""

from __future__ import annotations

from .cost import DEFAULT_SETTINGS, LayerRow, ModelReport, analyze
from .graph import INPUT, Model
from .layers import Layer
from .receptive import ReceptiveField
from .records import record

# Step keys -> the LayerRow number a step equals: per image (the layer types' own steps), for
# the batch, in bytes, on the roofline.
KEYS = ("height", "width", "channels", "params", "buffers", "macs", "flops", "activations",
        "rf_size_h", "rf_size_w", "rf_stride_h", "rf_stride_w", "batch_macs", "batch_flops", "batch_activations",
        "weight_bytes", "output_bytes", "read_bytes", "write_bytes", "intensity", "time_s")
# Keys of the totals' steps -> the report number they equal.
TOTAL_KEYS = ("params", "buffers", "macs", "flops", "activations", "weight_bytes", "output_bytes", "read_bytes",
              "write_bytes", "peak_activation_bytes", "time_s")
COST_LABELS = {"params": "params", "buffers": "buffers", "macs": "MACs", "flops": "FLOPs",
               "activations": "activations"}


@record
class Step:
    """One derived number: `quantity = formula = substituted = value`."""

    quantity: str
    keys: tuple[str, ...]  # the LayerRow numbers it equals (two when both axes agree)
    formula: str
    substituted: str
    value: int  # a Fraction for a receptive-field stride or size below one pixel

    def parts(self, number=str) -> tuple[str, ...]:
        """quantity, formula, substituted numbers (left out when they add nothing), value."""
        v = self.value
        value = number(v) if type(v) is int else f"{v:.4g}" if type(v) is float else str(v)
        middle = (self.formula,) if self.substituted in (str(self.value), self.formula) else (
            self.formula, self.substituted)
        return (self.quantity, *middle, value)


@record
class LayerExplanation:
    row: LayerRow
    summary: str  # what the layer is, e.g. "5x5 conv, 32 filters, stride 1, padding same"
    steps: tuple[Step, ...]
    notes: tuple[str, ...]


@record
class ModelExplanation:
    """The layers' derivations, then the totals as sums of the layers and the peak of live memory."""

    report: ModelReport
    layers: tuple[LayerExplanation, ...]
    totals: tuple[Step, ...] = ()
    total_notes: tuple[str, ...] = ()
    simple: tuple[str, ...] = ()  # in a handout: layers only named (is_simple)
    left_out: tuple[str, ...] = ()  # in a handout: layers past HANDOUT_LAYERS, only counted


def row_value(row: LayerRow, key: str) -> int:
    """The number of `row` that a step key names."""
    if key in ("height", "width", "channels"):
        return getattr(row.output, key)
    if key.startswith("batch_"):
        return getattr(row.cost, key[6:])
    if key in _BYTE_KEYS:
        return getattr(row.bytes, key)
    if key == "time_s":
        return row.time.time_s
    if key.startswith("rf_"):
        rf = row.receptive_field or ReceptiveField()
        pair = rf.size if key.startswith("rf_size") else rf.stride
        v = pair[0] if key.endswith("_h") else pair[1]
        return v if type(v) is int or v.denominator != 1 else int(v)  # a whole Fraction is an int
    return getattr(row.per_image or row.cost, key)


_BYTE_KEYS = frozenset(("weight_bytes", "output_bytes", "read_bytes", "write_bytes", "intensity"))


def total_value(report: ModelReport, key: str):
    """The number of the report's totals that a totals step key names."""
    if key == "peak_activation_bytes":
        return report.peak.bytes
    if key == "time_s":
        return float(report.time)
    if key in _BYTE_KEYS:
        return getattr(report.total_bytes, key)
    return getattr(report.totals, key)


# A handout works out at most this many layers of a model (DenseNet-121, the largest bundled, has 426): more is
# no longer a handout. `convcost explain` works out every layer.
HANDOUT_LAYERS = 1_000


def is_simple(layer: Layer) -> bool:
    """Shape-preserving, no params, no MACs: an activation or a free layer such as dropout."""
    t = layer.traits
    return "elementwise" in t and ("activation" in t or "free" in t)


def explain_model(model: Model, report: ModelReport | None = None, only: str | None = None, *,
                  handout: bool = False) -> ModelExplanation:
    """Explain every layer of `model` (analysed here unless its report is given), or only the layer `only`
    (then without the model's totals). With `handout`, what a handout shows: simple layers are only
    named, and layers past the first HANDOUT_LAYERS others only counted."""
    from .transforms import find_bottlenecks

    report = report or analyze(model)
    bottlenecks = {b.reduce: b.conv for b in find_bottlenecks(model)}
    fields = {INPUT: ReceptiveField(), **{r.name: r.receptive_field or ReceptiveField() for r in report.layers}}
    rows = report.layers if only is None else [r for r in report.layers if r.name == only]
    simple = left_out = ()
    if handout:
        simple = tuple(r.name for r in rows if is_simple(r.layer))
        worked = [r for r in rows if not is_simple(r.layer)]
        rows, left_out = worked[:HANDOUT_LAYERS], tuple(r.name for r in worked[HANDOUT_LAYERS:])
    layers = tuple(explain_layer(row, tuple([fields[i] for i in row.inputs]), bottlenecks.get(row.name),
                                 report.settings) for row in rows)
    if only is not None:
        return ModelExplanation(report, layers)
    totals, notes = explain_totals(report)
    return ModelExplanation(report, layers, totals, notes, simple, left_out)


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


def explain_layer(row: LayerRow, in_fields: tuple[ReceptiveField, ...], bottleneck: str | None = None,
                  settings=None) -> LayerExplanation:
    """The steps and notes of one layer, given its row and its inputs' receptive fields."""
    d = Derivation(row, bottleneck)
    summary = row.layer.explain(d, row.input_shapes, row.output, in_fields)
    settings = settings or DEFAULT_SETTINGS
    _batch_steps(d, settings.batch)
    _byte_steps(d, settings.bytes_per_element, settings.batch)
    return LayerExplanation(row, summary, tuple(d.steps), tuple(d.notes))


def _batch_steps(d: Derivation, n: int) -> None:
    """With a batch of N, the counts that scale by it."""
    row = d.row
    if n == 1:
        return
    for key, label in (("macs", "MACs"), ("flops", "FLOPs"), ("activations", "activations")):
        value = getattr(row.per_image, key)
        if value:
            d.add(f"{label} for the batch", (f"batch_{key}",), f"N*{label}", f"{n}*{value}")


def _byte_steps(d: Derivation, b: int, n: int) -> None:
    """weight, output, read and write bytes and the intensity (contract section 6), with b bytes per
    element and a batch of N; the roofline time when a machine is given."""
    row = d.row
    if row.bytes is None:
        return
    one = row.per_image or row.cost
    d.add("weight bytes", ("weight_bytes",), "(params + buffers)*b", f"({one.params} + {one.buffers})*{b}")
    d.add("output bytes", ("output_bytes",), "N*activations*b", f"{n}*{one.activations}*{b}")
    ins = " + ".join(str(s.elements) for s in row.input_shapes)
    ins = f"({ins})" if len(row.input_shapes) > 1 else ins
    d.add("read bytes", ("read_bytes",), "N*(elements of every input)*b + weight bytes",
          f"{n}*{ins}*{b} + {row.bytes.weight_bytes}")
    d.add("write bytes", ("write_bytes",), "output bytes", str(row.bytes.output_bytes))
    m = row.bytes
    d.add("FLOPs/byte", ("intensity",), "FLOPs/(read bytes + write bytes)",
          f"{m.flops}/({m.read_bytes} + {m.write_bytes})")
    if row.time is not None:
        d.note(f"Roofline: {row.time.bound}-bound; compute {float(row.time.compute_s):.3g} s, "
               f"memory {float(row.time.memory_s):.3g} s; its time is the larger, {row.time.time_s:.3g} s.")


def explain_totals(report: ModelReport) -> tuple[tuple[Step, ...], tuple[str, ...]]:
    """The model's totals as sums of its layers (the terms written out up to SHOWN_TERMS layers),
    and where its activation memory peaks."""
    rows = report.layers
    steps = []

    def add(label: str, key: str, values: list[int]) -> None:
        terms = [v for v in values if v]
        if len(terms) <= SHOWN_TERMS:
            substituted = " + ".join(str(v) for v in terms) or "0"
            formula = f"sum of the layers' {label}"
        else:
            substituted = f"sum of {len(terms)} layers"
            formula = f"sum of the layers' {label}"
        steps.append(Step(label, (key,), formula, substituted, total_value(report, key)))

    for key, label in (("params", "params"), ("buffers", "buffers"), ("macs", "MACs"), ("flops", "FLOPs"),
                       ("activations", "activations")):
        if key != "buffers" or report.totals.buffers:
            add(label, key, [getattr(r.cost, key) for r in rows])
    if report.total_bytes is not None:
        for key, label in (("weight_bytes", "weight bytes"), ("read_bytes", "read bytes"),
                           ("write_bytes", "write bytes")):
            add(label, key, [getattr(r.bytes, key) for r in rows])
        t = report.total_bytes
        steps.append(Step("FLOPs/byte", ("intensity",), "total FLOPs/(read bytes + write bytes)",
                          f"{t.flops}/({t.read_bytes} + {t.write_bytes})", t.intensity))
    notes = []
    peak = report.peak
    if peak is not None:
        live = " + ".join(str(t.bytes) for t in peak.live)
        steps.append(Step("peak activation bytes", ("peak_activation_bytes",),
                          "sum of the bytes live " + (f"while {peak.layer_name} runs" if peak.layer_name
                                                      else "before any layer runs"), live, peak.bytes))
        names = ", ".join(t.name + (f" (and its views {', '.join(t.views)})" if t.views else "") for t in peak.live)
        notes.append(f"Activation memory peaks {'while ' + peak.layer_name + ' runs' if peak.layer_name else 'before any layer runs'}"
                     f": live then are {names}. A tensor is live from the layer that makes it (the input from the "
                     "start) until its last reader has run; the running layer's inputs and output are live; "
                     "flatten, identity and dropout share their input's memory.")
    if report.time is not None:
        times = [r.time.time_s for r in rows]
        memory = sum(1 for r in rows if r.time.bound == "memory")
        steps.append(Step("time", ("time_s",), "sum of the layers' times",
                          " + ".join(f"{t:.3g}" for t in times) if len(times) <= SHOWN_TERMS else
                          f"sum of {len(times)} layers", float(report.time)))
        notes.append(f"Roofline: {memory} of {len(rows)} layers are memory-bound (they move more bytes than the "
                     "machine can feed its peak FLOP/s); the others are compute-bound.")
    return tuple(steps), tuple(notes)


SHOWN_TERMS = 12  # the terms of a total written out; beyond this the step says how many layers


def layer_matches(names, wanted: str) -> list[str]:
    """The full paths `wanted` names: itself, or the paths it ends (after a '/'), such as `3x3` for
    `inception_3a/b2/3x3`."""
    names = list(dict.fromkeys(names))
    if wanted in names:
        return [wanted]
    return [n for n in names if n.endswith("/" + wanted)]

"""How each layer's output shape, costs and receptive field follow from its inputs.

Every Step carries the formula, the same formula with the numbers substituted, and the
value, which is always read from the LayerRow that cost.analyze computed (never worked out
a second time here); tests evaluate the substituted text and check it gives that value.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cost import LayerRow, ModelReport, analyze
from .graph import INPUT, Model
from .layers import (ACTIVATIONS, Add, BatchNorm, Concat, Conv2d, DepthwiseConv2d, Elementwise, Flatten,
                     GlobalPool, Layer, Linear, Pool2d, Shape)
from .receptive import ReceptiveField, sees_everything, window

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
    value: int

    def parts(self, number=str) -> tuple[str, ...]:
        """quantity, formula, substituted numbers (left out when they add nothing), value."""
        value = number(self.value)
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
    report = report or analyze(model)
    fields = {INPUT: ReceptiveField(), **{r.name: r.receptive_field or ReceptiveField() for r in report.layers}}
    layers = tuple(explain_layer(node.layer, row, tuple(fields[i] for i in row.inputs))
                   for node, row in zip(model.nodes, report.layers, strict=True))
    return ModelExplanation(report, layers)


class _Builder:
    """Collects the steps of one layer, reading each value from its row."""

    def __init__(self, row: LayerRow):
        self.row = row
        self.steps: list[Step] = []
        self.notes: list[str] = []

    def add(self, quantity: str, keys: tuple[str, ...], formula: str, substituted: str) -> None:
        self.steps.append(Step(quantity, keys, formula, substituted, row_value(self.row, keys[0])))

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


def explain_layer(layer: Layer, row: LayerRow, in_fields: tuple[ReceptiveField, ...]) -> LayerExplanation:
    """The steps and notes of one layer, given its row and its inputs' receptive fields."""
    b = _Builder(row)
    x = row.input_shapes[0]
    if isinstance(layer, DepthwiseConv2d):
        conv = layer.as_conv(x.channels)
        summary = _conv_summary(conv, f"{_pair(layer.kernel)} depthwise conv, multiplier {layer.multiplier}")
        b.notes.append(f"Depthwise: each of the {x.channels} input channels is filtered on its own "
                       f"(a conv with groups = C = {x.channels} and filters = C*multiplier = {conv.filters}); "
                       "it mixes no channels.")
        _conv_steps(b, conv, x, channels=("C*multiplier", f"{x.channels}*{layer.multiplier}"))
    elif isinstance(layer, Conv2d):
        summary = _conv_summary(layer, f"{_pair(layer.kernel)} conv, {layer.filters} filters")
        _conv_steps(b, layer, x, channels=("filters", str(layer.filters)))
        _conv_notes(b, layer, x)
    elif isinstance(layer, Linear):
        summary = f"fully connected, {layer.units} units" + ("" if layer.bias else ", no bias")
        _linear_steps(b, layer, x)
    elif isinstance(layer, Pool2d):
        summary = (f"{_pair(layer.kernel)} {layer.type}, stride {_step(layer.strides)}, "
                   f"padding {_padding(layer.padding)}" + (", ceil_mode" if layer.ceil_mode else ""))
        _pool_steps(b, layer, x)
    elif isinstance(layer, GlobalPool):
        summary = "global average pool" if layer.type == "gap" else "global max pool"
        b.add("FLOPs", ("flops",), "H*W*C", f"{x.height}*{x.width}*{x.channels}")
        b.add("activations", ("activations",), "C", str(x.channels))
        b.notes.append(f"Each of the {x.channels} channels is reduced to one number over its "
                       f"{x.height}x{x.width} map.")
    elif isinstance(layer, BatchNorm):
        summary = "batch normalization"
        b.add("params", ("params",), "2*C", f"2*{x.channels}")
        b.add("buffers", ("buffers",), "2*C", f"2*{x.channels}")
        b.add("FLOPs", ("flops",), "2*H*W*C", f"2*{x.height}*{x.width}*{x.channels}")
        b.add("activations", ("activations",), "H*W*C", _hwc(x))
        b.notes.append("Params: a scale and a shift per channel; buffers: the running mean and variance.")
    elif isinstance(layer, Elementwise):
        if layer.type in ACTIVATIONS:
            summary = "activation, applied to each element"
            b.add("FLOPs", ("flops",), "H*W*C", _hwc(x))
        else:
            summary = {"dropout": "dropout (the identity at inference)", "identity": "identity",
                       "lrn": "local response normalization"}.get(layer.type, layer.type)
            b.notes.append(f"{layer.type} is counted as free (no FLOPs), as the counting rules say.")
        b.add("activations", ("activations",), "H*W*C", _hwc(x))
    elif isinstance(layer, Flatten):
        summary = "flatten"
        b.add("Co", ("channels",), "H*W*C", _hwc(x))
        b.add("activations", ("activations",), "H*W*C", _hwc(x))
    elif isinstance(layer, Add):
        n = len(row.input_shapes)
        summary = f"element-wise add of {n} inputs"
        b.add("FLOPs", ("flops",), "(n-1)*H*W*C", f"({n}-1)*{_hwc(x)}")
        b.add("activations", ("activations",), "H*W*C", _hwc(x))
    elif isinstance(layer, Concat):
        n = len(row.input_shapes)
        summary = f"concatenation of {n} inputs along the channels"
        b.add("Co", ("channels",), " + ".join(f"C{i + 1}" for i in range(n)),
              " + ".join(str(s.channels) for s in row.input_shapes))
        b.add("activations", ("activations",), "H*W*Co", f"{x.height}*{x.width}*{row.output.channels}")
    else:  # a new layer type without an explanation yet still shows its numbers
        summary = row.type
    _field_steps(b, layer, x, in_fields)
    return LayerExplanation(row, summary, tuple(b.steps), tuple(b.notes))


def _pair(p: tuple[int, int]) -> str:
    return f"{p[0]}x{p[1]}"


def _step(p: tuple[int, int]) -> str:
    """A stride or dilation: '2' when both axes agree, else '2x1'."""
    return str(p[0]) if p[0] == p[1] else _pair(p)


def _padding(p) -> str:
    return p if isinstance(p, str) else (str(p[0]) if p[0] == p[1] else f"[{p[0]}, {p[1]}]")


def _hwc(s: Shape) -> str:
    return f"{s.height}*{s.width}*{s.channels}"


def _conv_summary(conv: Conv2d, head: str) -> str:
    parts = [head, f"stride {_step(conv.stride)}", f"padding {_padding(conv.padding)}"]
    if conv.dilation != (1, 1):
        parts.append(f"dilation {_step(conv.dilation)}")
    if conv.groups != 1:
        parts.append(f"groups {conv.groups}")
    if not conv.bias:
        parts.append("no bias")
    return ", ".join(parts)


def _spatial_steps(b: _Builder, x: Shape, kernel, stride, padding, dilation, ceil_mode: bool = False) -> None:
    """Ho and Wo of a sliding window (conv or pool; a pool passes dilation None)."""
    size = (x.height, x.width)

    def per_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
        X, k, s, d, p = sym["X"], sym["k"], sym["s"], sym["d"], sym["p"]
        if padding == "same":
            return f"ceil({X}/{s})", f"ceil({size[a]}/{stride[a]})"
        pad = 0 if padding == "valid" else padding[a]
        if dilation is None:
            span_f, span_n = f"{X} + 2*{p} - {k}", f"{size[a]} + 2*{pad} - {kernel[a]}"
        else:
            span_f = f"{X} + 2*{p} - {d}*({k}-1) - 1"
            span_n = f"{size[a]} + 2*{pad} - {dilation[a]}*({kernel[a]}-1) - 1"
        rnd = "ceil" if ceil_mode else "floor"
        formula, subst = f"{rnd}(({span_f})/{s}) + 1", f"{rnd}(({span_n})/{stride[a]}) + 1"
        if dropped[a]:
            subst += " - 1"
        return formula, subst

    dropped = [False, False]
    if ceil_mode and padding != "same":
        for a in (0, 1):
            pad = 0 if padding == "valid" else padding[a]
            out = -(-(size[a] + 2 * pad - kernel[a]) // stride[a]) + 1
            # PyTorch drops a last window that would start inside the right padding.
            dropped[a] = (out - 1) * stride[a] >= size[a] + pad
            if dropped[a]:
                b.notes.append(f"ceil_mode: the last window along {'HW'[a]} would start in the padding; "
                               "it is dropped (- 1), as PyTorch does.")
    b.axes(("Ho", "Wo"), ("height", "width"), per_axis)
    if padding == "valid":
        b.notes.append("padding valid: p = 0.")


def _conv_steps(b: _Builder, conv: Conv2d, x: Shape, channels: tuple[str, str]) -> None:
    out = b.row.output
    kh, kw = conv.kernel
    C, F, g = x.channels, conv.filters, conv.groups
    _spatial_steps(b, x, conv.kernel, conv.stride, conv.padding, conv.dilation)
    b.add("Co", ("channels",), *channels)
    bias_f, bias_n = (" + filters", f" + {F}") if conv.bias else ("", "")
    b.add("params", ("params",), f"kh*kw*(C/groups)*filters{bias_f}", f"{kh}*{kw}*({C}/{g})*{F}{bias_n}")
    b.add("MACs", ("macs",), "Ho*Wo*filters*kh*kw*C/groups",
          f"{out.height}*{out.width}*{F}*{kh}*{kw}*{C}/{g}")
    macs = b.row.cost.macs
    if conv.bias:
        b.add("FLOPs", ("flops",), "2*MACs + Ho*Wo*filters", f"2*{macs} + {out.height}*{out.width}*{F}")
    else:
        b.add("FLOPs", ("flops",), "2*MACs", f"2*{macs}")
    b.add("activations", ("activations",), "Ho*Wo*filters", f"{out.height}*{out.width}*{F}")


def _conv_notes(b: _Builder, conv: Conv2d, x: Shape) -> None:
    C, F = x.channels, conv.filters
    if conv.kernel == (1, 1):
        what = {"reduce": f"reduces {C} channels to {F} (a bottleneck: the layers after it read "
                          f"{C / F:.3g}x fewer channels)",
                "expand": f"expands {C} channels to {F}",
                "mix": f"mixes {C} channels into {F}"}[b.row.role or "mix"]
        b.notes.append(f"1x1 conv: {what}. Each output pixel is a weighted sum of the channels at the "
                       "same pixel: it mixes channels but adds no spatial context (the receptive field "
                       "does not grow)." + (" Its stride also subsamples the map." if conv.stride != (1, 1) else ""))
    if conv.groups > 1:
        b.notes.append(f"groups = {conv.groups}: each filter reads C/groups = {C // conv.groups} channels, "
                       f"which divides params and MACs by {conv.groups}.")


def _linear_steps(b: _Builder, fc: Linear, x: Shape) -> None:
    n = _hwc(x)
    b.add("Co", ("channels",), "units", str(fc.units))
    bias_f, bias_n = (" + units", f" + {fc.units}") if fc.bias else ("", "")
    b.add("params", ("params",), f"H*W*C*units{bias_f}", f"{n}*{fc.units}{bias_n}")
    b.add("MACs", ("macs",), "H*W*C*units", f"{n}*{fc.units}")
    macs = b.row.cost.macs
    b.add("FLOPs", ("flops",), "2*MACs + units" if fc.bias else "2*MACs",
          f"2*{macs} + {fc.units}" if fc.bias else f"2*{macs}")
    b.add("activations", ("activations",), "units", str(fc.units))
    if x.height * x.width > 1:
        b.notes.append(f"The {x} input is flattened to {x.elements:,} values; every unit reads all of them.")


def _pool_steps(b: _Builder, pool: Pool2d, x: Shape) -> None:
    out = b.row.output
    kh, kw = pool.kernel
    _spatial_steps(b, x, pool.kernel, pool.strides, pool.padding, None, pool.ceil_mode)
    o = f"{out.height}*{out.width}*{out.channels}"
    if pool.type == "maxpool":
        b.add("FLOPs", ("flops",), "(kh*kw - 1)*Ho*Wo*C", f"({kh}*{kw} - 1)*{o}")
        b.notes.append("A max over kh*kw values takes kh*kw - 1 comparisons; no params, no MACs.")
    else:
        b.add("FLOPs", ("flops",), "kh*kw*Ho*Wo*C", f"{kh}*{kw}*{o}")
        b.notes.append("An average over kh*kw values: kh*kw - 1 additions and one division; no params, no MACs.")
    b.add("activations", ("activations",), "Ho*Wo*C", o)


def _field_steps(b: _Builder, layer: Layer, x: Shape, in_fields: tuple[ReceptiveField, ...]) -> None:
    """How the receptive field grows; nothing for layers that leave it as it is."""
    if len(in_fields) > 1:
        for what, attr in (("size", "size"), ("stride", "stride")):
            def per_axis(a: int, sym: dict[str, str], attr=attr) -> tuple[str, str]:
                vals = ", ".join(str(getattr(f, attr)[a]) for f in in_fields)
                return f"max over inputs of {'r' if attr == 'size' else 'j'}_in", f"max({vals})"
            b.axes((f"RF {what} h", f"RF {what} w"), (f"rf_{attr}_h", f"rf_{attr}_w"), per_axis, f"RF {what}")
        return
    (rf,) = in_fields
    win = window(layer)
    if win is not None:
        kernel, stride, dilation = win

        def size_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
            k, d = sym["k"], sym["d"]
            if isinstance(layer, Pool2d):
                return f"r_in + ({k}-1)*j_in", f"{rf.size[a]} + ({kernel[a]}-1)*{rf.stride[a]}"
            return (f"r_in + {d}*({k}-1)*j_in",
                    f"{rf.size[a]} + {dilation[a]}*({kernel[a]}-1)*{rf.stride[a]}")

        def stride_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
            return f"j_in*{sym['s']}", f"{rf.stride[a]}*{stride[a]}"
    elif sees_everything(layer):
        extent = (x.height, x.width)

        def size_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
            return f"r_in + ({sym['X']}-1)*j_in", f"{rf.size[a]} + ({extent[a]}-1)*{rf.stride[a]}"

        def stride_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
            return f"j_in*{sym['X']}", f"{rf.stride[a]}*{extent[a]}"
        b.notes.append("Its output sees the whole input map: the receptive field spans every input position.")
    else:
        return
    b.axes(("RF size h", "RF size w"), ("rf_size_h", "rf_size_w"), size_axis, "RF size")
    b.axes(("RF stride h", "RF stride w"), ("rf_stride_h", "rf_stride_w"), stride_axis, "RF stride")


def select_layer(explanations: list[ModelExplanation], name: str) -> list[ModelExplanation]:
    """Keep only the layer `name` of each model that has it (models without it are left out)."""
    out = []
    for e in explanations:
        kept = tuple(layer for layer in e.layers if layer.row.name == name)
        if kept:
            out.append(ModelExplanation(e.report, kept))
    return out

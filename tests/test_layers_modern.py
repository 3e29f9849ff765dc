"""The layer types of modern networks (deconv, upsample, mul, scale, shuffle, slice, layernorm,
hardsigmoid) against numbers worked out by hand, their errors, and their receptive fields."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from conv_cost.cost import analyze
from conv_cost.errors import LayerError, SpecError
from conv_cost.layers import (ConvTranspose2d, Cost, Elementwise, LayerNorm, Mul, Scale, Shape, Shuffle, Slice,
                              Upsample, make_layer)
from conv_cost.spec import parse_spec


def run(layer, *inputs):
    out = layer.output_shape(tuple(inputs))
    return out, layer.cost(tuple(inputs), out)


CASES = {
    "U-Net up-conv: 2x2 stride 2, 128 -> 64 channels": (
        # Ho = (28-1)*2 - 2*0 + 1*(2-1) + 0 + 1 = 56; MACs per input pixel: 2*2*128*64
        ConvTranspose2d(64, (2, 2), (2, 2)), [Shape(28, 28, 128)], Shape(56, 56, 64),
        Cost(params=2 * 2 * 128 * 64 + 64, macs=28 * 28 * 128 * 2 * 2 * 64,
             flops=2 * (28 * 28 * 128 * 2 * 2 * 64) + 56 * 56 * 64, activations=56 * 56 * 64)),
    "deconv 3x3 stride 2 padding 1 output_padding 1": (
        # Ho = (7-1)*2 - 2*1 + 1*(3-1) + 1 + 1 = 14
        ConvTranspose2d(16, (3, 3), (2, 2), (1, 1), (1, 1)), [Shape(7, 7, 32)], Shape(14, 14, 16),
        Cost(params=3 * 3 * 32 * 16 + 16, macs=7 * 7 * 32 * 3 * 3 * 16,
             flops=2 * (7 * 7 * 32 * 3 * 3 * 16) + 14 * 14 * 16, activations=14 * 14 * 16)),
    "deconv same: H*stride": (
        ConvTranspose2d(4, (3, 3), (2, 2), "same", bias=False), [Shape(5, 6, 8)], Shape(10, 12, 4),
        Cost(params=3 * 3 * 8 * 4, macs=5 * 6 * 8 * 3 * 3 * 4, flops=2 * (5 * 6 * 8 * 3 * 3 * 4),
             activations=10 * 12 * 4)),
    "deconv [top, bottom, left, right], dilation 2, groups 2, stride [2, 1]": (
        # Ho = (4-1)*2 - (1+0) + 2*(3-1) + 0 + 1 = 10; Wo = (5-1)*1 - (0+2) + 2*(3-1) + 0 + 1 = 7
        ConvTranspose2d(6, (3, 3), (2, 1), (1, 0, 0, 2), dilation=(2, 2), groups=2, bias=False),
        [Shape(4, 5, 4)], Shape(10, 7, 6),
        Cost(params=3 * 3 * (4 // 2) * 6, macs=4 * 5 * 4 * 3 * 3 * 6 // 2, flops=2 * (4 * 5 * 4 * 3 * 3 * 6 // 2),
             activations=10 * 7 * 6)),
    "upsample nearest x2": (
        Upsample(scale=(2, 2)), [Shape(7, 7, 64)], Shape(14, 14, 64), Cost(activations=14 * 14 * 64)),
    "upsample bilinear [2, 3]: 7 FLOPs per output element": (
        Upsample(scale=(2, 3), mode="bilinear"), [Shape(3, 4, 2)], Shape(6, 12, 2),
        Cost(flops=7 * 6 * 12 * 2, activations=6 * 12 * 2)),
    "upsample to a size": (
        Upsample(size=(7, 5)), [Shape(3, 4, 2)], Shape(7, 5, 2), Cost(activations=7 * 5 * 2)),
    "mul: an SE gate broadcast over 14x14": (
        Mul(), [Shape(14, 14, 64), Shape(1, 1, 64)], Shape(14, 14, 64),
        Cost(flops=(2 - 1) * 14 * 14 * 64, activations=14 * 14 * 64)),
    "mul: the gate first, then the map": (
        Mul(), [Shape(1, 1, 8), Shape(5, 5, 8)], Shape(5, 5, 8), Cost(flops=5 * 5 * 8, activations=5 * 5 * 8)),
    "mul of three maps": (
        Mul(), [Shape(4, 4, 3)] * 3, Shape(4, 4, 3), Cost(flops=(3 - 1) * 4 * 4 * 3, activations=4 * 4 * 3)),
    "mul of two gates": (
        Mul(), [Shape(1, 1, 3)] * 2, Shape(1, 1, 3), Cost(flops=3, activations=3)),
    "scale (layer scale, no bias)": (
        Scale(), [Shape(56, 56, 96)], Shape(56, 56, 96),
        Cost(params=96, flops=56 * 56 * 96, activations=56 * 56 * 96)),
    "scale with bias": (
        Scale(bias=True), [Shape(2, 3, 4)], Shape(2, 3, 4), Cost(params=2 * 4, flops=2 * 2 * 3 * 4, activations=24)),
    "shuffle": (Shuffle(3), [Shape(28, 28, 24)], Shape(28, 28, 24), Cost(activations=28 * 28 * 24)),
    "slice: half of a channel split": (
        Slice((58, 116)), [Shape(28, 28, 116)], Shape(28, 28, 58), Cost(activations=28 * 28 * 58)),
    "layernorm: 2C params, 8 FLOPs per element, no buffers": (
        LayerNorm(), [Shape(56, 56, 96)], Shape(56, 56, 96),
        Cost(params=2 * 96, flops=8 * 56 * 56 * 96, activations=56 * 56 * 96)),
    "hardsigmoid: 1 FLOP per element": (
        Elementwise("hardsigmoid"), [Shape(1, 1, 240)], Shape(1, 1, 240), Cost(flops=240, activations=240)),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_shape_and_cost(case):
    layer, inputs, shape, cost = CASES[case]
    assert run(layer, *inputs) == (shape, cost)


def test_deconv_does_not_over_count_like_a_conv_over_output_pixels():
    # The conv formula over output pixels, Ho*Wo*filters*kh*kw*C, would give 4x the MACs here.
    _, cost = run(ConvTranspose2d(64, (2, 2), (2, 2)), Shape(28, 28, 128))
    assert 56 * 56 * 64 * 2 * 2 * 128 == 4 * cost.macs


@pytest.mark.parametrize("type_name, canon, values", [
    ("swish", "silu", {}), ("hswish", "hardswish", {}), ("ln", "layernorm", {}),
    ("convtranspose", "deconv", {"filters": 2, "kernel": (2, 2)}),
])
def test_aliases(type_name, canon, values):
    assert make_layer(type_name, **values) == make_layer(canon, **values)


@pytest.mark.parametrize("build, inputs, message", [
    (lambda: Mul(), [Shape(14, 14, 64), Shape(1, 1, 32)],
     "mul needs inputs of one shape, or 1x1xC gates with the map's C to broadcast over H and W; got 14x14x64, "
     "1x1x32; make the gate's last conv have 64 filters"),
    (lambda: Mul(), [Shape(8, 8, 4), Shape(4, 4, 4)], "mul needs inputs of one shape"),
    (lambda: Shuffle(5), [Shape(8, 8, 24)], "shuffle groups=5 must divide the input channels (24)"),
    (lambda: Slice((50, 120)), [Shape(8, 8, 116)],
     "slice channels [50, 120] is out of range for an input of 116 channels; give [start, stop] with "
     "0 <= start < stop <= 116"),
    (lambda: Slice((3, 3)), [Shape(8, 8, 4)], "slice channels [3, 3] is out of range"),
    (lambda: ConvTranspose2d(6, (3, 3), groups=4), [Shape(8, 8, 6)], "groups=4 must divide both"),
    (lambda: ConvTranspose2d(6, (1, 1), padding=(2, 2)), [Shape(3, 3, 6)],
     "transposed convolution output would be -1x-1, smaller than 1x1"),
])
def test_shape_errors(build, inputs, message):
    with pytest.raises(LayerError, match=re.escape(message)):
        build().output_shape(tuple(inputs))


@pytest.mark.parametrize("build, message", [
    (lambda: ConvTranspose2d(4, (3, 3), (2, 2), output_padding=(2, 2)),
     "output_padding 2 along H must be smaller than the stride (2) or the dilation (1), as in PyTorch"),
    (lambda: ConvTranspose2d(4, (3, 3), (2, 2), "same", (1, 1)), "output_padding cannot be combined with padding: same"),
    (lambda: Upsample(), "upsample needs 'scale'"),
    (lambda: Upsample(scale=(2, 2), size=(4, 4)), "upsample takes 'scale' or 'size', not both"),
])
def test_settings_that_do_not_fit_together(build, message):
    with pytest.raises(LayerError, match=re.escape(message)):
        build()


def test_output_padding_below_the_dilation_is_allowed():
    # PyTorch: output padding must be smaller than either stride or dilation.
    layer = ConvTranspose2d(2, (3, 3), (1, 1), output_padding=(1, 1), dilation=(2, 2))
    # Ho = (4-1)*1 - 0 + 2*(3-1) + 1 + 1 = 9
    assert layer.output_shape((Shape(4, 4, 2),)) == Shape(9, 9, 2)


ERRORS = {
    "mul of shapes that neither match nor broadcast": (
        "input: [14, 14, 64]\nlayers:\n  - {type: gap, name: g}\n  - {type: conv, name: fc, filters: 32, kernel: 1}\n"
        "  - {type: mul, name: gate, inputs: [input, fc]}\n",
        ["t.yaml:5:5: error: layer 'gate': mul needs inputs of one shape, or 1x1xC gates with the map's C to "
         "broadcast over H and W; got input 14x14x64, fc 1x1x32; make the gate's last conv have 64 filters (or the "
         "maps the same size)"]),
    "slice out of range": (
        "input: [8, 8, 116]\nlayers:\n  - {type: slice, name: s, channels: [58, 117]}\n",
        ["t.yaml:3:5: error: layer 's': slice channels [58, 117] is out of range for an input of 116 channels; "
         "give [start, stop] with 0 <= start < stop <= 116"]),
    "slice that is not a list of two": (
        "input: [8, 8, 4]\nlayers:\n  - {type: slice, channels: 2}\n",
        ["t.yaml:3:29: error: 'channels' of layer 'slice1' (slice) must be [start, stop] (channels start to stop - 1), "
         "got 2"]),
    "shuffle groups that do not divide C": (
        "input: [8, 8, 24]\nlayers:\n  - {type: shuffle, name: sh, groups: 5}\n",
        ["t.yaml:3:5: error: layer 'sh': shuffle groups=5 must divide the input channels (24); use a divisor of 24, "
         "such as the groups of the conv before it"]),
    "upsample scale 0": (
        "input: [8, 8, 4]\nlayers:\n  - {type: upsample, scale: 0}\n",
        ["t.yaml:3:29: error: 'scale' of layer 'upsample1' (upsample) must be a positive integer, got 0; "
         "sizes start at 1"]),
    "upsample with size and scale": (
        "input: [8, 8, 4]\nlayers:\n  - {type: upsample, scale: 2, size: [16, 16]}\n",
        ["t.yaml:3:5: error: layer 'upsample1' (upsample): upsample takes 'scale' or 'size', not both; keep one "
         "of them"]),
    "upsample with neither": (
        "input: [8, 8, 4]\nlayers:\n  - {type: upsample, mode: bilinear}\n",
        ["t.yaml:3:5: error: layer 'upsample1' (upsample): upsample needs 'scale' (an integer or [h, w]) or "
         "'size' ([height, width])"]),
    "upsample mode misspelt": (
        "input: [8, 8, 4]\nlayers:\n  - {type: upsample, scale: 2, mode: bilinaer}\n",
        ["t.yaml:3:38: error: 'mode' of layer 'upsample1' (upsample) must be one of nearest, bilinear, got string "
         "'bilinaer'; did you mean 'bilinear'?"]),
    "deconv output_padding not below stride or dilation": (
        "input: [8, 8, 4]\nlayers:\n  - {type: deconv, filters: 4, kernel: 3, stride: 2, output_padding: 2}\n",
        ["t.yaml:3:5: error: layer 'deconv1' (deconv): output_padding 2 along H must be smaller than the stride (2) "
         "or the dilation (1), as in PyTorch; it only picks among the output sizes a stride allows"]),
    "padding list of three": (
        "input: [8, 8, 4]\nlayers:\n  - {type: conv, filters: 4, kernel: 3, padding: [1, 1, 1]}\n",
        ["t.yaml:3:50: error: 'padding' of layer 'conv1' (conv) must be an integer, [height, width] or "
         "[top, bottom, left, right], got a list of 3"]),
}


@pytest.mark.parametrize("case", ERRORS, ids=list(ERRORS))
def test_spec_errors(case):
    text, expected = ERRORS[case]
    with pytest.raises(SpecError) as info:
        parse_spec(text, "t.yaml")
    assert [str(p) for p in info.value.problems] == expected


def test_aliases_are_resolved_after_template_substitution():
    [model] = parse_spec("""
input: [8, 8, 4]
blocks:
  unit:
    params: {act: relu}
    layers: [{type: conv, filters: 4, kernel: 3}, {type: "${act}", name: act}]
layers:
  - {type: unit, name: a, act: hswish}
  - {type: unit, name: b, act: swish}
""", "t.yaml")
    types = {n.name: n.layer.type for n in model.nodes}
    assert types["a/act"] == "hardswish" and types["b/act"] == "silu"


def test_four_sided_padding_gives_each_side_its_own_pixels():
    # Ho = floor((9 + 0 + 2 - 3)/1) + 1 = 9; Wo = floor((8 + 1 + 0 - 3)/1) + 1 = 7
    [model] = parse_spec("input: [9, 8, 2]\nlayers: [{type: conv, filters: 3, kernel: 3, padding: [0, 2, 1, 0]}]\n")
    assert analyze(model).output == Shape(9, 7, 3)


# ------------------------------------------------------------------ receptive fields


def fields(text: str):
    [model] = parse_spec(text, "t.yaml")
    return {r.name: r.receptive_field for r in analyze(model).layers}


def test_transposed_conv_makes_the_stride_a_fraction_of_a_pixel():
    f = fields("""
input: [8, 8, 4]
layers:
  - {type: deconv, name: up, filters: 4, kernel: 2, stride: 2}
  - {type: deconv, name: up3, filters: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1}
  - {type: conv, name: c, filters: 4, kernel: 3, stride: 4}
""")
    # up: 2x2 stride 2 tiles the output, one input pixel per output pixel: size 1, stride 1/2.
    assert f["up"].size == (1, 1) and f["up"].stride == (Fraction(1, 2),) * 2
    assert str(f["up"]) == "1x1 s1/2"
    # up3: ceil(3/2) = 2 inputs reach an output, 1/2 apart: size 1 + (2-1)*1/2 = 3/2 (2 pixels); stride 1/4.
    assert f["up3"].size == (Fraction(3, 2),) * 2 and f["up3"].stride == (Fraction(1, 4),) * 2
    assert str(f["up3"]) == "2x2 s1/4"
    # c: 3/2 + (3-1)*1/4 = 2; stride 1/4*4 = 1.
    assert f["c"] == f["c"].__class__((2, 2), (1, 1))


def test_upsample_divides_the_stride_and_bilinear_reads_a_neighbour():
    f = fields("""
input: [8, 8, 4]
layers:
  - {type: conv, name: c, filters: 4, kernel: 3, stride: 2}
  - {type: upsample, name: near, scale: 2}
  - {type: upsample, name: bil, scale: [2, 4], mode: bilinear}
""")
    assert f["near"].size == (3, 3) and f["near"].stride == (1, 1)        # 2 * 4/8
    assert f["bil"].size == (4, 4)                                        # 3 + 1 * 1
    assert f["bil"].stride == (Fraction(1, 2), Fraction(1, 4))            # 1 * 8/16, 1 * 8/32
    assert str(f["bil"]) == "4x4 s1/2x1/4"


def test_an_se_gate_makes_the_field_global_but_keeps_the_maps_stride():
    f = fields("""
input: [16, 16, 8]
layers:
  - {type: conv, name: c, filters: 8, kernel: 3, stride: 2}
  - {type: gap, name: squeeze}
  - {type: conv, name: fc1, filters: 2, kernel: 1}
  - {type: conv, name: fc2, filters: 8, kernel: 1}
  - {type: hardsigmoid, name: gate}
  - {type: mul, name: se, inputs: [c, gate]}
  - {type: conv, name: after, filters: 8, kernel: 3}
""")
    assert f["se"].whole and f["se"].stride == (2, 2) and f["se"].size == (3, 3)
    assert str(f["se"]) == "global"
    assert f["after"].whole and f["after"].stride == (2, 2)


def test_receptive_fields_of_a_huge_stride_stay_bounded():
    # A stride of 10^18 - 1 repeated 300 times would make a 5,400-digit number.
    [model] = parse_spec("input: [4, 4, 1]\nlayers:\n  - {type: repeat, times: 300, body: "
                         "[{type: maxpool, kernel: 1, stride: 999999999999999999}]}\n", "t.yaml")
    rf = analyze(model).layers[-1].receptive_field
    assert rf.stride == (10**18, 10**18) and rf.size == (1, 1)

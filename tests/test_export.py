"""conv_cost.export: every layer type becomes a torch module with convcost's shape and params."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install 'convcost[torch]')")

from conv_cost.cost import analyze  # noqa: E402
from conv_cost.export import same_padding, to_torch  # noqa: E402
from conv_cost.layers import ACTIVATIONS, LAYERS, PASSTHROUGH  # noqa: E402
from conv_cost.spec import parse_spec  # noqa: E402


def model_of(text: str):
    [model] = parse_spec(text, "<test>")
    return model


def run(model):
    x = model.input
    module = to_torch(model).eval()
    with torch.no_grad():
        y = module(torch.zeros(1, x.channels, x.height, x.width))
    return module, y


@pytest.mark.parametrize(("size", "k", "s", "d", "expected"), [
    (224, 3, 2, 1, (0, 1)),   # out 112: (112-1)*2 + 3 - 224 = 1, the odd pixel after
    (225, 3, 2, 1, (1, 1)),   # out 113: (113-1)*2 + 3 - 225 = 2
    (112, 1, 2, 1, (0, 0)),   # a 1x1 kernel never pads
    (7, 3, 1, 1, (1, 1)),
    (8, 2, 1, 1, (0, 1)),     # even kernel, stride 1: TensorFlow pads after
    (10, 3, 1, 2, (2, 2)),    # dilation 2: span 5
    (5, 7, 3, 1, (2, 3)),     # out 2: (2-1)*3 + 7 - 5 = 5, split 2 before and 3 after
])
def test_same_padding_is_tensorflows(size, k, s, d, expected):
    before, after = same_padding(size, k, s, d)
    assert (before, after) == expected
    out = -(-size // s)
    assert (size + before + after - d * (k - 1) - 1) // s + 1 == out


# One small model per layer type and option; each line is a layers list on `input`.
CASES = {
    "conv same stride 2 (asymmetric)": ("[8, 8, 3]", "[{type: conv, filters: 4, kernel: 3, stride: 2}]"),
    "conv same even kernel": ("[7, 6, 3]", "[{type: conv, filters: 4, kernel: 2}]"),
    "conv same symmetric": ("[7, 7, 3]", "[{type: conv, filters: 4, kernel: 3, stride: 2}]"),
    "conv valid no bias": ("[9, 9, 2]", "[{type: conv, filters: 5, kernel: [3, 2], padding: valid, bias: false}]"),
    "conv explicit padding": ("[9, 9, 2]", "[{type: conv, filters: 5, kernel: 3, padding: [1, 2], stride: [2, 1]}]"),
    "conv dilation": ("[11, 11, 2]", "[{type: conv, filters: 3, kernel: 3, dilation: 2}]"),
    "conv groups": ("[6, 6, 4]", "[{type: conv, filters: 6, kernel: 3, groups: 2, padding: 1}]"),
    "dwconv multiplier stride 2": ("[10, 10, 3]", "[{type: dwconv, kernel: 3, multiplier: 2, stride: 2}]"),
    "fc flattens": ("[3, 3, 4]", "[{type: fc, units: 7}, {type: fc, units: 2, bias: false}]"),
    "maxpool ceil_mode": ("[10, 10, 2]", "[{type: maxpool, kernel: 3, stride: 2, ceil_mode: true}]"),
    "maxpool padding": ("[9, 9, 2]", "[{type: maxpool, kernel: 3, stride: 2, padding: 1}]"),
    "maxpool same": ("[8, 8, 2]", "[{type: maxpool, kernel: 3, stride: 2, padding: same}]"),
    "avgpool padding ceil": ("[9, 9, 2]", "[{type: avgpool, kernel: 2, padding: 1, ceil_mode: true}]"),
    "avgpool same": ("[8, 8, 2]", "[{type: avgpool, kernel: 3, stride: 2, padding: same}]"),
    "avgpool valid": ("[8, 8, 2]", "[{type: avgpool, kernel: 4, padding: valid}]"),
    "gap": ("[5, 4, 3]", "[{type: gap}]"),
    "gmp": ("[5, 4, 3]", "[{type: gmp}]"),
    "bn": ("[4, 4, 6]", "[{type: bn}]"),
    "bn after fc": ("[2, 2, 3]", "[{type: fc, units: 5}, {type: bn}, {type: relu}]"),
    **{f"{name}": ("[4, 3, 5]", f"[{{type: {name}}}]") for name in ACTIVATIONS + PASSTHROUGH},
    "flatten": ("[3, 2, 4]", "[{type: flatten}, {type: fc, units: 3}]"),
    "add": ("[4, 4, 3]", "[{type: conv, name: a, filters: 3, kernel: 1}, {type: relu, name: b},"
                         " {type: add, inputs: [a, b, input]}]"),
    "concat": ("[4, 4, 3]", "[{type: conv, name: a, filters: 5, kernel: 1}, {type: concat, inputs: [a, input]}]"),
    "conv asymmetric padding": ("[9, 8, 2]", "[{type: conv, filters: 3, kernel: 3, padding: [0, 2, 1, 0]}]"),
    "maxpool asymmetric padding": ("[9, 9, 2]", "[{type: maxpool, kernel: 3, stride: 2, padding: [1, 0, 0, 1]}]"),
    "avgpool asymmetric padding": ("[9, 9, 2]", "[{type: avgpool, kernel: 2, padding: [0, 1, 1, 0]}]"),
    "deconv 2x2 stride 2 (U-Net)": ("[5, 4, 6]", "[{type: deconv, filters: 3, kernel: 2, stride: 2}]"),
    "deconv 3x3 stride 2 padding 1 output_padding 1": (
        "[5, 5, 4]", "[{type: deconv, filters: 2, kernel: 3, stride: 2, padding: 1, output_padding: 1}]"),
    "deconv same": ("[5, 6, 4]", "[{type: deconv, filters: 2, kernel: 3, stride: 2, padding: same}]"),
    "deconv same, kernel below stride": ("[3, 3, 2]", "[{type: deconv, filters: 2, kernel: 1, stride: 3, padding: same}]"),
    "deconv same stride 1 even kernel": ("[4, 4, 2]", "[{type: deconv, filters: 2, kernel: 2, padding: same}]"),
    "deconv asymmetric padding, groups, dilation, no bias": (
        "[4, 5, 4]", "[{type: convtranspose, filters: 6, kernel: 3, stride: [2, 1], padding: [1, 0, 0, 2], "
        "dilation: 2, groups: 2, bias: false}]"),
    "upsample nearest": ("[3, 4, 2]", "[{type: upsample, scale: 2}]"),
    "upsample bilinear, [h, w]": ("[3, 4, 2]", "[{type: upsample, scale: [2, 3], mode: bilinear}]"),
    "upsample to a size": ("[3, 4, 2]", "[{type: upsample, size: [7, 5], mode: bilinear}]"),
    "mul: squeeze and excitation": (
        "[6, 6, 8]", "[{type: gap, name: s}, {type: conv, filters: 2, kernel: 1}, {type: relu},"
                     " {type: conv, filters: 8, kernel: 1}, {type: hardsigmoid, name: g},"
                     " {type: mul, inputs: [input, g]}]"),
    "mul of maps": ("[4, 4, 3]", "[{type: sigmoid, name: a}, {type: mul, inputs: [a, input, a]}]"),
    "scale": ("[4, 4, 6]", "[{type: scale}, {type: scale, bias: true}]"),
    "shuffle": ("[4, 4, 6]", "[{type: conv, filters: 6, kernel: 1, groups: 3}, {type: shuffle, groups: 3}]"),
    "slice: a channel split": (
        "[4, 4, 6]", "[{type: slice, name: a, channels: [0, 2]}, {type: slice, name: b, channels: [2, 6], inputs: input},"
                     " {type: concat, inputs: [b, a]}]"),
    "layernorm": ("[4, 3, 6]", "[{type: layernorm}, {type: ln}]"),
    "parallel and residual": ("[6, 6, 4]", """
      - type: residual
        name: res
        body:
          - type: parallel
            name: par
            branches: [[{type: conv, filters: 2, kernel: 3}], [{type: dwconv, kernel: 3, multiplier: 1}, {type: conv, filters: 2, kernel: 1}]]
        shortcut: [{type: conv, filters: 4, kernel: 1}]"""),
}


def test_cases_cover_every_layer_type():
    used = set()
    for _, layers in CASES.values():
        for name in LAYERS:
            if f"type: {name}" in layers:
                used.add(name)
    assert used == set(LAYERS)


@pytest.mark.parametrize("case", CASES)
def test_module_matches_convcost_shapes_and_params(case):
    shape, layers = CASES[case]
    model = model_of(f"input: {shape}\nlayers: {layers}\n" if layers.startswith("[") else
                     f"input: {shape}\nlayers:{layers}\n")
    rep = analyze(model)
    module, y = run(model)
    out = rep.output
    assert tuple(y.shape) == (1, out.channels, out.height, out.width)
    assert sum(p.numel() for p in module.parameters()) == rep.totals.params
    for row in rep.layers:
        sub = module.layers[module.key_of[row.name]]
        assert sum(p.numel() for p in sub.parameters()) == row.cost.params, row.name


def test_same_padding_stride_2_puts_the_odd_pixel_after():
    # 4x4 ones through a 3x3/2 'same' conv of ones: out 2x2, padding 0 before and 1 after.
    # Output (0, 0) sees a full 3x3 window (9); (1, 1) sees rows/cols 2..3 and the pad (4).
    model = model_of("input: [4, 4, 1]\nlayers: [{type: conv, filters: 1, kernel: 3, stride: 2, bias: false}]\n")
    module = to_torch(model)
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(1.0)
        y = module(torch.ones(1, 1, 4, 4))
    assert y[0, 0].tolist() == [[9.0, 6.0], [6.0, 4.0]]


def test_same_max_pool_ignores_the_padding():
    # TensorFlow pads a max pool with -inf: an all-negative input keeps its values.
    model = model_of("input: [4, 4, 1]\nlayers: [{type: maxpool, kernel: 3, stride: 2, padding: same}]\n")
    module = to_torch(model)
    with torch.no_grad():
        y = module(torch.full((1, 1, 4, 4), -2.0))
    assert y[0, 0].tolist() == [[-2.0, -2.0], [-2.0, -2.0]]


def test_same_avg_pool_divides_by_the_real_inputs():
    # TensorFlow's 'same' average pool leaves the padding out of the mean: ones stay ones.
    model = model_of("input: [4, 4, 1]\nlayers: [{type: avgpool, kernel: 3, stride: 2, padding: same}]\n")
    module = to_torch(model)
    with torch.no_grad():
        y = module(torch.ones(1, 1, 4, 4))
    assert y[0, 0].tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_nhwc_shapes_map_to_nchw_tensors():
    model = model_of("input: [6, 10, 3]\nlayers: [{type: conv, filters: 8, kernel: 3, stride: [1, 2]}]\n")
    _, y = run(model)
    assert tuple(y.shape) == (1, 8, 6, 5)  # H 6, W ceil(10 / 2) = 5, C 8


def test_softmax_runs_over_the_channels():
    model = model_of("input: [2, 2, 4]\nlayers: [{type: softmax}]\n")
    _, y = run(model)
    assert torch.allclose(y.sum(dim=1), torch.ones(1, 2, 2))

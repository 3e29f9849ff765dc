"""Every layer type's output shape and costs against numbers worked out by hand."""

import re

import pytest

from conv_cost.errors import LayerError
from conv_cost.layers import (
    Add, BatchNorm, Concat, Conv2d, Cost, DepthwiseConv2d, Elementwise, Flatten, GlobalPool,
    Linear, Pool2d, Shape, conv_axis, make_layer, spec_keys,
)


def run(layer, *inputs):
    out = layer.output_shape(tuple(inputs))
    return out, layer.cost(tuple(inputs), out)


# (layer, input shape, expected output, expected Cost) with the arithmetic written out.
CONV_CASES = {
    "5x5 same on 28x28x256 (the seed)": (
        Conv2d(32, (5, 5)), Shape(28, 28, 256), Shape(28, 28, 32),
        Cost(params=5 * 5 * 256 * 32 + 32, macs=28 * 28 * 32 * 5 * 5 * 256,
             flops=2 * 28 * 28 * 32 * 5 * 5 * 256 + 28 * 28 * 32, activations=28 * 28 * 32)),
    "1x1 reduce, no bias": (
        Conv2d(16, (1, 1), bias=False), Shape(28, 28, 256), Shape(28, 28, 16),
        Cost(params=256 * 16, macs=28 * 28 * 16 * 256, flops=2 * 28 * 28 * 16 * 256,
             activations=28 * 28 * 16)),
    "7x7/2 pad 3 (ResNet stem)": (
        # floor((224 + 6 - 6 - 1) / 2) + 1 = 112
        Conv2d(64, (7, 7), stride=(2, 2), padding=(3, 3), bias=False), Shape(224, 224, 3), Shape(112, 112, 64),
        Cost(params=7 * 7 * 3 * 64, macs=112 * 112 * 64 * 7 * 7 * 3, flops=2 * 112 * 112 * 64 * 7 * 7 * 3,
             activations=112 * 112 * 64)),
    "11x11/4 valid (AlexNet conv1 on 227)": (
        # floor((227 - 11) / 4) + 1 = 55
        Conv2d(96, (11, 11), stride=(4, 4), padding="valid"), Shape(227, 227, 3), Shape(55, 55, 96),
        Cost(params=11 * 11 * 3 * 96 + 96, macs=55 * 55 * 96 * 11 * 11 * 3,
             flops=2 * 55 * 55 * 96 * 11 * 11 * 3 + 55 * 55 * 96, activations=55 * 55 * 96)),
    "3x3 dilation 2, padding 0": (
        # floor((32 - 2*2 - 1) / 1) + 1 = 28
        Conv2d(8, (3, 3), padding=(0, 0), dilation=(2, 2), bias=False), Shape(32, 32, 4), Shape(28, 28, 8),
        Cost(params=3 * 3 * 4 * 8, macs=28 * 28 * 8 * 3 * 3 * 4, flops=2 * 28 * 28 * 8 * 3 * 3 * 4,
             activations=28 * 28 * 8)),
    "3x3 groups 4": (
        Conv2d(64, (3, 3), groups=4), Shape(14, 14, 32), Shape(14, 14, 64),
        Cost(params=3 * 3 * (32 // 4) * 64 + 64, macs=14 * 14 * 64 * 3 * 3 * (32 // 4),
             flops=2 * 14 * 14 * 64 * 3 * 3 * 8 + 14 * 14 * 64, activations=14 * 14 * 64)),
    "1x7 asymmetric, same, stride [1, 2]": (
        # same: ceil(17 / 1) = 17, ceil(17 / 2) = 9
        Conv2d(10, (1, 7), stride=(1, 2), bias=False), Shape(17, 17, 6), Shape(17, 9, 10),
        Cost(params=1 * 7 * 6 * 10, macs=17 * 9 * 10 * 7 * 6, flops=2 * 17 * 9 * 10 * 7 * 6,
             activations=17 * 9 * 10)),
    "3x3 same stride 2 on odd input": (
        # TensorFlow's same: ceil(15 / 2) = 8
        Conv2d(4, (3, 3), stride=(2, 2), bias=False), Shape(15, 15, 2), Shape(8, 8, 4),
        Cost(params=3 * 3 * 2 * 4, macs=8 * 8 * 4 * 3 * 3 * 2, flops=2 * 8 * 8 * 4 * 3 * 3 * 2,
             activations=8 * 8 * 4)),
}


@pytest.mark.parametrize("case", CONV_CASES, ids=list(CONV_CASES))
def test_conv(case):
    layer, x, shape, cost = CONV_CASES[case]
    assert run(layer, x) == (shape, cost)


def test_dwconv_is_a_grouped_conv():
    # 3x3 depthwise on 112x112x32, multiplier 1: params 3*3*1*32 + 32
    out, cost = run(DepthwiseConv2d((3, 3)), Shape(112, 112, 32))
    assert out == Shape(112, 112, 32)
    assert cost == Cost(params=3 * 3 * 32 + 32, macs=112 * 112 * 32 * 3 * 3, flops=2 * 112 * 112 * 32 * 9 + 112 * 112 * 32,
                        activations=112 * 112 * 32)


def test_dwconv_multiplier_and_stride():
    # multiplier 2 on 16 channels: 32 filters, each over 1 channel; stride 2 same: 28 -> 14
    out, cost = run(DepthwiseConv2d((5, 5), multiplier=2, stride=(2, 2), bias=False), Shape(28, 28, 16))
    assert out == Shape(14, 14, 32)
    assert cost.params == 5 * 5 * 1 * 32
    assert cost.macs == 14 * 14 * 32 * 5 * 5 * 1


def test_fc_after_a_feature_map_flattens_it():
    # VGG's fc6: 7x7x512 flattened -> 4096
    out, cost = run(Linear(4096), Shape(7, 7, 512))
    assert out == Shape(1, 1, 4096)
    assert cost == Cost(params=7 * 7 * 512 * 4096 + 4096, macs=7 * 7 * 512 * 4096,
                        flops=2 * 7 * 7 * 512 * 4096 + 4096, activations=4096)


def test_fc_without_bias():
    assert run(Linear(10, bias=False), Shape(1, 1, 100))[1] == Cost(params=1000, macs=1000, flops=2000, activations=10)


POOL_CASES = {
    # name: (layer, input, output, flops)
    "maxpool 2x2 default stride": (Pool2d((2, 2)), Shape(224, 224, 64), Shape(112, 112, 64), (4 - 1) * 112 * 112 * 64),
    "maxpool 3/2 pad 1 (ResNet)": (
        # floor((112 + 2 - 2 - 1) / 2) + 1 = 56
        Pool2d((3, 3), (2, 2), (1, 1)), Shape(112, 112, 64), Shape(56, 56, 64), (9 - 1) * 56 * 56 * 64),
    "maxpool 3/2 ceil_mode (GoogLeNet 112 -> 56)": (
        # ceil((112 - 3) / 2) + 1 = 56, floor would give 55
        Pool2d((3, 3), (2, 2), ceil_mode=True), Shape(112, 112, 64), Shape(56, 56, 64), 8 * 56 * 56 * 64),
    "maxpool 3/2 floor (same input)": (Pool2d((3, 3), (2, 2)), Shape(112, 112, 64), Shape(55, 55, 64), 8 * 55 * 55 * 64),
    "maxpool ceil_mode drops a window starting in the padding": (
        # in 5, k 2, s 2, p 1: ceil((5 + 2 - 1 - 1) / 2) + 1 = 4; last window would start at
        # (4 - 1) * 2 = 6 >= 5 + 1, inside the right padding, so PyTorch gives 3
        Pool2d((2, 2), (2, 2), (1, 1), ceil_mode=True), Shape(5, 5, 1), Shape(3, 3, 1), 3 * 3 * 1 * 3),
    "avgpool 7x7 (global on 7x7)": (
        Pool2d((7, 7), type="avgpool"), Shape(7, 7, 1024), Shape(1, 1, 1024), 7 * 7 * 1024),
    "avgpool 3/1 pad 1": (
        Pool2d((3, 3), (1, 1), (1, 1), type="avgpool"), Shape(8, 8, 3), Shape(8, 8, 3), 9 * 8 * 8 * 3),
}


@pytest.mark.parametrize("case", POOL_CASES, ids=list(POOL_CASES))
def test_pool(case):
    layer, x, shape, flops = POOL_CASES[case]
    out, cost = run(layer, x)
    assert out == shape
    assert cost == Cost(flops=flops, activations=shape.elements)


@pytest.mark.parametrize("kind", ["gap", "gmp"])
def test_global_pool(kind):
    out, cost = run(GlobalPool(kind), Shape(7, 7, 2048))
    assert out == Shape(1, 1, 2048)
    assert cost == Cost(flops=7 * 7 * 2048, activations=2048)


def test_batchnorm():
    out, cost = run(BatchNorm(), Shape(56, 56, 64))
    assert out == Shape(56, 56, 64)
    assert cost == Cost(params=2 * 64, buffers=2 * 64, flops=2 * 56 * 56 * 64, activations=56 * 56 * 64)


@pytest.mark.parametrize("kind", ["relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish", "softmax"])
def test_activations_cost_one_flop_per_element(kind):
    assert run(Elementwise(kind), Shape(4, 5, 6)) == (Shape(4, 5, 6), Cost(flops=4 * 5 * 6, activations=4 * 5 * 6))


@pytest.mark.parametrize("kind", ["lrn", "dropout", "identity"])
def test_free_layers(kind):
    assert run(Elementwise(kind), Shape(4, 5, 6)) == (Shape(4, 5, 6), Cost(activations=4 * 5 * 6))


def test_flatten():
    assert run(Flatten(), Shape(6, 6, 256)) == (Shape(1, 1, 6 * 6 * 256), Cost(activations=6 * 6 * 256))


def test_add_counts_n_minus_one_per_element():
    x = Shape(14, 14, 256)
    assert run(Add(), x, x) == (x, Cost(flops=1 * 14 * 14 * 256, activations=14 * 14 * 256))
    assert run(Add(), x, x, x)[1].flops == 2 * 14 * 14 * 256


def test_concat():
    out, cost = run(Concat(), Shape(28, 28, 64), Shape(28, 28, 128), Shape(28, 28, 32), Shape(28, 28, 32))
    assert out == Shape(28, 28, 64 + 128 + 32 + 32)
    assert cost == Cost(activations=28 * 28 * 256)


@pytest.mark.parametrize("layer, inputs, message", [
    (Conv2d(8, (3, 3), groups=3), (Shape(8, 8, 6),), "groups=3 must divide both the input channels (6) and filters (8)"),
    (Conv2d(8, (3, 3), groups=4), (Shape(8, 8, 6),), "groups=4 must divide both the input channels (6)"),
    (Conv2d(8, (5, 5), padding="valid"), (Shape(4, 4, 3),), "output would be 0x0, smaller than 1x1"),
    (Pool2d((3, 3), (2, 2)), (Shape(2, 2, 3),), "output would be 0x0, smaller than 1x1"),
    (Pool2d((2, 2), (2, 2), (2, 2)), (Shape(8, 8, 3),), "more than half the kernel"),
    (Add(), (Shape(8, 8, 3), Shape(8, 8, 4)), "add needs inputs of one shape, got 8x8x3, 8x8x4"),
    (Concat(), (Shape(8, 8, 3), Shape(4, 4, 3)), "concat needs inputs of one height and width, got 8x8x3, 4x4x3"),
])
def test_layer_errors(layer, inputs, message):
    with pytest.raises(LayerError, match=re.escape(message)):
        layer.output_shape(inputs)


def test_conv_axis_matches_pytorch_formula_exhaustively():
    # Reference: PyTorch's documented Conv2d/MaxPool2d output size, including ceil_mode's rule.
    import math
    for size in range(1, 20):
        for k in range(1, 6):
            for s in range(1, 4):
                for p in range(0, k // 2 + 1):
                    for ceil_mode in (False, True):
                        span = size + 2 * p - (k - 1) - 1
                        if span < 0:
                            continue
                        rounding = math.ceil if ceil_mode else math.floor
                        want = rounding(span / s) + 1
                        if ceil_mode and (want - 1) * s >= size + p:
                            want -= 1
                        assert conv_axis(size, k, s, (p, p), 1, 0, ceil_mode) == want


def test_registry_builds_aliases_and_declares_keys():
    assert make_layer("linear", units=3) == Linear(3)
    assert make_layer("dense", units=3) == Linear(3)
    assert make_layer("batchnorm") == BatchNorm()
    assert make_layer("avgpool", kernel=(2, 2)).type == "avgpool"
    assert spec_keys(Conv2d) == {"filters": ("count", True), "kernel": ("pair", True), "stride": ("pair", False),
                                 "padding": ("padding", False), "dilation": ("pair", False),
                                 "groups": ("count", False), "bias": ("bool", False)}

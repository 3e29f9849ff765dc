"""compare(): ratios to the baseline, unique names, layer alignment, variants and the words for savings."""

from __future__ import annotations

import pytest

from conv_cost.compare import (Ratio, Subject, align, compare, compare_models, default_transform, ratio, subjects,
                               unique_names)
from conv_cost.cost import analyze, pointwise_role
from conv_cost.graph import INPUT, Model, Node
from conv_cost.layers import COST_KEYS, Concat, Conv2d, Cost, DepthwiseConv2d, Elementwise, GlobalPool, Linear, Shape
from conv_cost.render.numbers import exact, human, ratio_phrase, summary_sentence
from conv_cost.spec import load_spec

from .conftest import INCEPTION, SEED


def build(name, shape, *items):
    nodes, previous = [], INPUT
    for item in items:
        node_name, layer, *rest = item
        nodes.append(Node(node_name, layer, tuple(rest[0]) if rest else (previous,), 1, 1))
        previous = node_name
    return Model(name, Shape(*shape), tuple(nodes))


NAIVE = build("naive", (28, 28, 256), ("conv5x5", Conv2d(32, (5, 5))))
BOTTLENECK = build("bottleneck", (28, 28, 256), ("reduce", Conv2d(16, (1, 1))), ("conv5x5", Conv2d(32, (5, 5))))
NAIVE_MACS = 28 * 28 * 32 * 5 * 5 * 256
BOTTLENECK_MACS = 28 * 28 * 16 * 256 + 28 * 28 * 32 * 5 * 5 * 16
NAIVE_PARAMS = 5 * 5 * 256 * 32 + 32
BOTTLENECK_PARAMS = 256 * 16 + 16 + 5 * 5 * 16 * 32 + 32


# ----------------------------------------------------------------------------- ratios

@pytest.mark.parametrize("value, base, expected", [
    (13_246_464, 160_563_200, 13_246_464 / 160_563_200),
    (5, 5, 1.0),
    (0, 0, 1.0),      # neither has any: the same
    (7, 0, None),     # no finite ratio
    (0, 9, 0.0),
])
def test_ratio(value, base, expected):
    assert ratio(value, base) == expected


def test_compare_seed_models():
    c = compare([analyze(NAIVE), analyze(BOTTLENECK)])
    assert c.baseline.name == "naive"
    assert [e.name for e in c.entries] == ["naive", "bottleneck"]
    assert c.entries[0].ratio == Ratio()
    r = c.entries[1].ratio
    assert r.macs == BOTTLENECK_MACS / NAIVE_MACS
    assert r.params == BOTTLENECK_PARAMS / NAIVE_PARAMS
    assert r.flops == (2 * BOTTLENECK_MACS + 28 * 28 * (16 + 32)) / (2 * NAIVE_MACS + 28 * 28 * 32)
    assert r.activations == (28 * 28 * (16 + 32)) / (28 * 28 * 32)
    assert r.buffers == 1.0
    assert c.entries[1].totals.macs == BOTTLENECK_MACS
    assert round(1 / r.macs, 1) == 12.1


def test_compare_accepts_subjects_and_keeps_their_origin():
    c = compare([analyze(NAIVE), Subject(analyze(BOTTLENECK), "naive", "add_bottlenecks")], notes=["n"])
    assert (c.entries[1].variant_of, c.entries[1].transform) == ("naive", "add_bottlenecks")
    assert (c.entries[0].variant_of, c.entries[0].transform) == (None, None)
    assert c.notes == ("n",)


def test_compare_needs_a_model():
    with pytest.raises(ValueError):
        compare([])


@pytest.mark.parametrize("names, expected", [
    (["a", "b"], ["a", "b"]),
    (["a", "a", "a"], ["a", "a (2)", "a (3)"]),
    (["a", "a (2)", "a"], ["a", "a (2)", "a (3)"]),
])
def test_unique_names(names, expected):
    assert unique_names(names) == expected


def test_same_model_twice_gets_distinct_names():
    c = compare([analyze(NAIVE), analyze(NAIVE)])
    assert [e.name for e in c.entries] == ["naive", "naive (2)"]


# ----------------------------------------------------------------------------- alignment

def test_align_seed():
    matches = align([analyze(NAIVE), analyze(BOTTLENECK)])
    assert [m.name for m in matches] == ["reduce", "conv5x5"]
    reduce, conv5x5 = matches
    assert reduce.rows[0] is None and reduce.rows[1].cost.macs == 28 * 28 * 16 * 256
    assert conv5x5.rows[0].cost.macs == NAIVE_MACS
    assert conv5x5.rows[1].cost.macs == 28 * 28 * 32 * 5 * 5 * 16


def test_align_keeps_each_models_order_and_puts_unmatched_layers_after_their_predecessor():
    a = build("a", (8, 8, 16), ("x", Conv2d(16, (3, 3))), ("y", Conv2d(16, (3, 3))), ("z", Conv2d(16, (3, 3))))
    b = build("b", (8, 8, 16), ("x", Conv2d(16, (3, 3))), ("x2", Conv2d(16, (1, 1))), ("z", Conv2d(16, (3, 3))),
              ("w", Conv2d(16, (1, 1))))
    matches = align([analyze(a), analyze(b)])
    assert [m.name for m in matches] == ["x", "x2", "y", "z", "w"]
    present = {m.name: tuple(r is not None for r in m.rows) for m in matches}
    assert present == {"x": (True, True), "y": (True, False), "x2": (False, True), "z": (True, True),
                       "w": (False, True)}


def test_align_three_models():
    a = build("a", (8, 8, 16), ("p", Conv2d(16, (3, 3))))
    b = build("b", (8, 8, 16), ("q", Conv2d(16, (3, 3))), ("p", Conv2d(16, (3, 3))))
    c = build("c", (8, 8, 16), ("p", Conv2d(16, (3, 3))), ("r", Conv2d(16, (3, 3))))
    matches = align([analyze(a), analyze(b), analyze(c)])
    assert [m.name for m in matches] == ["q", "p", "r"]
    assert [tuple(r is not None for r in m.rows) for m in matches] == [
        (False, True, False), (True, True, True), (False, False, True)]


def test_inception_aligns_layer_by_layer():
    reduced, naive = load_spec(INCEPTION)
    matches = align([analyze(reduced), analyze(naive)])
    only_reduced = [m.name for m in matches if m.rows[1] is None]
    assert only_reduced == ["inception_3a/b2/3x3_reduce", "inception_3a/b2/relu_3x3_reduce",
                            "inception_3a/b3/5x5_reduce", "inception_3a/b3/relu_5x5_reduce"]
    assert all(m.rows[0] is not None for m in matches)
    by_name = {m.name: m for m in matches}
    three = by_name["inception_3a/b2/3x3"]
    assert three.rows[0].cost.macs == 28 * 28 * 128 * 3 * 3 * 96
    assert three.rows[1].cost.macs == 28 * 28 * 128 * 3 * 3 * 192


# ----------------------------------------------------------------------------- variants

def test_default_for_a_lone_model():
    assert default_transform(BOTTLENECK) == "remove_bottlenecks"
    assert default_transform(NAIVE) == "add_bottlenecks"


def test_lone_naive_model_gets_the_with_variant():
    items, notes = subjects([NAIVE])
    assert [s.report.name for s in items] == ["naive", "naive with bottlenecks"]
    variant = items[1]
    assert (variant.variant_of, variant.transform) == ("naive", "add_bottlenecks")
    assert variant.report.totals.macs == 28 * 28 * 64 * 256 + 28 * 28 * 32 * 5 * 5 * 64   # C // 4 = 64
    assert notes == ["naive with bottlenecks: 1x1 convs to C // 4: added conv5x5_reduce; changed conv5x5"]
    assert variant.report.description == "1x1 convs to C // 4: added conv5x5_reduce; changed conv5x5"


def test_lone_bottleneck_model_gets_the_without_variant():
    items, notes = subjects([BOTTLENECK])
    assert [s.report.name for s in items] == ["bottleneck", "bottleneck without bottlenecks"]
    assert items[1].report.totals.macs == NAIVE_MACS
    assert notes == ["bottleneck without bottlenecks: removed reduce; changed conv5x5"]


def test_several_models_get_no_variant_by_default():
    items, notes = subjects([NAIVE, BOTTLENECK])
    assert [s.report.name for s in items] == ["naive", "bottleneck"] and notes == []


def test_explicit_empty_list_means_no_variants_even_for_one_model():
    items, _ = subjects([NAIVE], [])
    assert [s.report.name for s in items] == ["naive"]


def test_variants_follow_each_model_in_registry_order_and_unchanged_ones_are_noted():
    items, notes = subjects([NAIVE, BOTTLENECK], ["add_bottlenecks", "remove_bottlenecks"], reduce_to=16)
    assert [s.report.name for s in items] == ["naive", "naive with bottlenecks", "bottleneck",
                                              "bottleneck without bottlenecks"]
    assert notes == [
        "no 'naive without bottlenecks': it has no 1x1 bottleneck to remove",
        "naive with bottlenecks: 1x1 convs to 16 channels: added conv5x5_reduce; changed conv5x5",
        "bottleneck without bottlenecks: removed reduce; changed conv5x5",
        "no 'bottleneck with bottlenecks': every larger conv already has a bottleneck, has groups > 1, "
        "or too few channels to reduce",
    ]
    assert items[1].report.totals == items[2].report.totals   # the seed: with-16 is the bottleneck model
    assert items[3].report.totals == items[0].report.totals


def test_unknown_transform():
    with pytest.raises(ValueError, match="unknown transform"):
        subjects([NAIVE], ["squeeze"])


def test_seed_file_compared():
    c = compare_models(load_spec(SEED))
    assert [(e.name, e.totals.macs) for e in c.entries] == [("naive", NAIVE_MACS), ("bottleneck", BOTTLENECK_MACS)]


def test_compare_models_on_mobile_and_nin_patterns():
    m = build("m", (16, 16, 32), ("dw", DepthwiseConv2d((3, 3))), ("pw", Conv2d(64, (1, 1))),
              ("gap", GlobalPool("gap")), ("fc", Linear(10)))
    c = compare_models([m], ["standard_conv", "fc_head"])
    assert [e.name for e in c.entries] == ["m", "m with standard convs", "m with an fc head"]
    dw_pw = 16 * 16 * 32 * 3 * 3 + 16 * 16 * 64 * 32
    assert [e.totals.macs for e in c.entries] == [dw_pw + 64 * 10,
                                                  16 * 16 * 64 * 3 * 3 * 32 + 64 * 10,
                                                  dw_pw + 16 * 16 * 64 * 10]


# ----------------------------------------------------------------------------- words

@pytest.mark.parametrize("r, noun, expected", [
    (13_246_464 / 160_563_200, "MACs", "12.1x fewer MACs"),
    (2.3, "params", "2.3x more params"),
    (1.1, "", "1.1x more"),
    (1.0, "FLOPs", "same FLOPs"),
    (1.0, "", "same"),
    (0.95, "MACs", "5.0% fewer MACs"),
    (1.04, "", "4.0% more"),
    (1.0004, "", "<0.1% more"),
    (0.0, "buffers", "no buffers"),
    (0.0, "", "none"),
    (None, "buffers", "buffers where the baseline has none"),
])
def test_ratio_phrase(r, noun, expected):
    assert ratio_phrase(r, noun) == expected


def test_summary_sentence_of_the_seed():
    c = compare([analyze(NAIVE), analyze(BOTTLENECK)])
    assert summary_sentence(c.entries[1], c.baseline) == (
        "bottleneck: 12.1x fewer MACs than naive (160.56M -> 13.25M), 12.1x fewer params (204.83K -> 16.94K), "
        "12.1x fewer FLOPs, 1.5x more activations.")
    assert summary_sentence(c.entries[1], c.baseline, exact).startswith(
        "bottleneck: 12.1x fewer MACs than naive (160,563,200 -> 13,246,464), 12.1x fewer params (204,832 -> 16,944)")
    assert human(NAIVE_MACS) == "160.56M"


def test_summary_sentence_same_and_buffers():
    from conv_cost.layers import BatchNorm
    with_bn = build("bn", (4, 4, 8), ("c", Conv2d(8, (3, 3))), ("bn", BatchNorm()))
    c = compare([analyze(NAIVE), analyze(NAIVE), analyze(with_bn)])
    assert summary_sentence(c.entries[1], c.baseline) == (
        "naive (2): same MACs as naive (160.56M -> 160.56M), same params (204.83K -> 204.83K), same FLOPs, "
        "same activations.")
    assert summary_sentence(c.entries[2], c.baseline).endswith(", buffers where the baseline has none.")


# ----------------------------------------------------------------------------- 1x1 roles

@pytest.mark.parametrize("layer, channels, role", [
    (Conv2d(16, (1, 1)), 256, "reduce"),
    (Conv2d(512, (1, 1)), 256, "expand"),
    (Conv2d(256, (1, 1)), 256, "mix"),
    (Conv2d(16, (1, 1), stride=(2, 2)), 256, "reduce"),
    (Conv2d(16, (3, 3)), 256, None),
    (DepthwiseConv2d((1, 1)), 256, None),
    (Elementwise("relu"), 256, None),
    (Concat(), 256, None),
])
def test_pointwise_role(layer, channels, role):
    assert pointwise_role(layer, channels) == role


def test_cost_totals_add_up():
    c = compare([analyze(BOTTLENECK)])
    rows = c.entries[0].report.layers
    assert c.entries[0].totals == Cost(*(sum(getattr(r.cost, k) for r in rows) for k in COST_KEYS))

"""The counterfactual rewrites on small hand-built graphs, with every expected count worked out here."""

from __future__ import annotations

import copy

import pytest

from conv_cost.cost import analyze
from conv_cost.errors import SpecError
from conv_cost.graph import INPUT, Model, Node, infer_shapes
from conv_cost.layers import (Add, BatchNorm, Concat, Conv2d, Cost, DepthwiseConv2d, Elementwise, Flatten,
                              GlobalPool, Linear, Mul, Pool2d, Shape)
from conv_cost.transforms import (TRANSFORMS, Bottleneck, add_bottlenecks, apply, fc_head, find_bottlenecks,
                                  remove_bottlenecks, standard_conv)


def conv(filters, k, **kw):
    k = (k, k) if isinstance(k, int) else k
    if "stride" in kw and isinstance(kw["stride"], int):
        kw["stride"] = (kw["stride"],) * 2
    return Conv2d(filters, k, **kw)


def build(shape, *items, name="m"):
    """A model from (name, layer) or (name, layer, [inputs]) items; the default input is the previous item.

    Each node sits on line 10 + its index, column 5, as if read from hand.yaml.
    """
    nodes, previous = [], INPUT
    for i, item in enumerate(items):
        node_name, layer, *rest = item
        inputs = tuple(rest[0]) if rest else (previous,)
        nodes.append(Node(node_name, layer, inputs, line=10 + i, col=5))
        previous = node_name
    return Model(name, Shape(*shape), tuple(nodes), source="hand.yaml")


def names(model):
    return [n.name for n in model.nodes]


def node(model, name):
    return next(n for n in model.nodes if n.name == name)


# The seed case: 28x28x256 -> (1x1 to 16) -> 5x5 with 32 filters.
NAIVE_MACS = 28 * 28 * 32 * 5 * 5 * 256                           # 160,563,200
NAIVE_PARAMS = 5 * 5 * 256 * 32 + 32                               # 204,832
NAIVE_FLOPS = 2 * NAIVE_MACS + 28 * 28 * 32                        # bias: one per output element
REDUCE_MACS = 28 * 28 * 16 * 256
CONV_ON_16_MACS = 28 * 28 * 32 * 5 * 5 * 16
BOTTLENECK_MACS = REDUCE_MACS + CONV_ON_16_MACS                     # 13,246,464
BOTTLENECK_PARAMS = (256 * 16 + 16) + (5 * 5 * 16 * 32 + 32)         # 16,944
BOTTLENECK_FLOPS = 2 * BOTTLENECK_MACS + 28 * 28 * 16 + 28 * 28 * 32


def seed_naive():
    return build((28, 28, 256), ("conv5x5", conv(32, 5)), name="naive")


def seed_bottleneck():
    return build((28, 28, 256), ("reduce", conv(16, 1)), ("conv5x5", conv(32, 5)), name="bottleneck")


def test_seed_numbers_are_the_published_ones():
    assert NAIVE_MACS == 160_563_200 and BOTTLENECK_MACS == 13_246_464
    assert analyze(seed_naive()).totals.macs == NAIVE_MACS
    assert analyze(seed_bottleneck()).totals.macs == BOTTLENECK_MACS


# ----------------------------------------------------------------------------- detection

def test_plain_bottleneck_is_found():
    assert find_bottlenecks(seed_bottleneck()) == (Bottleneck("reduce", (), "conv5x5"),)


def test_bottleneck_through_bn_and_relu():
    m = build((28, 28, 256), ("reduce", conv(16, 1)), ("bn", BatchNorm()), ("relu", Elementwise("relu")),
              ("conv5x5", conv(32, 5)))
    assert find_bottlenecks(m) == (Bottleneck("reduce", ("bn", "relu"), "conv5x5"),)


def test_kernel_1x7_counts_as_larger():
    m = build((17, 17, 768), ("reduce", conv(128, 1)), ("c1x7", conv(128, (1, 7))))
    assert find_bottlenecks(m) == (Bottleneck("reduce", (), "c1x7"),)


def test_grouped_larger_conv_still_has_a_bottleneck():
    # The definition constrains the 1x1, not the conv it feeds (ResNeXt's 1x1 before a grouped 3x3).
    m = build((14, 14, 256), ("reduce", conv(128, 1)), ("g3x3", conv(128, 3, groups=32)))
    assert find_bottlenecks(m) == (Bottleneck("reduce", (), "g3x3"),)


@pytest.mark.parametrize("case, items", [
    ("feeds two consumers", [("reduce", conv(16, 1)), ("a", conv(32, 3)), ("b", conv(32, 5), ["reduce"]),
                             ("cat", Concat(), ["a", "b"])]),
    ("its relu feeds two consumers", [("reduce", conv(16, 1)), ("relu", Elementwise("relu")), ("a", conv(32, 3)),
                                      ("b", conv(32, 5), ["relu"]), ("cat", Concat(), ["a", "b"])]),
    ("expands", [("expand", conv(512, 1)), ("c", conv(32, 3))]),
    ("keeps the channels (mix)", [("mix", conv(256, 1)), ("c", conv(32, 3))]),
    ("has stride 2", [("reduce", conv(16, 1, stride=2)), ("c", conv(32, 3))]),
    ("has groups 2", [("reduce", conv(16, 1, groups=2)), ("c", conv(32, 3))]),
    ("has padding 1 (grows the map)", [("reduce", conv(16, 1, padding=(1, 1))), ("c", conv(32, 3))]),
    ("feeds a 1x1", [("reduce", conv(16, 1)), ("c", conv(32, 1))]),
    ("feeds a dwconv", [("reduce", conv(16, 1)), ("dw", DepthwiseConv2d((3, 3)))]),
    ("passes a dropout", [("reduce", conv(16, 1)), ("p", Elementwise("dropout")), ("c", conv(32, 3))]),
    ("is the output", [("c", conv(32, 3)), ("reduce", conv(16, 1))]),
])
def test_not_a_bottleneck(case, items):
    assert find_bottlenecks(build((28, 28, 256), *items)) == ()


def test_chain_of_two_1x1s_only_the_second_is_a_bottleneck():
    m = build((28, 28, 256), ("r1", conv(128, 1)), ("r2", conv(64, 1)), ("c", conv(32, 3)))
    assert find_bottlenecks(m) == (Bottleneck("r2", (), "c"),)


# ----------------------------------------------------------------------------- without

def test_remove_seed_gives_the_naive_model():
    out = remove_bottlenecks(seed_bottleneck())
    assert names(out) == ["conv5x5"]
    assert node(out, "conv5x5").inputs == (INPUT,)
    assert infer_shapes(out)["conv5x5"] == Shape(28, 28, 32)
    assert analyze(out).totals == Cost(params=NAIVE_PARAMS, macs=NAIVE_MACS, flops=NAIVE_FLOPS,
                                       activations=28 * 28 * 32)


def test_remove_drops_bn_and_relu_after_the_bottleneck_and_keeps_the_rest():
    m = build((28, 28, 256), ("stem", conv(256, 3)), ("reduce", conv(16, 1)), ("bn", BatchNorm()),
              ("relu", Elementwise("relu")), ("conv5x5", conv(32, 5)), ("out_relu", Elementwise("relu")))
    out = remove_bottlenecks(m)
    assert names(out) == ["stem", "conv5x5", "out_relu"]
    assert node(out, "conv5x5").inputs == ("stem",)
    stem_macs = 28 * 28 * 256 * 3 * 3 * 256
    assert analyze(out).totals.macs == stem_macs + NAIVE_MACS
    assert analyze(out).totals.buffers == 0  # the bn went with its bottleneck
    assert analyze(out).totals.params == (3 * 3 * 256 * 256 + 256) + NAIVE_PARAMS


def test_remove_leaves_a_model_without_bottlenecks_alone():
    m = seed_naive()
    assert remove_bottlenecks(m) == m


def test_remove_that_breaks_a_grouped_conv_names_the_layer():
    # 256 -> 48 channels, then a 3x3 with groups 3: 48 / 3 fits, 256 / 3 does not.
    m = build((14, 14, 256), ("reduce", conv(48, 1)), ("g3x3", conv(48, 3, groups=3)))
    with pytest.raises(SpecError) as err:
        remove_bottlenecks(m)
    [problem] = err.value.problems
    assert (problem.path, problem.line, problem.col) == ("hand.yaml", 11, 5)
    assert problem.message == ("layer 'g3x3': groups=3 must divide both the input channels (256) and filters (48) "
                               "(in model 'm' without its 1x1 bottlenecks)")


# ----------------------------------------------------------------------------- with

def test_add_to_16_gives_the_seed_bottleneck_model_exactly():
    out = add_bottlenecks(seed_naive(), reduce_to=16)
    assert names(out) == ["conv5x5_reduce", "conv5x5"]
    inserted = node(out, "conv5x5_reduce")
    assert inserted.layer == Conv2d(16, (1, 1), stride=(1, 1), padding="same", groups=1, bias=True)
    assert inserted.inputs == (INPUT,) and node(out, "conv5x5").inputs == ("conv5x5_reduce",)
    # No source position of its own: the conv it serves lends it one.
    assert (inserted.line, inserted.col) == (10, 5)
    assert infer_shapes(out)["conv5x5_reduce"] == Shape(28, 28, 16)
    assert analyze(out).totals == Cost(params=BOTTLENECK_PARAMS, macs=BOTTLENECK_MACS, flops=BOTTLENECK_FLOPS,
                                       activations=28 * 28 * 16 + 28 * 28 * 32)
    assert analyze(out).totals == analyze(seed_bottleneck()).totals


def test_add_default_reduce_4():
    out = add_bottlenecks(seed_naive())
    assert node(out, "conv5x5_reduce").layer.filters == 256 // 4
    assert analyze(out).totals.macs == 28 * 28 * 64 * 256 + 28 * 28 * 32 * 5 * 5 * 64


@pytest.mark.parametrize("reduce, filters", [(2, 128), (3, 85), (8, 32)])
def test_add_reduce_r(reduce, filters):
    out = add_bottlenecks(seed_naive(), reduce=reduce)
    assert node(out, "conv5x5_reduce").layer.filters == filters


def test_add_only_before_larger_groups_1_convs_without_a_bottleneck():
    m = build((32, 32, 3),
              ("stem", conv(64, 3, stride=2)),          # C = 3: 3 // 4 = 0, left alone
              ("g3x3", conv(64, 3, groups=4)),          # groups > 1: never gets one
              ("p1x1", conv(128, 1)),                   # a 1x1: nothing to reduce in front of it
              ("c3x3", conv(128, 3)),                   # gets 128 // 4 = 32
              ("r", conv(32, 1)),                       # a bottleneck for the next conv
              ("c5x5", conv(64, 5)))                    # already has one
    before = copy.deepcopy(m)
    out = add_bottlenecks(m)
    assert m == before
    assert names(out) == ["stem", "g3x3", "p1x1", "c3x3_reduce", "c3x3", "r", "c5x5"]
    assert node(out, "c3x3_reduce").layer.filters == 32
    assert node(out, "c3x3_reduce").inputs == ("p1x1",)
    added = 16 * 16 * 32 * 128 + 16 * 16 * 128 * 3 * 3 * 32 - 16 * 16 * 128 * 3 * 3 * 128
    assert analyze(out).totals.macs == analyze(m).totals.macs + added


@pytest.mark.parametrize("options", [{"reduce_to": 3}, {"reduce_to": 4}, {"reduce": 4}])
def test_rgb_stem_is_left_alone(options):
    m = build((224, 224, 3), ("stem", conv(64, 7, stride=2)))
    assert add_bottlenecks(m, **options).nodes == m.nodes


def test_add_reduce_to_1_is_allowed_on_rgb():
    out = add_bottlenecks(build((8, 8, 3), ("stem", conv(8, 3))), reduce_to=1)
    assert analyze(out).totals.macs == 8 * 8 * 1 * 3 + 8 * 8 * 8 * 3 * 3 * 1


def test_inserted_name_never_clashes():
    m = build((28, 28, 256), ("conv5x5_reduce", Elementwise("identity")), ("conv5x5", conv(32, 5)))
    out = add_bottlenecks(m, reduce_to=16)
    assert names(out) == ["conv5x5_reduce", "conv5x5_reduce2", "conv5x5"]


def test_add_in_parallel_branches():
    m = build((28, 28, 192), ("a", conv(128, 3), [INPUT]), ("b", conv(32, 5), [INPUT]), ("cat", Concat(), ["a", "b"]))
    out = add_bottlenecks(m, reduce_to=16)
    assert names(out) == ["a_reduce", "a", "b_reduce", "b", "cat"]
    assert analyze(out).totals.macs == (28 * 28 * 16 * 192 + 28 * 28 * 128 * 3 * 3 * 16
                                        + 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16)


@pytest.mark.parametrize("bad", [{"reduce": 0}, {"reduce_to": 0}])
def test_add_rejects_nonsense_options(bad):
    with pytest.raises(ValueError):
        add_bottlenecks(seed_naive(), **bad)


# ----------------------------------------------------------------------------- round trips

def test_remove_then_add_gives_the_original_counts_back():
    original = seed_bottleneck()
    back = add_bottlenecks(remove_bottlenecks(original), reduce_to=16)
    assert analyze(back).totals == analyze(original).totals


def test_add_then_remove_gives_the_original_model_back():
    m = build((28, 28, 192), ("a", conv(128, 3), [INPUT]), ("b", conv(32, 5), [INPUT]), ("cat", Concat(), ["a", "b"]))
    assert remove_bottlenecks(add_bottlenecks(m, reduce_to=16)) == m


def test_two_branches_with_the_same_reduction_round_trip():
    m = build((28, 28, 192), ("a_r", conv(16, 1), [INPUT]), ("a", conv(128, 3)), ("b_r", conv(16, 1), [INPUT]),
              ("b", conv(32, 5)), ("cat", Concat(), ["a", "b"]))
    naive = remove_bottlenecks(m)
    assert names(naive) == ["a", "b", "cat"]
    assert analyze(naive).totals.macs == 28 * 28 * 128 * 3 * 3 * 192 + 28 * 28 * 32 * 5 * 5 * 192
    assert analyze(add_bottlenecks(naive, reduce_to=16)).totals == analyze(m).totals


# ----------------------------------------------------------------------------- standard conv

def mobile_block(stride=1, multiplier=1, pw_groups=1):
    return build((16, 16, 32),
                 ("dw", DepthwiseConv2d((3, 3), multiplier=multiplier, stride=(stride, stride))),
                 ("dw_bn", BatchNorm()), ("dw_relu", Elementwise("relu")),
                 ("pw", conv(64, 1, groups=pw_groups)), ("pw_bn", BatchNorm()), ("pw_relu", Elementwise("relu")))


def test_standard_conv_fuses_dw_and_pw():
    m = mobile_block()
    out = standard_conv(m)
    assert names(out) == ["pw", "pw_bn", "pw_relu"]
    assert node(out, "pw").layer == Conv2d(64, (3, 3), stride=(1, 1), padding="same", groups=1, bias=True)
    assert node(out, "pw").inputs == (INPUT,)
    separable = 16 * 16 * 32 * 3 * 3 + 16 * 16 * 64 * 32       # MobileNet eq. (5): dw + pw
    standard = 16 * 16 * 64 * 3 * 3 * 32                       # eq. (2)
    assert analyze(m).totals.macs == separable
    assert analyze(out).totals.macs == standard
    # MobileNet's reduction factor 1/N + 1/Dk^2.
    assert separable / standard == pytest.approx(1 / 64 + 1 / 9)
    assert analyze(out).totals.params == 3 * 3 * 32 * 64 + 64 + 2 * 64   # conv + its bias + pw_bn


def test_standard_conv_keeps_the_depthwise_stride():
    out = standard_conv(mobile_block(stride=2))
    assert node(out, "pw").layer.stride == (2, 2)
    assert infer_shapes(out)["pw"] == Shape(8, 8, 64)
    assert analyze(out).totals.macs == 8 * 8 * 64 * 3 * 3 * 32


def test_standard_conv_with_a_multiplier_reads_the_depthwise_input():
    out = standard_conv(mobile_block(multiplier=2))
    assert analyze(out).totals.macs == 16 * 16 * 64 * 3 * 3 * 32


@pytest.mark.parametrize("items", [
    [("dw", DepthwiseConv2d((3, 3))), ("c", conv(64, 3))],                                 # not a 1x1 after it
    [("dw", DepthwiseConv2d((3, 3))), ("pw", conv(64, 1, groups=2))],                      # grouped pointwise
    [("dw", DepthwiseConv2d((3, 3))), ("pw", conv(64, 1, stride=2))],                      # strided pointwise
    [("dw", DepthwiseConv2d((3, 3))), ("a", conv(64, 1)), ("b", conv(64, 1), ["dw"]), ("cat", Concat(), ["a", "b"])],
])
def test_standard_conv_leaves_other_patterns_alone(items):
    m = build((16, 16, 32), *items)
    assert standard_conv(m) == m


# ----------------------------------------------------------------------------- fc head

def head(*between, pool=None):
    pool = pool or GlobalPool("gap")
    return build((7, 7, 512), ("pool", pool), *between, ("fc", Linear(1000)))


def test_fc_head_replaces_gap_by_flatten():
    m = head()
    out = fc_head(m)
    assert names(out) == ["pool_flatten", "fc"]
    assert node(out, "pool_flatten").layer == Flatten()
    assert node(out, "fc").inputs == ("pool_flatten",)
    assert analyze(m).totals == Cost(params=512 * 1000 + 1000, macs=512 * 1000,
                                     flops=7 * 7 * 512 + 2 * 512 * 1000 + 1000, activations=512 + 1000)
    assert analyze(out).totals == Cost(params=7 * 7 * 512 * 1000 + 1000, macs=7 * 7 * 512 * 1000,
                                       flops=2 * 7 * 7 * 512 * 1000 + 1000, activations=7 * 7 * 512 + 1000)


def test_fc_head_through_dropout():
    out = fc_head(head(("drop", Elementwise("dropout"))))
    assert names(out) == ["pool_flatten", "drop", "fc"]
    assert node(out, "drop").inputs == ("pool_flatten",)
    assert analyze(out).totals.macs == 7 * 7 * 512 * 1000


def test_fc_head_with_a_flatten_already_there_drops_the_gap():
    out = fc_head(head(("flat", Flatten())))
    assert names(out) == ["flat", "fc"]
    assert node(out, "flat").inputs == (INPUT,)
    assert analyze(out).totals.params == 7 * 7 * 512 * 1000 + 1000


def test_fc_head_on_a_pool_that_ends_the_network_adds_an_fc_of_the_same_width():
    # Network-in-Network: the last mlpconv makes 8x8x10, a gap averages it to the 10 class scores.
    m = build((8, 8, 192), ("cccp", conv(10, 1)), ("pool", GlobalPool("gap")), ("prob", Elementwise("softmax")))
    out = fc_head(m)
    assert names(out) == ["cccp", "pool_flatten", "pool_fc", "prob"]
    assert node(out, "pool_fc").layer == Linear(10) and node(out, "pool_fc").inputs == ("pool_flatten",)
    assert node(out, "prob").inputs == ("pool_fc",)
    # The fc reads 8*8*10 = 640 values: 640*10 weights + 10 biases more than the gap.
    assert analyze(out).totals.params - analyze(m).totals.params == 8 * 8 * 10 * 10 + 10
    assert analyze(out).output == analyze(m).output == Shape(1, 1, 10)


def test_fc_head_on_the_last_layer():
    out = fc_head(build((4, 4, 3), ("pool", GlobalPool("gap"))))
    assert names(out) == ["pool_flatten", "pool_fc"]
    assert analyze(out).totals.macs == 4 * 4 * 3 * 3


def test_fc_head_takes_a_pool_whose_window_is_its_whole_input():
    # GoogLeNet's paper head: a 7x7 average pool on the 7x7 map, dropout, fc.
    m = build((7, 7, 1024), ("pool5", Pool2d((7, 7), type="avgpool")), ("drop", Elementwise("dropout")),
              ("fc", Linear(1000)))
    out = fc_head(m)
    assert names(out) == ["pool5_flatten", "drop", "fc"]
    assert analyze(out).totals.params == 7 * 7 * 1024 * 1000 + 1000


SE_BLOCK = [("c", conv(16, 3)), ("squeeze", GlobalPool("gap")), ("fc1", Linear(4)), ("act", Elementwise("relu")),
            ("fc2", Linear(16)), ("gate", Elementwise("sigmoid"))]


@pytest.mark.parametrize("m", [
    head(pool=GlobalPool("gmp")),                                                # only gap is NiN's head
    build((7, 7, 512), ("pool", GlobalPool("gap")), ("cls", conv(1000, 1))),     # a 1x1 conv classifier
    build((7, 7, 512), ("pool", GlobalPool("gap")), ("a", Linear(10)), ("b", Linear(10), ["pool"]),
          ("cat", Concat(), ["a", "b"])),                                        # two consumers
    build((7, 7, 512), ("pool", GlobalPool("gap")), ("a", Elementwise("relu")), ("fc", Linear(10))),
    # A squeeze-and-excitation squeeze is no head, even written with fc layers.
    build((8, 8, 16), *SE_BLOCK, ("se", Mul(), ["c", "gate"])),
    # A 3x3 average pool on a 7x7 map is no global pool.
    build((7, 7, 8), ("pool", Pool2d((3, 3), type="avgpool")),
          ("fc", Linear(10))),
])
def test_fc_head_leaves_other_patterns_alone(m):
    assert fc_head(m) == m


def test_an_se_squeeze_before_a_classifier_head_is_left_alone_and_the_head_is_rewritten():
    m = build((8, 8, 16), *SE_BLOCK, ("se", Mul(), ["c", "gate"]), ("pool", GlobalPool("gap")), ("fc", Linear(10)))
    out = fc_head(m)
    assert node(out, "squeeze").layer == GlobalPool("gap")
    assert "pool_flatten" in names(out) and "pool" not in names(out)


def test_an_inverted_residual_has_no_bottleneck():
    # MobileNetV2/V3: expand 1x1 (more channels), 3x3 depthwise, project 1x1 (fewer) into an add.
    m = build((14, 14, 24), ("expand", conv(96, 1)), ("r1", Elementwise("relu6")), ("dw", DepthwiseConv2d((3, 3))),
              ("r2", Elementwise("relu6")), ("project", conv(24, 1)),
              ("res", Add(), ["project", INPUT]))
    assert find_bottlenecks(m) == ()
    assert remove_bottlenecks(m).nodes == m.nodes


# ----------------------------------------------------------------------------- registry

CHANGED_BY = {
    "remove_bottlenecks": seed_bottleneck,
    "add_bottlenecks": seed_naive,
    "standard_conv": mobile_block,
    "fc_head": head,
}


def test_every_transform_has_a_case_here():
    assert set(CHANGED_BY) == set(TRANSFORMS)


@pytest.mark.parametrize("key", list(TRANSFORMS))
def test_transform_leaves_its_input_untouched_and_names_the_variant(key):
    m = CHANGED_BY[key]()
    before = copy.deepcopy(m)
    out = apply(key, m, reduce=4, reduce_to=None)
    assert m == before
    assert out.nodes != m.nodes
    assert out.name == f"{m.name} {TRANSFORMS[key].label}"
    assert out.input == m.input and out.source == m.source


@pytest.mark.parametrize("key", list(TRANSFORMS))
def test_transform_flags_are_distinct_long_options(key):
    flag = TRANSFORMS[key].flag
    assert flag.startswith("--") and [t.flag for t in TRANSFORMS.values()].count(flag) == 1

"""Bytes, precision, batch, peak activation memory and the roofline (contract section 6).

Expected figures are derived by hand in the tests, or by a brute-force simulation of the liveness
rule written independently of conv_cost/memory.py (reference counting, step by step).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conv_cost.cost import analyze
from conv_cost.devices import DEVICES_TOML, device, device_names, load_devices, parse_devices
from conv_cost.memory import (
    BEFORE_ANY_LAYER,
    DTYPES,
    LayerBytes,
    TensorNode,
    bytes_per_element,
    intensity,
    layer_bytes,
    peak_activation_bytes,
    total_bytes,
)
from conv_cost.roofline import COMPUTE, MEMORY, Roofline, layer_time, model_time, parse_rate
from conv_cost.spec import load_spec, parse_spec

from .conftest import SEED, SPECS

# The caller decides which layers are views; the contract names these three.
VIEW_TYPES = {"flatten", "identity", "dropout"}


def memory_of(model, dtype: str, batch: int):
    """Feed a real model's rows to the plain-data functions, as the CLI will."""
    report = analyze(model)
    b = DTYPES[dtype]
    rows = [layer_bytes(params=r.cost.params, buffers=r.cost.buffers,
                        input_elements=[s.elements for s in r.input_shapes],
                        output_elements=r.output.elements, flops=r.cost.flops,
                        bytes_per_element=b, batch=batch) for r in report.layers]
    nodes = tensor_nodes(report)
    return rows, total_bytes(rows), peak_activation_bytes(report.input.elements, nodes,
                                                          bytes_per_element=b, batch=batch)


def tensor_nodes(report) -> list[TensorNode]:
    return [TensorNode(r.name, r.inputs, r.output.elements, r.type in VIEW_TYPES) for r in report.layers]


def seed_models():
    return {m.name: m for m in load_spec(SEED)}


# ---------------------------------------------------------------------------------------------
# (a) The seed bottleneck by hand: input 28x28x256; naive = 5x5 conv, 32 filters;
#     bottleneck = 1x1 conv to 16, then the 5x5 conv to 32. Padding `same`, stride 1, bias.
# ---------------------------------------------------------------------------------------------
IN = 28 * 28 * 256  # 200,704 input elements
NAIVE_PARAMS = 5 * 5 * 256 * 32 + 32  # 204,832
NAIVE_OUT = 28 * 28 * 32  # 25,088
NAIVE_FLOPS = 2 * (28 * 28 * 32 * 5 * 5 * 256) + 28 * 28 * 32  # 2 * 160,563,200 + 25,088 bias
REDUCE_PARAMS = 1 * 1 * 256 * 16 + 16  # 4,112
REDUCE_OUT = 28 * 28 * 16  # 12,544
REDUCE_FLOPS = 2 * (28 * 28 * 16 * 1 * 1 * 256) + 28 * 28 * 16  # 2 * 3,211,264 + 12,544
CONV_PARAMS = 5 * 5 * 16 * 32 + 32  # 12,832
CONV_FLOPS = 2 * (28 * 28 * 32 * 5 * 5 * 16) + 28 * 28 * 32  # 2 * 10,035,200 + 25,088


def test_seed_counts_written_out_match_the_counter():
    counts = {(m, r.name): (r.cost.params, r.cost.buffers, r.output.elements, r.cost.flops)
              for m, model in seed_models().items() for r in analyze(model).layers}
    assert counts == {
        ("naive", "conv5x5"): (204_832, 0, 25_088, 321_151_488),
        ("bottleneck", "reduce"): (4_112, 0, 12_544, 6_435_072),
        ("bottleneck", "conv5x5"): (12_832, 0, 25_088, 20_095_488),
    }
    assert (NAIVE_PARAMS, NAIVE_OUT, NAIVE_FLOPS) == (204_832, 25_088, 321_151_488)
    assert (REDUCE_PARAMS, REDUCE_OUT, REDUCE_FLOPS) == (4_112, 12_544, 6_435_072)
    assert (CONV_PARAMS, CONV_FLOPS) == (12_832, 20_095_488)


def test_seed_naive_fp32_batch1():
    (conv,), totals, peak = memory_of(seed_models()["naive"], "fp32", 1)
    assert conv.weight_bytes == (204_832 + 0) * 4 == 819_328
    assert conv.output_bytes == 25_088 * 1 * 4 == 100_352
    assert conv.read_bytes == 200_704 * 1 * 4 + 819_328 == 1_622_144
    assert conv.write_bytes == 100_352
    assert conv.flops == 321_151_488 * 1
    assert conv.intensity == 321_151_488 / (1_622_144 + 100_352)  # 186.445... FLOPs per byte
    assert (totals.weight_bytes, totals.output_bytes, totals.read_bytes, totals.write_bytes) == (
        819_328, 100_352, 1_622_144, 100_352)
    # Before any layer: the input, 802,816 B; while conv5x5 runs: input + its output.
    assert peak.bytes == 200_704 * 4 + 25_088 * 4 == 903_168
    assert peak.where == "conv5x5" and peak.layer_index == 0
    assert [(t.name, t.bytes) for t in peak.live] == [("input", 802_816), ("conv5x5", 100_352)]


def test_seed_bottleneck_fp32_batch1():
    (reduce, conv), totals, peak = memory_of(seed_models()["bottleneck"], "fp32", 1)
    assert reduce.weight_bytes == 4_112 * 4 == 16_448
    assert reduce.output_bytes == 12_544 * 1 * 4 == 50_176
    assert reduce.read_bytes == 200_704 * 1 * 4 + 16_448 == 819_264
    assert reduce.write_bytes == 50_176
    assert conv.weight_bytes == 12_832 * 4 == 51_328
    assert conv.output_bytes == 25_088 * 1 * 4 == 100_352
    assert conv.read_bytes == 12_544 * 1 * 4 + 51_328 == 101_504
    assert conv.write_bytes == 100_352
    assert totals.weight_bytes == 16_448 + 51_328 == 67_776
    assert totals.output_bytes == 50_176 + 100_352 == 150_528
    assert totals.read_bytes == 819_264 + 101_504 == 920_768
    assert totals.write_bytes == 150_528
    assert totals.flops == 6_435_072 + 20_095_488 == 26_530_560
    assert totals.intensity == 26_530_560 / (920_768 + 150_528)
    # t0: input 802,816; while reduce runs: input + reduce = 852,992; while conv5x5 runs the input
    # is dead (its last reader ran): reduce + conv5x5 = 150,528.
    assert peak.bytes == 200_704 * 4 + 12_544 * 4 == 852_992
    assert peak.where == "reduce" and peak.layer_index == 0
    assert [(t.name, t.bytes) for t in peak.live] == [("input", 802_816), ("reduce", 50_176)]


def test_seed_naive_fp16_batch8():
    (conv,), totals, peak = memory_of(seed_models()["naive"], "fp16", 8)
    assert conv.weight_bytes == 204_832 * 2 == 409_664  # weights do not scale with the batch
    assert conv.output_bytes == 25_088 * 8 * 2 == 401_408
    assert conv.read_bytes == 200_704 * 8 * 2 + 409_664 == 3_620_928
    assert conv.write_bytes == 401_408
    assert conv.flops == 321_151_488 * 8 == 2_569_211_904
    assert totals.intensity == conv.intensity == 2_569_211_904 / (3_620_928 + 401_408)
    assert peak.bytes == (200_704 + 25_088) * 8 * 2 == 3_612_672
    assert peak.where == "conv5x5"


def test_seed_bottleneck_fp16_batch8():
    (reduce, conv), totals, peak = memory_of(seed_models()["bottleneck"], "fp16", 8)
    assert reduce.weight_bytes == 4_112 * 2 == 8_224
    assert reduce.output_bytes == 12_544 * 8 * 2 == 200_704
    assert reduce.read_bytes == 200_704 * 8 * 2 + 8_224 == 3_219_488
    assert conv.weight_bytes == 12_832 * 2 == 25_664
    assert conv.output_bytes == 25_088 * 8 * 2 == 401_408
    assert conv.read_bytes == 12_544 * 8 * 2 + 25_664 == 226_368
    assert (totals.weight_bytes, totals.output_bytes, totals.read_bytes, totals.write_bytes) == (
        8_224 + 25_664, 200_704 + 401_408, 3_219_488 + 226_368, 200_704 + 401_408)
    assert totals.read_bytes == 3_445_856 and totals.write_bytes == 602_112
    assert totals.flops == (6_435_072 + 20_095_488) * 8 == 212_244_480
    assert totals.intensity == 212_244_480 / (3_445_856 + 602_112)
    assert peak.bytes == (200_704 + 12_544) * 8 * 2 == 3_411_968
    assert peak.where == "reduce"


@pytest.mark.parametrize("dtype, b", [("fp32", 4), ("fp16", 2), ("bf16", 2), ("int8", 1)])
def test_bytes_per_element(dtype, b):
    assert bytes_per_element(dtype) == b


@pytest.mark.parametrize("dtype, message", [
    ("fp64", "unknown dtype 'fp64'; choose one of fp32, fp16, bf16, int8; did you mean 'fp16'?"),
    ("float", "unknown dtype 'float'; choose one of fp32, fp16, bf16, int8"),
    (None, "unknown dtype None; choose one of fp32, fp16, bf16, int8"),
])
def test_unknown_dtype(dtype, message):
    with pytest.raises(ValueError) as err:
        bytes_per_element(dtype)
    assert str(err.value) == message


def test_an_input_listed_twice_is_read_twice():
    row = layer_bytes(params=0, buffers=0, input_elements=[20, 20], output_elements=20, flops=20,
                      bytes_per_element=2, batch=3)
    assert row.read_bytes == (20 + 20) * 3 * 2 == 240
    assert row.write_bytes == 20 * 3 * 2 == 120


def test_buffers_count_as_weights_and_do_not_scale_with_the_batch():
    row = layer_bytes(params=6, buffers=6, input_elements=[100], output_elements=100, flops=200,
                      bytes_per_element=4, batch=5)
    assert row.weight_bytes == (6 + 6) * 4 == 48
    assert row.read_bytes == 100 * 5 * 4 + 48 == 2_048
    assert row.flops == 200 * 5 == 1_000


def test_totals_of_no_layers_are_zero_with_zero_intensity():
    totals = total_bytes([])
    assert (totals.flops, totals.read_bytes, totals.write_bytes, totals.intensity) == (0, 0, 0, 0.0)
    assert intensity(0, 0) == 0.0


@pytest.mark.parametrize("kwargs, message", [
    ({"params": -1}, "params must be a non-negative integer, not -1"),
    ({"buffers": 1.5}, "buffers must be a non-negative integer, not 1.5"),
    ({"input_elements": [3, True]}, "input elements must be a non-negative integer, not True"),
    ({"output_elements": "9"}, "output elements must be a non-negative integer, not '9'"),
    ({"flops": None}, "flops must be a non-negative integer, not None"),
    ({"batch": 0}, "batch must be a positive integer, not 0"),
    ({"batch": True}, "batch must be a positive integer, not True"),
    ({"bytes_per_element": 0}, "bytes per element must be a positive integer, not 0"),
    ({"input_elements": [], "output_elements": 0, "params": 0},
     "7 FLOPs with no byte moved: every layer reads and writes something"),
])
def test_layer_bytes_rejects_bad_counts(kwargs, message):
    args = {"params": 1, "buffers": 0, "input_elements": [4], "output_elements": 4, "flops": 7,
            "bytes_per_element": 4, "batch": 1, **kwargs}
    with pytest.raises(ValueError) as err:
        layer_bytes(**args)
    assert str(err.value) == message


def test_per_layer_figures_apply_to_views_too():
    model = parse_spec("input: [2, 3, 4]\nlayers:\n  - {type: flatten}\n  - {type: dropout}\n", "v.yaml")[0]
    (flat, drop), totals, peak = memory_of(model, "fp32", 2)
    for row in (flat, drop):
        assert row.read_bytes == 24 * 2 * 4 and row.write_bytes == 24 * 2 * 4 and row.flops == 0
    assert totals.read_bytes == 2 * 192
    assert peak.bytes == 24 * 2 * 4  # one block: the views share the input's memory


# ---------------------------------------------------------------------------------------------
# A brute-force oracle of the liveness rule: simulate the run with reference counting.
# ---------------------------------------------------------------------------------------------
def simulate_peak(input_elements: int, nodes: Sequence[TensorNode], b: int, n: int):
    """(peak bytes, index of the running layer or None, {block: bytes} live then), by simulation."""
    block = {"input": "input"}
    size = {"input": input_elements}
    for node in nodes:
        block[node.name] = block[node.inputs[0]] if node.is_view else node.name
        if not node.is_view:
            size[node.name] = node.elements
    kept = block[nodes[-1].name] if nodes else "input"

    def read_after(name: str, index: int) -> bool:
        return any(block[s] == name for later in nodes[index + 1:] for s in later.inputs)

    allocated = ["input"]
    snapshots = [(None, {"input": size["input"]})]
    allocated = [x for x in allocated if x == kept or read_after(x, -1)]
    for index, node in enumerate(nodes):
        if not node.is_view:
            allocated.append(node.name)
        snapshots.append((index, {x: size[x] for x in allocated}))
        allocated = [x for x in allocated if x == kept or read_after(x, index)]
    best = max(sum(s.values()) for _, s in snapshots)
    index, live = next((i, s) for i, s in snapshots if sum(s.values()) == best)
    return best * b * n, index, {k: v * b * n for k, v in live.items()}


def check_against_simulation(input_elements, nodes, b=1, n=1):
    peak = peak_activation_bytes(input_elements, nodes, bytes_per_element=b, batch=n)
    expected, index, live = simulate_peak(input_elements, nodes, b, n)
    assert (peak.bytes, peak.layer_index) == (expected, index)
    assert {t.name: t.bytes for t in peak.live} == live
    assert sum(t.bytes for t in peak.live) == peak.bytes
    return peak


def node(name, inputs, elements, view=False):
    return TensorNode(name, tuple(inputs), elements, view)


# ---------------------------------------------------------------------------------------------
# (b) Liveness cases, each expected peak worked out in the comment above it.
# ---------------------------------------------------------------------------------------------
def test_a_model_with_no_layers_peaks_before_any_layer_with_its_input():
    peak = check_against_simulation(10, [], b=4, n=2)
    assert peak.bytes == 10 * 4 * 2 and peak.where == BEFORE_ANY_LAYER and peak.layer_index is None
    assert [(t.name, t.bytes, t.views) for t in peak.live] == [("input", 80, ())]


def test_parallel_branches_keep_the_block_input_until_the_merge():
    # t1 a: 100+30; t2 b: 100+30+20; t3 c: 100+30+20+20; t4 concat: 100+30+20(c)+150 = 300 (b is
    # dead once c ran).
    nodes = [node("a", ["input"], 30), node("b", ["input"], 20), node("c", ["b"], 20),
             node("cat", ["a", "c", "input"], 150)]
    peak = check_against_simulation(100, nodes)
    assert peak.bytes == 100 + 30 + 20 + 150 == 300 and peak.where == "cat"
    assert [t.name for t in peak.live] == ["input", "a", "c", "cat"]


def test_a_residual_add_ties_go_to_the_first_occurrence():
    # t1 c1: 64+64; t2 c2: input+c1+c2 = 192; t3 add: input+c2+add = 192: a tie, the first wins.
    nodes = [node("c1", ["input"], 64), node("c2", ["c1"], 64), node("add", ["c2", "input"], 64)]
    peak = check_against_simulation(64, nodes)
    assert peak.bytes == 192 and peak.where == "c2" and peak.layer_index == 1


def test_a_dead_output_is_live_only_while_its_layer_runs():
    # t1 d: 10+50 = 60 (d has no reader); t2 e: 10+40 = 50; t3 f: e+f = 40+45 = 85. Were d kept to
    # the end, t3 would be 135.
    nodes = [node("d", ["input"], 50), node("e", ["input"], 40), node("f", ["e"], 45)]
    peak = check_against_simulation(10, nodes)
    assert peak.bytes == 85 and peak.where == "f"


def test_readers_of_a_view_keep_the_shared_memory_alive():
    # a = conv(input) 40; f = flatten(a); b = conv(input) 30; g = concat(f, b) 70.
    # t1: 10+40; t2 (f adds nothing): 50; t3: 10+40+30 = 80; t4: a+b+g = 40+30+70 = 140.
    nodes = [node("a", ["input"], 40), node("f", ["a"], 40, True), node("b", ["input"], 30),
             node("g", ["f", "b"], 70)]
    peak = check_against_simulation(10, nodes)
    assert peak.bytes == 140 and peak.where == "g"
    assert [(t.name, t.bytes, t.views) for t in peak.live] == [("a", 40, ("f",)), ("b", 30, ()), ("g", 70, ())]


def test_a_chain_of_views_shares_one_block():
    # v1 = flatten(a), v2 = dropout(v1), v3 = identity(v2), then fc reads v3.
    # t1 a: 10+40 = 50; t2..t4 views: a alone, 40; t5 fc: a + fc = 40 + 5 = 45.
    nodes = [node("a", ["input"], 40), node("v1", ["a"], 40, True), node("v2", ["v1"], 40, True),
             node("v3", ["v2"], 40, True), node("fc", ["v3"], 5)]
    peak = check_against_simulation(10, nodes)
    assert peak.bytes == 50 and peak.where == "a"
    at_fc = peak_activation_bytes(1, nodes, bytes_per_element=1)  # a tiny input: the peak moves to fc
    assert at_fc.bytes == 45 and at_fc.where == "fc"
    assert [(t.name, t.views) for t in at_fc.live] == [("a", ("v3",)), ("fc", ())]


def test_a_view_as_the_model_output_holds_its_memory_to_the_end():
    # identity(c) is the output: c lives to the end and is listed with its view.
    nodes = [node("c", ["input"], 30), node("out", ["c"], 30, True)]
    peak = check_against_simulation(20, nodes, b=2)
    assert peak.bytes == (20 + 30) * 2 and peak.where == "c"
    only_views = [node("v1", ["input"], 20, True), node("v2", ["v1"], 20, True)]
    peak = check_against_simulation(20, only_views)
    # Every point holds just the input; the tie goes to "before any layer".
    assert peak.bytes == 20 and peak.where == BEFORE_ANY_LAYER
    assert [(t.name, t.views) for t in peak.live] == [("input", ())]


def test_a_view_of_the_input_keeps_the_input_until_its_readers_ran():
    # v = identity(input); a = conv(v) 20; b = conv(a) 5.
    # t0: 10; t1 v: 10; t2 a: 10+20 = 30; t3 b: 20+5 (the input died after a).
    nodes = [node("v", ["input"], 10, True), node("a", ["v"], 20), node("b", ["a"], 5)]
    peak = check_against_simulation(10, nodes)
    assert peak.bytes == 30 and peak.where == "a"
    assert [(t.name, t.views) for t in peak.live] == [("input", ("v",)), ("a", ())]


def test_a_dead_view_keeps_its_block_only_until_the_view_ran():
    # a 20; v = flatten(a), read by nobody; b = conv(input) 25.
    # t1: 10+20; t2: 30; t3: 10+25 = 35 (a died after v). Kept to the end, t3 would be 55.
    nodes = [node("a", ["input"], 20), node("v", ["a"], 20, True), node("b", ["input"], 25)]
    peak = check_against_simulation(10, nodes)
    assert peak.bytes == 35 and peak.where == "b"


def test_an_input_listed_twice_is_one_block_for_liveness():
    # y = add(x, x) and z = add(y, view of y): t2: x + y = 40, never 60.
    nodes = [node("x", ["input"], 20), node("y", ["x", "x"], 20), node("vy", ["y"], 20, True),
             node("z", ["y", "vy"], 20)]
    peak = check_against_simulation(10, nodes)
    assert peak.bytes == 40 and peak.where == "y"


def test_a_spec_with_every_structure_against_the_simulation():
    text = """
input: [8, 8, 4]
layers:
  - {type: parallel, name: mix, branches: [[{type: conv, name: a, filters: 2, kernel: 1}],
                                           [{type: conv, name: b, filters: 3, kernel: 3}, {type: relu}], []]}
  - {type: residual, name: res, body: [{type: conv, name: c, filters: 9, kernel: 3}]}
  - {type: add, name: twice, inputs: [res, res]}
  - {type: conv, name: side, filters: 1, kernel: 1, inputs: mix}
  - {type: flatten, inputs: twice}
  - {type: dropout}
  - {type: fc, units: 10}
  - {type: identity}
"""
    report = analyze(parse_spec(text, "all.yaml")[0])
    peak = check_against_simulation(report.input.elements, tensor_nodes(report), b=2, n=3)
    # While `res` runs: mix (576) + res/c (576) + res (576) = 1,728 elements; nothing else is live
    # (the input died with the concat).
    assert peak.bytes == (576 + 576 + 576) * 2 * 3 and peak.where == "res"


@pytest.mark.parametrize("spec", ["inception_3a.yaml", "resnet18.yaml", "googlenet.yaml", "mobilenet_v2.yaml"])
def test_zoo_models_against_the_simulation(spec):
    for model in load_spec(SPECS / spec):
        report = analyze(model)
        check_against_simulation(report.input.elements, tensor_nodes(report), b=4, n=2)


@pytest.mark.parametrize("nodes, message", [
    ([node("a", ["input"], 1), node("a", ["a"], 1)], "layer name 'a' is used twice (or is the reserved name 'input')"),
    ([node("input", ["input"], 1)], "layer name 'input' is used twice (or is the reserved name 'input')"),
    ([node("a", ["b"], 1)], "layer 'a' reads 'b', which is not an earlier layer or 'input'"),
    ([node("a", ["input"], 1), node("v", ["a", "input"], 1, True)],
     "view layer 'v' must read exactly one tensor, not 2"),
    ([node("v", ["input"], 9, True)],
     "view layer 'v' has 9 elements but shares a block of 4; a view keeps the element count"),
    ([node("a", ["input"], -2)], "elements of layer 'a' must be a non-negative integer, not -2"),
])
def test_peak_rejects_a_malformed_graph(nodes, message):
    with pytest.raises(ValueError) as err:
        peak_activation_bytes(4, nodes, bytes_per_element=1)
    assert str(err.value) == message


@pytest.mark.parametrize("kwargs, message", [
    ({"bytes_per_element": 0}, "bytes per element must be a positive integer, not 0"),
    ({"batch": -1}, "batch must be a positive integer, not -1"),
])
def test_peak_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError) as err:
        peak_activation_bytes(4, [], **{"bytes_per_element": 1, **kwargs})
    assert str(err.value) == message


# ---------------------------------------------------------------------------------------------
# (c) Random DAGs against the simulation.
# ---------------------------------------------------------------------------------------------
@st.composite
def dags(draw):
    elements = {"input": draw(st.integers(1, 60))}
    names = ["input"]
    nodes = []
    for i in range(draw(st.integers(0, 14))):
        name = f"n{i}"
        if draw(st.booleans()) and draw(st.booleans()):  # about one in four is a view
            source = draw(st.sampled_from(names))
            nodes.append(node(name, [source], elements[source], True))
            elements[name] = elements[source]
        else:
            inputs = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4))  # repeats allowed
            elements[name] = draw(st.integers(1, 60))
            nodes.append(node(name, inputs, elements[name]))
        names.append(name)
    return elements["input"], nodes


@settings(max_examples=400, deadline=None)
@given(dags(), st.sampled_from(sorted(set(DTYPES.values()))), st.integers(1, 16))
def test_random_dags_match_the_simulation(dag, b, n):
    check_against_simulation(*dag, b=b, n=n)


# ---------------------------------------------------------------------------------------------
# (e) One pass: count every look at a node and at an input name.
# ---------------------------------------------------------------------------------------------
class CountedInputs(tuple):
    """A tuple of input names that counts the names handed out."""

    def __new__(cls, items, counter):
        self = super().__new__(cls, items)
        self.counter = counter
        return self

    def __iter__(self):
        self.counter[0] += len(self)
        return super().__iter__()

    def __getitem__(self, i):
        self.counter[0] += 1
        return super().__getitem__(i)


class CountedNodes(Sequence):
    """A node list that counts every node handed out."""

    def __init__(self, nodes, counter):
        self.nodes, self.counter = nodes, counter

    def __len__(self):
        return len(self.nodes)

    def __getitem__(self, i):
        self.counter[0] += 1
        return self.nodes[i]

    def __iter__(self):
        for n in self.nodes:
            self.counter[0] += 1
            yield n


def counted_graph(kind: str, size: int, counter):
    """Graph families that a per-node scan would make quadratic: long chains, wide fans, views."""
    nodes = []
    for i in range(size):
        if kind == "chain":
            inputs = [f"n{i - 1}" if i else "input"]
        elif kind == "fan":  # every layer reads the input and the previous layer
            inputs = ["input"] + ([f"n{i - 1}"] if i else [])
        else:  # views: every other layer is a view of the one before
            inputs = [f"n{i - 1}" if i else "input"]
        nodes.append(TensorNode(f"n{i}", CountedInputs(inputs, counter), 7, kind == "views" and i % 2 == 1))
    return CountedNodes(nodes, counter)


@pytest.mark.parametrize("kind", ["chain", "fan", "views"])
def test_the_peak_takes_one_linear_pass(kind):
    looks = []
    for size in (500, 1000, 2000, 4000):
        counter = [0]
        graph = counted_graph(kind, size, counter)
        edges = sum(len(nd.inputs) for nd in graph.nodes)  # len() is not counted
        peak_activation_bytes(7, graph, bytes_per_element=1)
        assert counter[0] <= 2 * (size + edges) + 4
        looks.append(counter[0])
    assert all(b <= 2 * a + 4 for a, b in zip(looks, looks[1:]))  # doubling the size doubles the work


# ---------------------------------------------------------------------------------------------
# (d) The roofline, exactly.
# ---------------------------------------------------------------------------------------------
def test_rates_are_read_as_exact_decimals():
    machine = Roofline.from_units("19.5", "936")
    assert machine.peak_flops == 19_500_000_000_000 and machine.bandwidth == 936_000_000_000
    assert parse_rate(0.1, "x") == Fraction(1, 10)  # a float means the decimal it was written as
    assert parse_rate("1e3", "x") == 1000 and parse_rate(" 2.50 ", "x") == Fraction(5, 2)
    assert machine.ridge == Fraction(19_500, 936)


@pytest.mark.parametrize("text, message", [
    ("0", "the peak (TFLOP/s) must be greater than 0, not '0'"),
    ("-3", "the peak (TFLOP/s) must be a positive decimal number such as 19.5, not '-3'"),
    ("abc", "the peak (TFLOP/s) must be a positive decimal number such as 19.5, not 'abc'"),
    ("nan", "the peak (TFLOP/s) must be a positive decimal number such as 19.5, not 'nan'"),
    ("inf", "the peak (TFLOP/s) must be a positive decimal number such as 19.5, not 'inf'"),
    ("1e", "the peak (TFLOP/s) must be a positive decimal number such as 19.5, not '1e'"),
    ("1/2", "the peak (TFLOP/s) must be a positive decimal number such as 19.5, not '1/2'"),
    (float("inf"), "the peak (TFLOP/s) must be a positive decimal number such as 19.5, not inf"),
    (True, "the peak (TFLOP/s) must be a positive decimal number such as 19.5, not True"),
    ("9" * 41, "the peak (TFLOP/s) must be a positive decimal number such as 19.5, not '" + "9" * 41 + "'"),
])
def test_bad_rates(text, message):
    with pytest.raises(ValueError) as err:
        Roofline.from_units(text, "936")
    assert str(err.value) == message


def test_bad_bandwidth_is_named():
    with pytest.raises(ValueError) as err:
        Roofline.from_units("19.5", "0.0")
    assert str(err.value) == "the bandwidth (GB/s) must be greater than 0, not '0.0'"


def test_a_tie_is_compute_bound_and_decided_exactly():
    # 19.5 TFLOP/s and 936 GB/s meet at 19,500 / 936 = 125 / 6 FLOPs per byte.
    machine = Roofline.from_units("19.5", "936")
    for k in (1, 3, 7, 10**6 + 3, 10**15 + 1):
        flops, moved = 125 * k, 6 * k
        tie = layer_time(flops, moved, machine)
        assert tie.compute_s == tie.memory_s == Fraction(k, 156_000_000_000)
        assert tie.bound == COMPUTE
        assert layer_time(flops - 1, moved, machine).bound == MEMORY
        assert layer_time(flops, moved + 1, machine).bound == MEMORY
        assert layer_time(flops + 1, moved, machine).bound == COMPUTE
    # Floats miss ties: 66.9 TFLOP/s (H100 fp32) and 3350 GB/s meet at 4014/201 FLOPs per byte, but
    # float("66.9") * 1e12 is not 66.9e12 exactly and the float comparison calls the tie memory-bound.
    assert 4_014 / (float("66.9") * 1e12) < 201 / (float("3350") * 1e9)
    h100 = Roofline.from_units("66.9", "3350")
    tie = layer_time(4_014, 201, h100)
    assert tie.compute_s == tie.memory_s and tie.bound == COMPUTE


def test_time_is_the_larger_term_and_the_model_time_the_exact_sum():
    machine = Roofline.from_units("10", "1000")  # 10^13 FLOP/s, 10^12 B/s
    conv = layer_time(10**13, 10**11, machine)  # 1 s of compute, 0.1 s of traffic
    relu = layer_time(10**10, 10**12, machine)  # 0.001 s of compute, 1 s of traffic
    assert (conv.bound, conv.time, conv.time_s) == (COMPUTE, 1, 1.0)
    assert (relu.bound, relu.time) == (MEMORY, 1)
    tenths = [layer_time(10**12, 0, machine)] * 10  # 0.1 s each
    assert model_time(tenths) == 1 and float(model_time(tenths)) == 1.0
    assert sum(t.time_s for t in tenths) != 1.0  # summing floats drifts: the sum is exact, rounded once
    assert model_time([]) == 0


def test_seed_on_a_device_by_hand():
    # The bottleneck model at fp32, batch 1, on 19.5 TFLOP/s and 936 GB/s:
    # reduce: 6,435,072 FLOPs / 19.5e12 = 330.004 ns; (819,264 + 50,176) B / 936e9 = 928.888... ns -> memory
    # conv5x5: 20,095,488 / 19.5e12 = 1,030.53... ns; (101,504 + 100,352) / 936e9 = 215.66 ns -> compute
    rows, _, _ = memory_of(seed_models()["bottleneck"], "fp32", 1)
    machine = Roofline.from_units("19.5", "936")
    reduce, conv = (layer_time(r.flops, r.moved_bytes, machine) for r in rows)
    assert reduce.compute_s == Fraction(6_435_072, 19_500_000_000_000)
    assert reduce.memory_s == Fraction(869_440, 936_000_000_000)
    assert (reduce.bound, conv.bound) == (MEMORY, COMPUTE)
    assert conv.memory_s == Fraction(101_504 + 100_352, 936_000_000_000)
    assert conv.compute_s == Fraction(20_095_488, 19_500_000_000_000)
    assert model_time([reduce, conv]) == Fraction(869_440, 936 * 10**9) + Fraction(20_095_488, 195 * 10**11)


@pytest.mark.parametrize("flops, moved, message", [
    (-1, 0, "flops must be a non-negative integer, not -1"),
    (1, 2.0, "bytes moved must be a non-negative integer, not 2.0"),
])
def test_layer_time_rejects_bad_counts(flops, moved, message):
    with pytest.raises(ValueError) as err:
        layer_time(flops, moved, Roofline.from_units("1", "1"))
    assert str(err.value) == message


def test_layer_bytes_type_is_frozen():
    row = LayerBytes(0, 0, 0, 0, 0, 0.0)
    with pytest.raises(AttributeError):
        row.flops = 1


# ---------------------------------------------------------------------------------------------
# (f) The device table: real, cited, unique.
# ---------------------------------------------------------------------------------------------
def numbers_in(quote: str) -> set[Fraction]:
    return {Fraction(x) for x in re.findall(r"[0-9]+(?:\.[0-9]+)?", quote.replace(",", ""))}


@pytest.mark.parametrize("name", device_names())
def test_every_figure_is_cited_and_quoted(name):
    dev = device(name)
    assert dev.label and dev.kind
    figures = [("bandwidth", dev.bandwidth_gbs), *dev.peak_tflops]
    assert dev.peak_tflops, "a device needs at least one peak"
    for what, figure in figures:
        assert figure.source.title and figure.source.url.startswith("https://"), (name, what)
        value = parse_rate(figure.value, what)
        # The number stands in the vendor's words (a bandwidth in TB/s is quoted as written).
        scale = 1000 if "TB/s" in figure.quote else 1
        assert value in {x * scale for x in numbers_in(figure.quote)}, (name, what, figure.quote)
    for dtype, _ in dev.peak_tflops:
        assert dtype in DTYPES
        machine = dev.roofline(dtype)
        assert machine.peak_flops > 0 and machine.bandwidth > 0


# The classes the device table promises. Kinds are compared exactly, so a misspelt kind fails.
DEVICE_KINDS = {"data-center GPU", "consumer GPU", "edge accelerator", "phone-class SoC", "desktop CPU"}


def test_the_table_has_every_device_class_it_promises_and_no_other():
    assert {d.kind for d in load_devices().values()} == DEVICE_KINDS


def table_figures() -> list[tuple[str, str, object]]:
    """(device, what, Figure) for every number in the bundled table."""
    return [(name, what, figure) for name, dev in load_devices().items()
            for what, figure in [("bandwidth", dev.bandwidth_gbs), *dev.peak_tflops]]


DERIVED = [(name, what, figure) for name, what, figure in table_figures() if figure.quote.startswith("derived:")]
FORMULA = re.compile(r"\[([0-9.*/ ]+)=\s*([0-9]+(?:\.[0-9]+)?)\]")


def bracket_formula(quote: str) -> tuple[Fraction, Fraction] | None:
    """A quote's "[a * b / c = r]" as (a * b / c, r), left to right and exact; None if it has none."""
    found = FORMULA.search(quote)
    if found is None:
        return None
    tokens = re.findall(r"[0-9]+(?:\.[0-9]+)?|[*/]", found.group(1))
    assert "".join(found.group(1).split()) == "".join(tokens), found.group(1)
    assert tokens[0::2] and all(t not in "*/" for t in tokens[0::2]), tokens
    assert all(t in "*/" for t in tokens[1::2]) and len(tokens) % 2 == 1, tokens
    value = Fraction(tokens[0])
    for op, number in zip(tokens[1::2], tokens[2::2]):
        value = value * Fraction(number) if op == "*" else value / Fraction(number)
    return value, Fraction(found.group(2))


@pytest.mark.parametrize("quote, expected", [
    ("derived: 16 x 4.5 x 32 [16 * 4.5 * 2 * 8 * 2 / 1000 = 2.304]", (Fraction("2.304"), Fraction("2.304"))),
    ("[2 * 3 = 7]", (Fraction(6), Fraction(7))),
    ("[1 * 128 / 256 = 0.5]", (Fraction(1, 2), Fraction(1, 2))),
    ("[8 / 2 / 2 = 2]", (Fraction(2), Fraction(2))),
    ("no arithmetic here", None),
])
def test_the_formula_reader_evaluates_what_is_written(quote, expected):
    assert bracket_formula(quote) == expected


def test_the_cpu_and_the_phone_class_figures_are_derived():
    # Their vendors publish no FLOP/s: every figure of theirs must carry its arithmetic.
    for name in ("ryzen-9-7950x", "tegra-x1"):
        dev = device(name)
        assert all(f.quote.startswith("derived:") for f in [dev.bandwidth_gbs, *dict(dev.peak_tflops).values()])
    assert {name for name, _, _ in DERIVED} >= {"ryzen-9-7950x", "tegra-x1"}


@pytest.mark.parametrize("name, what, figure", DERIVED, ids=[f"{n}-{w}" for n, w, _ in DERIVED])
def test_a_derived_figure_shows_the_arithmetic_that_gives_its_value(name, what, figure):
    formula = bracket_formula(figure.quote)
    assert formula is not None, f"{name} {what}: a derived quote ends with [a * b / c = value]"
    computed, written = formula
    assert computed == written == parse_rate(figure.value, what), (name, what, figure.quote)


def test_every_source_is_cited_by_a_figure_or_named_in_a_derivation():
    import tomllib

    keys = set(tomllib.loads(DEVICES_TOML.read_text())["sources"])
    figures = table_figures()
    cited = {figure.source.key for _, _, figure in figures}
    named = {key for key in keys for _, _, figure in figures if key in figure.quote}
    assert cited | named == keys


def test_device_names_are_unique_in_the_file():
    headers = re.findall(r"^\[devices\.([^\].]+)\]$", DEVICES_TOML.read_text(), re.M)
    assert len(headers) == len(set(headers)) == len(device_names())


def test_a_known_figure_reads_exactly():
    assert device("a100-sxm-80gb").roofline("fp32") == Roofline(Fraction(195 * 10**11), Fraction(2039 * 10**9))
    # 16 cores x 4.5 GHz x 32 FLOP/cycle = 2304 GFLOP/s; 2 x 8 bytes x 5200 MT/s = 83.2 GB/s.
    assert device("ryzen-9-7950x").roofline("fp32") == Roofline(Fraction(16 * 45 * 32 * 10**8),
                                                                Fraction(2 * 8 * 5200 * 10**6))


def test_unknown_device_suggests_a_name():
    with pytest.raises(ValueError) as err:
        device("rtx4090")
    assert str(err.value) == ("unknown device 'rtx4090'; choose one of " + ", ".join(device_names())
                              + "; did you mean 'rtx-4090'?")


@pytest.mark.parametrize("name, dtype, has", [
    ("jetson-orin-nano-8gb", "fp32", "int8"),
    ("ryzen-9-7950x", "bf16", "fp32"),
    ("ryzen-9-7950x", "int8", "fp32"),
    ("tegra-x1", "int8", "fp32, fp16"),
])
def test_a_dtype_the_table_lacks_is_an_error_not_a_guess(name, dtype, has):
    with pytest.raises(ValueError) as err:
        device(name).roofline(dtype)
    assert str(err.value) == (f"device '{name}' has no {dtype} peak in the table (it has {has}); "
                              f"choose --dtype {has.split(',')[0]}, or give --peak-tflops and --bandwidth-gbs")


GOOD_SOURCE = {"s": {"title": "T", "url": "https://x"}}
GOOD_FIGURE = {"value": "1", "source": "s", "quote": "1"}


@pytest.mark.parametrize("data, message", [
    ({"devices": {}}, "[sources] must be a table"),
    ({"sources": GOOD_SOURCE}, "[devices] must be a table"),
    ({"sources": {"s": {"title": "T"}}, "devices": {}}, "[sources.s] needs a non-empty string 'url'"),
    ({"sources": GOOD_SOURCE, "devices": {"d": {"label": "L", "kind": "K", "bandwidth_gbs": GOOD_FIGURE}}},
     "[devices.d].peak_tflops must be a table"),
    ({"sources": GOOD_SOURCE, "devices": {"d": {"label": "L", "kind": "K", "bandwidth_gbs": GOOD_FIGURE,
                                                 "peak_tflops": {"fp64": GOOD_FIGURE}}}},
     "[devices.d].peak_tflops needs dtypes among fp32, fp16, bf16, int8, not ['fp64']"),
    ({"sources": GOOD_SOURCE, "devices": {"d": {"label": "L", "kind": "K", "bandwidth_gbs": GOOD_FIGURE,
                                                 "peak_tflops": {}}}},
     "[devices.d].peak_tflops needs dtypes among fp32, fp16, bf16, int8, not []"),
    ({"sources": GOOD_SOURCE, "devices": {"d": {"label": "L", "kind": "K",
                                                 "bandwidth_gbs": {**GOOD_FIGURE, "source": "t"},
                                                 "peak_tflops": {"fp32": GOOD_FIGURE}}}},
     "[devices.d].bandwidth_gbs cites source 't', which is not under [sources]"),
    ({"sources": GOOD_SOURCE, "devices": {"d": {"label": "L", "kind": "K", "bandwidth_gbs": GOOD_FIGURE,
                                                 "peak_tflops": {"fp32": {"value": "1", "source": "s"}}}}},
     "[devices.d].peak_tflops.fp32 needs a non-empty string 'quote'"),
    ({"sources": GOOD_SOURCE, "devices": {"d": {"label": "L", "kind": "K", "bandwidth_gbs": GOOD_FIGURE,
                                                 "peak_tflops": {"fp32": {**GOOD_FIGURE, "value": "fast"}}}}},
     "[devices.d].peak_tflops.fp32 must be a positive decimal number such as 19.5, not 'fast'"),
    ({"sources": GOOD_SOURCE, "devices": {"d": {"label": "L", "kind": "K", "bandwidth_gbs": GOOD_FIGURE,
                                                 "peak_tflops": {"fp32": {**GOOD_FIGURE, "year": 1}}}}},
     "[devices.d].peak_tflops.fp32 has unknown keys ['year']"),
    ({"sources": GOOD_SOURCE, "devices": {"d": {"kind": "K", "bandwidth_gbs": GOOD_FIGURE,
                                                 "peak_tflops": {"fp32": GOOD_FIGURE}}}},
     "[devices.d] needs a non-empty string 'label'"),
    ({"sources": GOOD_SOURCE, "devices": {"d": {"label": "L", "kind": "K", "price": 1,
                                                 "bandwidth_gbs": GOOD_FIGURE, "peak_tflops": {}}}},
     "[devices.d] has unknown keys ['price']"),
])
def test_a_malformed_device_table_is_refused(data, message):
    with pytest.raises(ValueError) as err:
        parse_devices(data)
    assert str(err.value) == message


_machines = st.sampled_from([Roofline.from_units("19.5", "936"), Roofline.from_units("82.6", "1008"),
                             Roofline.from_units("1", "1"), Roofline.from_units("0.3", "17.5")])


@given(st.lists(st.tuples(st.integers(0, 10**15), st.integers(0, 10**13), _machines), max_size=30))
def test_model_time_is_the_sum_of_each_layers_larger_time(layers):
    times = [layer_time(f, b, m) for f, b, m in layers]
    by_fractions = sum((max(Fraction(f) / m.peak_flops, Fraction(b) / m.bandwidth) for f, b, m in layers),
                       Fraction(0))
    assert model_time(times) == by_fractions
    for t, (f, b, m) in zip(times, layers):
        assert t.bound == (COMPUTE if Fraction(f) / m.peak_flops >= Fraction(b) / m.bandwidth else MEMORY)
        assert t.time == max(t.compute_s, t.memory_s) and t.time_s == float(t.time)

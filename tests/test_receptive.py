"""Receptive fields (size and stride per axis) worked out by hand, and against a brute-force oracle."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

from conv_cost.cli import app
from conv_cost.cost import analyze
from conv_cost.receptive import ReceptiveField, layer_field
from conv_cost.layers import Add, Shape
from conv_cost.spec import load_spec, parse_spec

from .conftest import INCEPTION, SEED


def fields(yaml_text: str, model: int = 0) -> dict[str, ReceptiveField]:
    report = analyze(parse_spec(yaml_text, "t.yaml")[model])
    return {r.name: r.receptive_field for r in report.layers}


def test_stack_of_3x3_convs_grows_by_two_each():
    f = fields("""
input: [32, 32, 3]
layers:
  - {type: conv, name: c1, filters: 8, kernel: 3}
  - {type: relu, name: r1}
  - {type: conv, name: c2, filters: 8, kernel: 3}
  - {type: conv, name: c3, filters: 8, kernel: 3}
""")
    # size = size_in + (k-1)*stride_in: 1+2 = 3, 3+2 = 5, 5+2 = 7; the relu changes nothing.
    assert f["c1"] == ReceptiveField((1 + 2, 1 + 2), (1, 1))
    assert f["r1"] == f["c1"]
    assert f["c2"] == ReceptiveField((3 + 2, 3 + 2), (1, 1))
    assert f["c3"] == ReceptiveField((5 + 2, 5 + 2), (1, 1))


def test_stride_2_stem_multiplies_the_stride():
    # ResNet's stem: 7x7/2 conv, 3x3/2 max pool, then a 3x3 conv.
    f = fields("""
input: [224, 224, 3]
layers:
  - {type: conv, name: stem, filters: 64, kernel: 7, stride: 2}
  - {type: maxpool, name: pool, kernel: 3, stride: 2, padding: 1}
  - {type: conv, name: c3, filters: 64, kernel: 3}
""")
    assert f["stem"] == ReceptiveField((1 + 6 * 1,) * 2, (2, 2))          # 7, stride 1*2
    assert f["pool"] == ReceptiveField((7 + 2 * 2,) * 2, (2 * 2,) * 2)     # 11, stride 4
    assert f["c3"] == ReceptiveField((11 + 2 * 4,) * 2, (4, 4))           # 19, stride 4


def test_dilated_conv_spans_d_times_k_minus_1():
    f = fields("""
input: [64, 64, 3]
layers:
  - {type: conv, name: d2, filters: 8, kernel: 3, dilation: 2}
  - {type: conv, name: d4, filters: 8, kernel: 3, dilation: 4}
  - {type: conv, name: tall, filters: 8, kernel: [3, 1], dilation: [1, 2]}
""")
    assert f["d2"].size == (1 + 2 * (3 - 1), 1 + 2 * (3 - 1))      # 5
    assert f["d4"].size == (5 + 4 * (3 - 1), 5 + 4 * (3 - 1))      # 13
    # Per axis: a 3x1 kernel grows only the height; a dilation of 2 along a kernel of 1 adds nothing.
    assert f["tall"] == ReceptiveField((13 + 1 * (3 - 1), 13 + 2 * (1 - 1)), (1, 1))


def test_inception_block_takes_the_largest_branch():
    [reduced, naive] = load_spec(INCEPTION)
    for model in (reduced, naive):
        f = {r.name: r.receptive_field for r in analyze(model).layers}
        assert f["inception_3a/b1/1x1"].size == (1, 1)
        assert f["inception_3a/b2/3x3"].size == (3, 3)
        assert f["inception_3a/b3/5x5"].size == (5, 5)
        assert f["inception_3a/b4/pool_proj"].size == (3, 3)   # 3x3 pool, then a 1x1 conv
        assert f["inception_3a"] == ReceptiveField((5, 5), (1, 1))  # max over the four branches


def test_merge_takes_the_max_per_axis_of_size_and_stride():
    a = ReceptiveField((5, 3), (1, 2))
    b = ReceptiveField((3, 7), (2, 1))
    x = Shape(8, 8, 4)
    assert layer_field(Add(), (a, b), (x, x), x) == ReceptiveField((5, 7), (2, 2))


def test_residual_block_add_sees_the_body():
    f = fields("""
input: [16, 16, 8]
layers:
  - type: residual
    name: res
    body:
      - {type: conv, name: a, filters: 8, kernel: 3}
      - {type: conv, name: b, filters: 8, kernel: 3}
""")
    assert f["res"].size == (5, 5)  # body 3x3 then 3x3 = 5, shortcut 1: max is 5


def test_1x1_conv_adds_nothing_but_its_stride():
    f = fields("""
input: [32, 32, 16]
layers:
  - {type: conv, name: c, filters: 8, kernel: 3}
  - {type: conv, name: mix, filters: 8, kernel: 1}
  - {type: conv, name: down, filters: 8, kernel: 1, stride: 2}
  - {type: conv, name: after, filters: 8, kernel: 3}
""")
    assert f["mix"] == f["c"] == ReceptiveField((3, 3), (1, 1))
    assert f["down"] == ReceptiveField((3, 3), (2, 2))
    assert f["after"] == ReceptiveField((3 + 2 * 2, 3 + 2 * 2), (2, 2))  # the stride now counts double


def test_padding_does_not_change_the_field():
    same = fields("""
input: [20, 20, 3]
layers: [{type: conv, name: c, filters: 4, kernel: 5, padding: same}]
""")
    valid = fields("""
input: [20, 20, 3]
layers: [{type: conv, name: c, filters: 4, kernel: 5, padding: valid}]
""")
    assert same["c"] == valid["c"] == ReceptiveField((5, 5), (1, 1))


def test_global_layers_see_the_whole_input():
    f = fields("""
input: [8, 6, 3]
layers:
  - {type: conv, name: c, filters: 4, kernel: 3, stride: 2}
  - {type: gap, name: g}
  - {type: fc, name: fc, units: 10}
""")
    # c: 3x3 stride 2 on 8x6 ('same') gives 4x3. gap reads all of it: size_in + (H_in-1)*stride_in.
    assert f["c"] == ReceptiveField((3, 3), (2, 2))
    assert f["g"] == ReceptiveField((3 + (4 - 1) * 2, 3 + (3 - 1) * 2), (2 * 4, 2 * 3), whole=True)
    assert str(f["g"]) == "global"
    assert f["fc"] == f["g"]  # a 1x1 input adds nothing


def test_report_json_and_table_show_the_field(tmp_path):
    runner = CliRunner()
    spec = str(SEED)
    data = json.loads(runner.invoke(app, ["report", spec, "--json"]).stdout)
    layers = {(m["name"], l["name"]): l for m in data["models"] for l in m["layers"]}
    assert layers[("bottleneck", "reduce")]["receptive_field"] == {"size": [1, 1], "stride": [1, 1]}
    assert layers[("bottleneck", "conv5x5")]["receptive_field"] == {"size": [5, 5], "stride": [1, 1]}
    table = runner.invoke(app, ["report", spec]).stdout
    assert "receptive field" in table
    assert "5x5 s1" in table


def brute_force_1d(layers: list[tuple[int, int, int]]) -> tuple[int, int]:
    """Receptive field of a 1-D stack of valid convs (k, s, d), by tracing which inputs an output reads."""
    def reads(positions: set[int], k: int, s: int, d: int) -> set[int]:
        return {p * s + j * d for p in positions for j in range(k)}

    first, second = {0}, {1}
    for k, s, d in reversed(layers):
        first, second = reads(first, k, s, d), reads(second, k, s, d)
    return max(first) - min(first) + 1, min(second) - min(first)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 3)), min_size=1, max_size=4))
def test_matches_brute_force_tracing(layers):
    body = "\n".join(f"  - {{type: conv, name: c{i}, filters: 2, kernel: [{k}, 1], stride: [{s}, 1], "
                     f"dilation: [{d}, 1], padding: valid}}" for i, (k, s, d) in enumerate(layers))
    f = fields(f"input: [4096, 1, 1]\nlayers:\n{body}\n")
    size, stride = brute_force_1d(layers)
    last = f[f"c{len(layers) - 1}"]
    assert (last.size[0], last.stride[0]) == (size, stride)
    assert last.size[1] == 1


@pytest.mark.parametrize("rf, text", [(ReceptiveField((11, 11), (4, 4)), "11x11 s4"),
                                      (ReceptiveField((3, 7), (2, 1)), "3x7 s2x1")])
def test_text_form(rf, text):
    assert str(rf) == text

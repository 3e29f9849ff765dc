"""`explain`: its numbers are report's numbers, and the arithmetic it prints gives them."""

from __future__ import annotations

import ast
import json
import math
import operator
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conv_cost.cli import app
from conv_cost.cost import analyze
from conv_cost.explain import KEYS, explain_model, row_value
from conv_cost.layers import COST_KEYS
from conv_cost.render import FORMATS
from conv_cost.spec import load_spec, parse_spec

from .conftest import BUNDLED, INCEPTION, SEED

# One spec with every layer type and the unusual options (valid/explicit padding, groups, no bias,
# dilation, non-square kernels, ceil_mode with a dropped last window), to reach every formula.
ZOO = """
name: zoo
input: [27, 31, 12]
layers:
  - {type: conv, name: stem, filters: 24, kernel: [3, 5], stride: 2, padding: valid, bias: false}
  - {type: bn, name: bn}
  - {type: relu6, name: act}
  - {type: dwconv, name: dw, kernel: 3, multiplier: 2, dilation: 2, padding: [2, 1]}
  - {type: conv, name: grouped, filters: 48, kernel: 3, groups: 4, padding: 1}
  - {type: conv, name: expand, filters: 96, kernel: 1}
  - {type: conv, name: mix, filters: 96, kernel: 1}
  - {type: conv, name: squeeze, filters: 24, kernel: 1, stride: 2}
  - {type: dropout, name: drop}
  - {type: maxpool, name: mp, kernel: 2, stride: 2, padding: 1, ceil_mode: true}
  - type: parallel
    name: split
    merge: concat
    branches:
      - [{type: conv, name: a, filters: 8, kernel: 3}]
      - [{type: avgpool, name: p, kernel: 3, stride: 1, padding: 1}]
  - type: residual
    name: res
    body: [{type: conv, name: c, filters: 32, kernel: 3}]
  - {type: gmp, name: gmp}
  - {type: flatten, name: flat}
  - {type: fc, name: fc, units: 10}
  - {type: softmax, name: prob}
"""

# The layer types of modern networks, with fractional receptive-field strides and a global SE gate.
MODERN = """
name: modern
input: [16, 16, 8]
layers:
  - {type: conv, name: stem, filters: 16, kernel: 3, stride: 2, padding: [0, 1, 0, 1], bias: false}
  - {type: ln, name: norm}
  - {type: scale, name: gamma}
  - {type: hswish, name: act}
  - type: residual
    name: se
    body:
      - {type: dwconv, name: dw, kernel: 3}
      - {type: gap, name: squeeze}
      - {type: conv, name: fc1, filters: 4, kernel: 1}
      - {type: conv, name: fc2, filters: 16, kernel: 1}
      - {type: hardsigmoid, name: gate}
      - {type: mul, name: excite, inputs: [dw, gate]}
  - {type: slice, name: left, channels: [0, 8]}
  - {type: slice, name: right, channels: [8, 16], inputs: se}
  - {type: concat, name: join, inputs: [left, right]}
  - {type: shuffle, name: shuffle, groups: 2}
  - {type: deconv, name: up, filters: 8, kernel: 2, stride: 2}
  - {type: deconv, name: up3, filters: 4, kernel: 3, stride: [2, 3], padding: [1, 0, 2, 1], output_padding: 1, dilation: 2}
  - {type: deconv, name: same, filters: 4, kernel: 3, stride: 2, padding: same, bias: false}
  - {type: upsample, name: near, scale: [1, 2]}
  - {type: upsample, name: bil, size: [80, 70], mode: bilinear}
  - {type: scale, name: affine, bias: true}
  - {type: maxpool, name: mp, kernel: 3, stride: 2, padding: [1, 0, 0, 1]}
"""

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_FUNCS = {"ceil": math.ceil, "floor": math.floor, "max": max}


def evaluate(text: str) -> Fraction:
    """The value of a substituted formula: + - * / ( ) with exact fractions, ceil, floor and max."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return Fraction(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
            return Fraction(_FUNCS[node.func.id](*(ev(a) for a in node.args)))
        raise AssertionError(f"unexpected {ast.dump(node)} in {text!r}")
    return ev(ast.parse(text, mode="eval"))


def zoo_models():
    return parse_spec(ZOO, "zoo.yaml")


def all_models():
    return [m for path in BUNDLED for m in load_spec(path)] + zoo_models() + parse_spec(MODERN, "modern.yaml")


def test_evaluator_sanity():
    assert evaluate("floor((28 + 2*0 - 1*(5-1) - 1)/1) + 1") == 24
    assert evaluate("ceil(5/2) + 1 - 1") == 3
    assert evaluate("max(1, 5, 3)") == 5


@pytest.mark.parametrize("model", all_models(), ids=lambda m: f"{Path(m.source).stem}-{m.name}")
def test_substituted_arithmetic_gives_the_report_value(model):
    report = analyze(model)
    expl = explain_model(model, report)
    assert [e.row for e in expl.layers] == list(report.layers)
    for layer in expl.layers:
        row = layer.row
        for step in layer.steps:
            assert set(step.keys) <= set(KEYS)
            exact_value = evaluate(step.substituted)
            if type(step.value) is float:  # an intensity: the exact ratio, rounded once
                exact_value = float(exact_value)
            assert exact_value == step.value, (row.name, step)
            for key in step.keys:
                assert row_value(row, key) == step.value, (row.name, key)
        # Every non-zero number of the row is derived by some step.
        derived = {k for s in layer.steps for k in s.keys}
        for key in COST_KEYS:
            if getattr(row.cost, key):
                assert key in derived, (row.name, key)
        # Sliding windows derive their output size (global layers and fc give 1x1 by definition).
        if row.type in ("conv", "dwconv", "maxpool", "avgpool", "deconv"):
            assert {"height", "width"} <= derived, row.name


@pytest.mark.parametrize("spec", BUNDLED, ids=lambda p: p.stem)
def test_explain_json_equals_report_json(spec):
    runner = CliRunner()
    explained = json.loads(runner.invoke(app, ["explain", str(spec), "--format", "json"]).stdout)
    reported = json.loads(runner.invoke(app, ["report", str(spec), "--json"]).stdout)
    assert explained["schema"] == "convcost.explain/1"
    assert [m["name"] for m in explained["models"]] == [m["name"] for m in reported["models"]]
    checked = 0
    for em, rm in zip(explained["models"], reported["models"]):
        assert [l["name"] for l in em["layers"]] == [l["name"] for l in rm["layers"]]
        for el, rl in zip(em["layers"], rm["layers"]):
            flat = {**{k: rl[k] for k in COST_KEYS}, **rl["output"],
                    **{k: rl[k] for k in ("weight_bytes", "output_bytes", "read_bytes", "write_bytes", "intensity")},
                    **{f"batch_{k}": rl[k] for k in ("macs", "flops", "activations")},
                    "rf_size_h": rl["receptive_field"]["size"][0], "rf_size_w": rl["receptive_field"]["size"][1],
                    "rf_stride_h": rl["receptive_field"]["stride"][0],
                    "rf_stride_w": rl["receptive_field"]["stride"][1]}
            for step in el["steps"]:
                for key in step["keys"]:
                    assert step["value"] == flat[key], (el["name"], step)
                    checked += 1
        # The totals are the report's, each written as the sum of the layers.
        for step in em["total_steps"]:
            for key in step["keys"]:
                assert step["value"] == rm["totals"][key], (em["name"], step)
                checked += 1
    assert checked > 20


def test_seed_5x5_conv_derivation_by_hand():
    out = CliRunner().invoke(app, ["explain", str(SEED),
                                   "--layer", "conv5x5"]).stdout
    macs = 28 * 28 * 32 * 5 * 5 * 256
    assert f"MACs = Ho*Wo*filters*kh*kw*C/groups = 28*28*32*5*5*256/1 = {macs:,}" in out
    assert f"params = kh*kw*(C/groups)*filters + filters = 5*5*(256/1)*32 + 32 = {5 * 5 * 256 * 32 + 32:,}" in out
    # The bottleneck model's 5x5 conv reads 16 channels.
    assert f"= 28*28*32*5*5*16/1 = {28 * 28 * 32 * 5 * 5 * 16:,}" in out
    assert "receptive field 5x5 s1" in out
    assert "RF size = r_in + d*(k-1)*j_in = 1 + 1*(5-1)*1 = 5" in out


def test_ceil_mode_dropped_window_is_explained():
    [model] = zoo_models()
    expl = explain_model(model)
    mp = next(l for l in expl.layers if l.row.name == "mp")
    # squeeze leaves 7x6 (stride 2 'same' on 13x12); 2x2/2 pool, padding 1, ceil: ceil((7+2-2)/2)+1 = 5,
    # but the 5th window would start at (5-1)*2 = 8 >= 7+1, inside the padding: PyTorch gives 4.
    # Along W: ceil((6+2-2)/2)+1 = 4, and (4-1)*2 = 6 < 6+1: nothing dropped.
    assert mp.row.input_shapes[0].height == 7 and mp.row.input_shapes[0].width == 6
    assert (mp.row.output.height, mp.row.output.width) == (4, 4)
    [h] = [s for s in mp.steps if "height" in s.keys]
    [w] = [s for s in mp.steps if "width" in s.keys]
    assert h.substituted == "ceil((7 + 2*1 - 2)/2) + 1 - 1"
    assert w.substituted == "ceil((6 + 2*1 - 2)/2) + 1"
    assert any("dropped" in n for n in mp.notes)


@pytest.mark.parametrize("name, words", [
    ("expand", "expands 48 channels to 96"),
    ("mix", "mixes 96 channels into 96"),
    ("squeeze", "reduces 96 channels to 24"),
])
def test_1x1_convs_say_what_they_do(name, words):
    [model] = zoo_models()
    layer = next(l for l in explain_model(model).layers if l.row.name == name)
    note = " ".join(layer.notes)
    assert words in note
    assert "no spatial context" in note


def test_layer_option_keeps_one_layer_per_model():
    data = json.loads(CliRunner().invoke(app, ["explain", str(INCEPTION),
                                               "--layer", "inception_3a/b2/3x3", "--json"]).stdout)
    assert [(m["name"], [l["name"] for l in m["layers"]]) for m in data["models"]] == [
        ("reduced", ["inception_3a/b2/3x3"]), ("naive", ["inception_3a/b2/3x3"])]
    # naive's 3x3 reads all 192 channels, reduced's reads 96.
    macs = {m["name"]: m["layers"][0]["macs"] for m in data["models"]}
    assert macs == {"reduced": 28 * 28 * 128 * 3 * 3 * 96, "naive": 28 * 28 * 128 * 3 * 3 * 192}


@pytest.mark.parametrize("name, hint", [
    ("conv5", "did you mean 'conv5x5'?"),
    ("nothing_like_it", "layers are named by their full path, e.g. 'conv5x5', 'reduce'"),
])
def test_unknown_layer_is_a_usage_error(name, hint):
    result = CliRunner().invoke(app, ["explain", str(SEED),
                                      "--layer", name])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"convcost: error: no layer named '{name}' in ")
    assert hint in result.stderr


def test_invalid_spec_is_reported_with_position(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [8, 8, 3]\nlayers:\n  - {type: conv, name: c, filters: 4}\n")
    result = CliRunner().invoke(app, ["explain", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{bad}:3:5: error:")
    assert "kernel" in result.stderr


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_renders_explain(fmt):
    result = CliRunner().invoke(app, ["explain", str(SEED),
                                      "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "160,563,200" in result.stdout or "160563200" in result.stdout

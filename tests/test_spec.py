"""Spec reading: wiring, default names, blocks, templates and ${expr}."""

import re
import textwrap

import pytest

from conv_cost.cost import analyze
from conv_cost.layers import Add, Concat, Conv2d, Elementwise, Linear, Pool2d, Shape
from conv_cost.spec import parse_spec
from conv_cost.spec.expr import ExprError, evaluate


def parse(text: str):
    return parse_spec(textwrap.dedent(text), "t.yaml")


def one(text: str):
    [model] = parse(text)
    return model


def names(model):
    return [n.name for n in model.nodes]


def wiring(model):
    return {n.name: n.inputs for n in model.nodes}


def test_minimal_spec_defaults():
    m = one("""
        input: [28, 28, 256]
        layers:
          - {type: conv, filters: 32, kernel: 5}
    """)
    assert m.name == "t"  # the file's stem
    assert m.input == Shape(28, 28, 256)
    [node] = m.nodes
    assert node == type(node)("conv1", Conv2d(32, (5, 5)), ("input",), 4, 5, named=False)  # a default name


def test_input_as_mapping_and_description():
    m = one("""
        name: net
        description: a test
        input: {height: 8, width: 6, channels: 3}
        layers: [{type: relu}]
    """)
    assert (m.name, m.description, m.input) == ("net", "a test", Shape(8, 6, 3))


def test_default_names_count_per_type_and_aliases_share_a_counter():
    m = one("""
        input: [8, 8, 3]
        layers:
          - {type: conv, filters: 4, kernel: 3}
          - {type: relu}
          - {type: conv, name: mid, filters: 4, kernel: 3}
          - {type: relu}
          - {type: conv, filters: 4, kernel: 3}
          - {type: flatten}
          - {type: linear, units: 10}
          - {type: dense, units: 10}
    """)
    # every item of a type counts, named or not; aliases count as their canonical type
    assert names(m) == ["conv1", "relu1", "mid", "relu2", "conv3", "flatten1", "fc1", "fc2"]
    assert [n.layer.type for n in m.nodes][-2:] == ["fc", "fc"]


def test_inputs_wire_a_graph():
    m = one("""
        input: [8, 8, 3]
        layers:
          - {type: conv, name: a, filters: 4, kernel: 3}
          - {type: conv, name: b, filters: 4, kernel: 1, inputs: input}
          - {type: add, name: sum, inputs: [a, b]}
          - {type: concat, name: cat, inputs: [sum, a, input]}
    """)
    assert wiring(m) == {"a": ("input",), "b": ("input",), "sum": ("a", "b"), "cat": ("sum", "a", "input")}
    report = analyze(m)
    assert report.output == Shape(8, 8, 4 + 4 + 3)
    assert report.layers[2].cost.flops == 8 * 8 * 4  # one add per element


def test_several_models_share_the_top_level_input_and_can_override_it():
    a, b, c = parse("""
        input: [8, 8, 3]
        models:
          - name: first
            layers: [{type: relu}]
          - layers: [{type: relu}]
          - name: third
            input: [4, 4, 1]
            layers: [{type: relu}]
    """)
    assert (a.name, a.input) == ("first", Shape(8, 8, 3))
    assert (b.name, b.input) == ("t-2", Shape(8, 8, 3))  # default: <stem>-<position>
    assert (c.name, c.input) == ("third", Shape(4, 4, 1))


def test_parallel_block_names_branches_and_merges():
    m = one("""
        input: [28, 28, 192]
        layers:
          - type: parallel
            name: inc
            branches:
              - [{type: conv, filters: 64, kernel: 1}]
              - [{type: conv, filters: 96, kernel: 1}, {type: conv, filters: 128, kernel: 3}]
              - []
          - {type: relu}
    """)
    assert wiring(m) == {
        "inc/b1/conv1": ("input",),
        "inc/b2/conv1": ("input",),
        "inc/b2/conv2": ("inc/b2/conv1",),
        "inc": ("inc/b1/conv1", "inc/b2/conv2", "input"),  # the empty branch is the identity
        "relu1": ("inc",),
    }
    assert m.nodes[3].layer == Concat()
    assert analyze(m).output == Shape(28, 28, 64 + 128 + 192)


def test_parallel_merge_add_counts_its_adds():
    m = one("""
        input: [8, 8, 4]
        layers:
          - {type: parallel, merge: add, branches: [[{type: conv, filters: 4, kernel: 3}], [], [{type: relu}]]}
    """)
    assert m.nodes[-1].name == "parallel1"
    assert m.nodes[-1].layer == Add()
    assert analyze(m).layers[-1].cost.flops == (3 - 1) * 8 * 8 * 4


def test_residual_block_with_and_without_shortcut():
    m = one("""
        input: [8, 8, 4]
        layers:
          - type: residual
            name: res
            body: [{type: conv, filters: 4, kernel: 3}, {type: relu}]
          - type: residual
            body: [{type: conv, filters: 8, kernel: 3, stride: 2}]
            shortcut: [{type: conv, filters: 8, kernel: 1, stride: 2}]
    """)
    assert wiring(m) == {
        "res/conv1": ("input",),
        "res/relu1": ("res/conv1",),
        "res": ("res/relu1", "input"),
        "residual2/conv1": ("res",),
        "residual2/shortcut/conv1": ("res",),
        "residual2": ("residual2/conv1", "residual2/shortcut/conv1"),
    }
    assert analyze(m).output == Shape(4, 4, 8)


def test_repeat_chains_its_body_and_its_name_is_the_last_output():
    m = one("""
        input: [8, 8, 4]
        layers:
          - type: repeat
            name: stack
            times: 3
            body: [{type: conv, filters: 4, kernel: 3}, {type: relu}]
          - {type: add, inputs: [stack, input]}
    """)
    assert names(m)[:6] == ["stack/1/conv1", "stack/1/relu1", "stack/2/conv1", "stack/2/relu1",
                            "stack/3/conv1", "stack/3/relu1"]
    assert wiring(m)["stack/2/conv1"] == ("stack/1/relu1",)
    assert wiring(m)["add1"] == ("stack/3/relu1", "input")


def test_names_inside_a_block_can_refer_to_input_and_outer_layers():
    m = one("""
        input: [8, 8, 4]
        layers:
          - {type: conv, name: stem, filters: 4, kernel: 1}
          - type: repeat
            times: 2
            body:
              - {type: conv, name: c, filters: 4, kernel: 3}
              - {type: add, inputs: [c, input, stem]}
    """)
    assert wiring(m)["repeat1/1/add1"] == ("repeat1/1/c", "stem", "stem")
    assert wiring(m)["repeat1/2/add1"] == ("repeat1/2/c", "repeat1/1/add1", "stem")


TEMPLATE_SPEC = """
    input: [56, 56, 64]
    blocks:
      basic:
        params: {filters: null, stride: 1, pad: same}
        layers:
          - type: residual
            name: res
            body:
              - {type: conv, name: conv_a, filters: "${filters}", kernel: 3, stride: "${stride}", padding: "${pad}"}
              - {type: conv, name: "conv_${filters // 32}", filters: "${filters * 2 // 2}", kernel: 3}
    layers:
      - {type: basic, name: b1, filters: 64}
      - {type: basic, filters: 64, pad: [1, 1]}
"""


def test_templates_expand_with_params_defaults_and_expressions():
    m = one(TEMPLATE_SPEC)
    assert names(m) == ["b1/res/conv_a", "b1/res/conv_2", "b1/res", "basic2/res/conv_a", "basic2/res/conv_2", "basic2/res"]
    assert m.nodes[0].layer == Conv2d(64, (3, 3), (1, 1), "same")
    assert m.nodes[3].layer == Conv2d(64, (3, 3), (1, 1), (1, 1))
    assert wiring(m)["basic2/res/conv_a"] == ("b1/res",)
    # positions point into the template body
    assert (m.nodes[0].line, m.nodes[0].col) == (10, 13)


def test_nested_templates_and_repeat_times_from_a_param():
    m = one("""
        input: [8, 8, 4]
        blocks:
          unit:
            params: {c: null}
            layers: [{type: conv, filters: "${c}", kernel: 1}, {type: relu}]
          stage:
            params: {n: 2, c: 8}
            layers:
              - {type: repeat, name: r, times: "${n}", body: [{type: unit, c: "${c + 0}"}]}
        layers:
          - {type: stage, n: 3, c: 16}
    """)
    assert len(m.nodes) == 3 * 2
    assert names(m)[-1] == "stage1/r/3/unit1/relu1"
    assert analyze(m).output == Shape(8, 8, 16)


@pytest.mark.parametrize("expr, want", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("c // 4", 16), ("-c + 100", 36), ("c - 2 - 3", 59),
    ("c * (2 + 2) // 8", 32), ("c", 64), ("name", "same"), ("--3", 3), ("7 // 2 * 2", 6),
])
def test_evaluate(expr, want):
    assert evaluate(expr, {"c": 64, "name": "same"}) == want


@pytest.mark.parametrize("expr, message", [
    ("c / 2", "cannot read '/ 2'"), ("c +", "ends too early"), ("(c", "missing ')'"),
    ("c // 0", "division by zero"), ("x", "unknown parameter 'x'"), ("name + 1", "parameter 'name' is string 'same'"),
    ("__import__('os')", "cannot read"), ("c 2", "unexpected '2'"), ("", "empty expression"),
])
def test_evaluate_errors(expr, message):
    with pytest.raises(ExprError, match=re.escape(message)):
        evaluate(expr, {"c": 64, "name": "same"})


def test_every_layer_type_reads_from_yaml():
    m = one("""
        input: [32, 32, 3]
        layers:
          - {type: conv, filters: 8, kernel: [3, 1], stride: [1, 1], padding: [1, 0], dilation: 1, groups: 1, bias: false}
          - {type: bn}
          - {type: batchnorm}
          - {type: dwconv, kernel: 3, multiplier: 2, stride: 2, padding: valid, dilation: 1, bias: true}
          - {type: maxpool, kernel: 2, stride: 1, padding: 0, ceil_mode: true}
          - {type: avgpool, kernel: 3, padding: same}
          - {type: relu}
          - {type: relu6}
          - {type: sigmoid}
          - {type: tanh}
          - {type: gelu}
          - {type: silu}
          - {type: hardswish}
          - {type: lrn}
          - {type: dropout}
          - {type: identity}
          - {type: gmp}
          - {type: gap}
          - {type: flatten}
          - {type: fc, units: 10}
          - {type: softmax}
    """)
    types = [n.layer.type for n in m.nodes]
    assert types == ["conv", "bn", "bn", "dwconv", "maxpool", "avgpool", "relu", "relu6", "sigmoid", "tanh", "gelu",
                     "silu", "hardswish", "lrn", "dropout", "identity", "gmp", "gap", "flatten", "fc", "softmax"]
    assert m.nodes[4].layer == Pool2d((2, 2), (1, 1), (0, 0), True, "maxpool")
    assert m.nodes[-2].layer == Linear(10)
    assert m.nodes[-1].layer == Elementwise("softmax")
    r = analyze(m)
    # conv [3,1] pad [1,0] keeps 32x32; dwconv 3/2 valid: floor((32-3)/2)+1 = 15; maxpool 2/1 ceil: 14;
    # avgpool 3 same, stride 3: ceil(14/3) = 5
    assert [str(x.output) for x in r.layers[:6]] == ["32x32x8", "32x32x8", "32x32x8", "15x15x16", "14x14x16", "5x5x16"]
    assert r.output == Shape(1, 1, 10)

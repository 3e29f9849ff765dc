"""`convcost import` and .onnx arguments: one small graph (built with onnx.helper) per mapped op and
exporter pattern, one per refusal, hostile files, and the command line in-process and as a process."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest
import yaml

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'convcost[onnx]')")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from conv_cost.cost import analyze  # noqa: E402
from conv_cost.errors import SpecError  # noqa: E402
from conv_cost.onnx_import import import_onnx  # noqa: E402
from conv_cost.spec import SourceError, read_specs  # noqa: E402

from .conftest import run_cli, run_process  # noqa: E402

F = TensorProto.FLOAT
RNG = np.random.default_rng(0)


def w(*dims) -> np.ndarray:
    return RNG.standard_normal(dims).astype(np.float32)


def i64(*values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def f32(*values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def const(name: str, value: np.ndarray):
    return helper.make_node("Constant", [], [name], name=f"{name}_c", value=numpy_helper.from_array(value))


def make(nodes, inits=None, dims=(1, 3, 8, 8), opset=17, output=None, inputs=None):
    """A model reading one input `x` of `dims`; its output is the last node's first output."""
    inputs = inputs if inputs is not None else [helper.make_tensor_value_info("x", F, list(dims))]
    out = output or nodes[-1].output[0]
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info(out, F, None)],
                              initializer=[numpy_helper.from_array(v, k) for k, v in (inits or {}).items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="unit-test", ir_version=8,
                             producer_version="1")


def node(op, ins, outs, name=None, **attrs):
    outs = [outs] if isinstance(outs, str) else outs
    return helper.make_node(op, ins, outs, name=name or outs[0], **attrs)


def save(tmp_path, model, name="m.onnx") -> str:
    path = str(tmp_path / name)
    with open(path, "wb") as fh:
        fh.write(model.SerializeToString())
    return path


def layers_of(tmp_path, model) -> list[dict]:
    """The imported spec's layers, as plain mappings."""
    text = import_onnx(save(tmp_path, model)).text
    return yaml.safe_load(text)["layers"]


def totals(tmp_path, model):
    [spec] = read_specs([save(tmp_path, model)])
    [m] = spec.models
    return analyze(m).totals


def refused(tmp_path, model, name="m.onnx") -> str:
    with pytest.raises(SpecError) as info:
        import_onnx(save(tmp_path, model, name))
    return "\n".join(str(p) for p in info.value.problems)


def conv(x, out, wname, cin, cout, k=3, bias=True, inits=None, **attrs):
    ks = (k, k) if isinstance(k, int) else k
    inits[wname] = w(cout, cin // attrs.get("group", 1), *ks)
    ins = [x, wname]
    if bias:
        inits[wname + "_b"] = w(cout)
        ins.append(wname + "_b")
    return node("Conv", ins, out, **attrs)


# ---------------------------------------------------------------------- Conv


CONV_CASES = {
    "pads, stride, bias": (dict(pads=[1, 1, 1, 1], strides=[2, 2]), True, 3,
                           {"filters": 4, "kernel": 3, "stride": 2, "padding": 1}),
    "no bias, [h, w] kernel": (dict(pads=[1, 0, 1, 0]), False, (3, 1),
                               {"filters": 4, "kernel": [3, 1], "padding": [1, 0], "bias": False}),
    "dilation": (dict(dilations=[2, 2], pads=[2, 2, 2, 2]), True, 3,
                 {"filters": 4, "kernel": 3, "padding": 2, "dilation": 2}),
    "auto_pad SAME_UPPER is TensorFlow's same": (dict(auto_pad="SAME_UPPER", strides=[2, 2]), True, 3,
                                                 {"filters": 4, "kernel": 3, "stride": 2, "padding": "same"}),
    "auto_pad VALID": (dict(auto_pad="VALID"), True, 3, {"filters": 4, "kernel": 3, "padding": 0}),
    "explicit pads equal to same": (dict(pads=[0, 0, 1, 1], strides=[2, 2]), True, 3,
                                    {"filters": 4, "kernel": 3, "stride": 2, "padding": "same"}),
}


@pytest.mark.parametrize("case", CONV_CASES, ids=list(CONV_CASES))
def test_conv(tmp_path, case):
    attrs, bias, k, keys = CONV_CASES[case]
    inits = {}
    layers = layers_of(tmp_path, make([conv("x", "y", "c", 3, 4, k, bias, inits, **attrs)], inits))
    assert layers == [{"type": "conv", "name": "y", **keys}]


def test_conv_counts_are_the_files(tmp_path):
    inits = {}
    m = make([conv("x", "y", "c", 3, 4, 3, True, inits, pads=[1, 1, 1, 1], strides=[2, 2])], inits)
    t = totals(tmp_path, m)
    params = 3 * 3 * 3 * 4 + 4  # kh*kw*C*filters + bias
    macs = 4 * 4 * 4 * (3 * 3 * 3)  # Ho*Wo*filters*(kh*kw*C), output 4x4
    assert (t.params, t.macs, t.flops) == (params, macs, 2 * macs + 4 * 4 * 4)
    assert sum(v.size for v in inits.values()) == params  # what the file holds


def test_asymmetric_pads_that_are_not_same_use_the_four_sided_form(tmp_path):
    inits = {}
    # ONNX pads are [top, left, bottom, right]; the spec's are [top, bottom, left, right].
    layers = layers_of(tmp_path, make([conv("x", "y", "c", 3, 4, 3, True, inits, pads=[0, 1, 2, 1])], inits))
    assert layers[0]["padding"] == [0, 2, 1, 1]
    assert layers_of(tmp_path, make([conv("x", "y", "c", 3, 4, 3, True, {}, auto_pad="SAME_LOWER",
                                          strides=[2, 2])], {**inits, "c": w(4, 3, 3, 3), "c_b": w(4)}))[0][
        "padding"] == [1, 0, 1, 0]


@pytest.mark.parametrize(("group", "filters", "expected"), [
    (2, 4, {"type": "conv", "filters": 4, "groups": 2}),
    (4, 4, {"type": "dwconv"}),
    (4, 8, {"type": "dwconv", "multiplier": 2}),
])
def test_grouped_and_depthwise(tmp_path, group, filters, expected):
    inits = {}
    layers = layers_of(tmp_path, make([conv("x", "y", "c", 4, filters, 3, False, inits, group=group,
                                            pads=[1, 1, 1, 1])], inits, dims=(1, 4, 8, 8)))
    kind = expected.pop("type")
    assert layers[0]["type"] == kind
    assert {k: layers[0][k] for k in expected} == expected
    assert totals(tmp_path, make([conv("x", "y", "c", 4, filters, 3, False, {}, group=group, pads=[1, 1, 1, 1])],
                                 inits, dims=(1, 4, 8, 8))).params == 3 * 3 * (4 // group) * filters


def test_pad_is_folded_into_the_next_conv(tmp_path):
    inits = {"pads": i64(0, 0, 0, 1, 0, 0, 1, 1)}  # top 0, left 1, bottom 1, right 1
    nodes = [node("Pad", ["x", "pads"], "p"), conv("p", "y", "c", 3, 4, 3, True, inits, strides=[2, 2])]
    [layer] = layers_of(tmp_path, make(nodes, inits))
    assert layer["padding"] == [0, 1, 1, 1]
    inits["pads"] = i64(0, 0, 0, 0, 0, 0, 1, 1)
    assert layers_of(tmp_path, make(nodes, inits))[0]["padding"] == "same"  # TensorFlow's odd pixel after


def test_conv_with_a_separate_bias_add(tmp_path):
    inits = {"b": w(1, 4, 1, 1)}
    nodes = [conv("x", "c_out", "c", 3, 4, 1, False, inits), node("Add", ["c_out", "b"], "y")]
    assert layers_of(tmp_path, make(nodes, inits)) == [
        {"type": "conv", "name": "c_out", "filters": 4, "kernel": 1, "padding": 0}]


def test_conv_transpose(tmp_path):
    inits = {"t": w(3, 5, 2, 2), "t_b": w(5)}
    layers = layers_of(tmp_path, make([node("ConvTranspose", ["x", "t", "t_b"], "y", strides=[2, 2])], inits))
    assert layers == [{"type": "deconv", "name": "y", "filters": 5, "kernel": 2, "stride": 2, "padding": 0}]
    t = totals(tmp_path, make([node("ConvTranspose", ["x", "t", "t_b"], "y", strides=[2, 2])], inits))
    # Every input pixel meets the whole kernel: H*W*C*kh*kw*filters.
    assert (t.params, t.macs) == (3 * 5 * 2 * 2 + 5, 8 * 8 * 3 * 2 * 2 * 5)
    inits = {"t": w(3, 5, 3, 3)}
    layers = layers_of(tmp_path, make([node("ConvTranspose", ["x", "t"], "y", strides=[2, 2], pads=[1, 1, 1, 1],
                                            output_padding=[1, 1])], inits))
    assert layers[0] | {} == {"type": "deconv", "name": "y", "filters": 5, "kernel": 3, "stride": 2, "padding": 1,
                              "output_padding": 1, "bias": False}


# ---------------------------------------------------------------------- fully connected


def test_flatten_gemm_is_one_fc(tmp_path):
    inits = {"W": w(10, 3 * 8 * 8), "B": w(10)}
    nodes = [node("Flatten", ["x"], "f", axis=1), node("Gemm", ["f", "W", "B"], "y", transB=1)]
    assert layers_of(tmp_path, make(nodes, inits)) == [{"type": "fc", "name": "y", "units": 10}]
    assert totals(tmp_path, make(nodes, inits)).params == 3 * 8 * 8 * 10 + 10


def test_reshape_to_2d_and_gemm_without_bias_or_transpose(tmp_path):
    inits = {"W": w(3 * 8 * 8, 7), "shape": i64(1, -1)}
    nodes = [node("Reshape", ["x", "shape"], "f"), node("Gemm", ["f", "W"], "y")]
    assert layers_of(tmp_path, make(nodes, inits)) == [{"type": "fc", "name": "y", "units": 7, "bias": False}]


def test_matmul_add_is_fc(tmp_path):
    inits = {"W": w(3 * 8 * 8, 6), "B": w(6)}
    nodes = [node("Flatten", ["x"], "f"), node("MatMul", ["f", "W"], "m"), node("Add", ["m", "B"], "y")]
    assert layers_of(tmp_path, make(nodes, inits)) == [{"type": "fc", "name": "m", "units": 6}]


def test_flatten_before_something_other_than_fc_is_a_flatten_layer(tmp_path):
    nodes = [node("Flatten", ["x"], "f", axis=1), node("Relu", ["f"], "y")]
    assert layers_of(tmp_path, make(nodes)) == [{"type": "flatten", "name": "f"}, {"type": "relu", "name": "y"}]


# ---------------------------------------------------------------------- pools


@pytest.mark.parametrize(("op", "attrs", "keys"), [
    ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
     {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1}),
    ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
     {"type": "maxpool", "kernel": 3, "stride": 2, "ceil_mode": True}),
    ("MaxPool", dict(kernel_shape=[2, 2]), {"type": "maxpool", "kernel": 2, "stride": 1}),  # ONNX's stride is 1
    ("AveragePool", dict(kernel_shape=[2, 2], strides=[2, 2]), {"type": "avgpool", "kernel": 2}),
    ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
     {"type": "maxpool", "kernel": 3, "stride": 2, "padding": "same"}),
    ("GlobalAveragePool", {}, {"type": "gap"}),
    ("GlobalMaxPool", {}, {"type": "gmp"}),
])
def test_pools(tmp_path, op, attrs, keys):
    assert layers_of(tmp_path, make([node(op, ["x"], "y", **attrs)])) == [{"name": "y", **keys}]


@pytest.mark.parametrize(("op", "kind"), [("ReduceMean", "gap"), ("ReduceMax", "gmp")])
def test_reduce_over_height_and_width_is_a_global_pool(tmp_path, op, kind):
    assert layers_of(tmp_path, make([node(op, ["x"], "y", axes=[2, 3], keepdims=1)])) == [
        {"type": kind, "name": "y"}]
    # opset 18 moved axes to an input; keepdims 0 gives a vector, which a Gemm reads.
    inits = {"axes": i64(-2, -1), "W": w(5, 3)}
    nodes = [node(op, ["x", "axes"], "r", keepdims=0), node("Gemm", ["r", "W"], "y", transB=1)]
    assert layers_of(tmp_path, make(nodes, inits, opset=18)) == [
        {"type": kind, "name": "r"}, {"type": "fc", "name": "y", "units": 5, "bias": False}]


def test_same_average_pool_divided_by_its_window_counts(tmp_path):
    # convcost's own export of a TensorFlow 'same' average pool: pad, pool, divide by real inputs per window.
    # 8x8 input, 3x3 windows at stride 2, one row and column of padding after: windows start at 0, 2, 4, 6;
    # the last one covers 2 real rows of 3. Each window's share of real inputs, by hand:
    share = np.outer([1, 1, 1, 2 / 3], [1, 1, 1, 2 / 3]).astype(np.float32).reshape(1, 1, 4, 4)
    inits = {"pads": i64(0, 0, 0, 0, 0, 0, 1, 1), "share": share}
    nodes = [node("Pad", ["x", "pads"], "p"), node("AveragePool", ["p"], "a", kernel_shape=[3, 3], strides=[2, 2]),
             node("Div", ["a", "share"], "y")]
    assert layers_of(tmp_path, make(nodes, inits)) == [
        {"type": "avgpool", "name": "a", "kernel": 3, "stride": 2, "padding": "same"}]
    inits["share"] = np.full((1, 1, 4, 4), 0.5, np.float32)  # some other map: a division convcost cannot count
    assert "divides an activation" in refused(tmp_path, make(nodes, inits))


# ---------------------------------------------------------------------- normalisation, activations


def test_batchnorm_counts_every_use_of_an_aliased_initializer(tmp_path):
    # PyTorch stores identical tensors once and aliases them through Identity: each use counts.
    inits = {"ones": np.ones(3, np.float32), "zeros": np.zeros(3, np.float32)}
    nodes = [node("Identity", ["ones"], "var"), node("Identity", ["zeros"], "mean"),
             node("BatchNormalization", ["x", "ones", "zeros", "mean", "var"], "b1"),
             node("BatchNormalization", ["b1", "ones", "zeros", "mean", "var"], "y")]
    m = make(nodes, inits)
    assert layers_of(tmp_path, m) == [{"type": "bn", "name": "b1"}, {"type": "bn", "name": "y"}]
    t = totals(tmp_path, m)
    assert (t.params, t.buffers) == (2 * (2 * 3), 2 * (2 * 3))


@pytest.mark.parametrize(("op", "attrs", "kind", "opset"), [
    ("Relu", {}, "relu", 17), ("Sigmoid", {}, "sigmoid", 17), ("Tanh", {}, "tanh", 17),
    ("HardSwish", {}, "hardswish", 17), ("HardSigmoid", {}, "hardsigmoid", 17), ("Gelu", {}, "gelu", 20),
    ("Softmax", {"axis": 1}, "softmax", 17), ("LRN", {"size": 5}, "lrn", 17), ("Dropout", {}, "dropout", 17),
    ("Clip", {"min": 0.0, "max": 6.0}, "relu6", 6), ("Clip", {"min": 0.0}, "relu", 6),
])
def test_activations(tmp_path, op, attrs, kind, opset):
    assert layers_of(tmp_path, make([node(op, ["x"], "y", **attrs)], opset=opset)) == [{"type": kind, "name": "y"}]


def test_clip_with_bounds_as_inputs(tmp_path):
    nodes = [const("lo", f32(0.0)), const("hi", f32(6.0)), node("Clip", ["x", "lo", "hi"], "y")]
    assert layers_of(tmp_path, make(nodes)) == [{"type": "relu6", "name": "y"}]


def test_identity_of_an_activation_is_no_layer(tmp_path):
    nodes = [node("Relu", ["x"], "r"), node("Identity", ["r"], "i"), node("Relu", ["i"], "y")]
    assert layers_of(tmp_path, make(nodes)) == [{"type": "relu", "name": "r"}, {"type": "relu", "name": "y"}]


def test_layernorm_between_transposes_and_a_per_pixel_linear(tmp_path):
    # ConvNeXt's block tail: permute to channels-last, LayerNorm, Linear (MatMul + Add), GELU, permute back.
    inits = {"g": w(3), "b": w(3), "W": w(3, 12), "B": w(12)}
    nodes = [node("Transpose", ["x"], "t", perm=[0, 2, 3, 1]),
             node("LayerNormalization", ["t", "g", "b"], "ln", axis=-1),
             node("MatMul", ["ln", "W"], "mm"), node("Add", ["mm", "B"], "lin"),
             node("Gelu", ["lin"], "act"), node("Transpose", ["act"], "y", perm=[0, 3, 1, 2])]
    m = make(nodes, inits, opset=20)
    assert layers_of(tmp_path, m) == [
        {"type": "layernorm", "name": "ln"},
        {"type": "conv", "name": "mm", "filters": 12, "kernel": 1, "padding": 0},
        {"type": "gelu", "name": "act"}]
    t = totals(tmp_path, m)
    assert (t.params, t.macs) == (2 * 3 + 3 * 12 + 12, 8 * 8 * 3 * 12)


def test_layernorm_written_out_before_opset_17(tmp_path):
    inits = {"g": w(3), "b": w(3), "axes": i64(-1)}
    nodes = [node("Transpose", ["x"], "t", perm=[0, 2, 3, 1]), node("ReduceMean", ["t"], "mean", axes=[-1]),
             node("Sub", ["t", "mean"], "d"), const("two", f32(2.0)), node("Pow", ["d", "two"], "sq"),
             node("ReduceMean", ["sq"], "var", axes=[-1]), const("eps", f32(1e-5)), node("Add", ["var", "eps"], "ve"),
             node("Sqrt", ["ve"], "sd"), node("Div", ["d", "sd"], "n"), node("Mul", ["n", "g"], "s"),
             node("Add", ["s", "b"], "ln"), node("Transpose", ["ln"], "y", perm=[0, 3, 1, 2])]
    m = make(nodes, inits, opset=14)
    assert layers_of(tmp_path, m) == [{"type": "layernorm", "name": "mean"}]
    assert totals(tmp_path, m).params == 2 * 3
    nodes[-2] = node("Add", ["s", "s"], "ln")  # no bias: not a layer norm, and Sub of activations is refused
    assert "(ReduceMean): reduces axes [-1]" in refused(tmp_path, make(nodes, inits, opset=14))


# ---------------------------------------------------------------------- merges and elementwise arithmetic


def test_add_and_sum(tmp_path):
    nodes = [node("Relu", ["x"], "a"), node("Sigmoid", ["x"], "b"), node("Add", ["a", "b"], "s"),
             node("Sum", ["a", "b", "s"], "y")]
    assert layers_of(tmp_path, make(nodes)) == [
        {"type": "relu", "name": "a"}, {"type": "sigmoid", "name": "b", "inputs": "input"},
        {"type": "add", "name": "s", "inputs": ["a", "b"]}, {"type": "add", "name": "y", "inputs": ["a", "b", "s"]}]


def test_squeeze_and_excitation_mul_broadcasts(tmp_path):
    inits = {}
    nodes = [node("GlobalAveragePool", ["x"], "g"), conv("g", "fc", "c", 3, 3, 1, True, inits),
             node("Sigmoid", ["fc"], "s"), node("Mul", ["x", "s"], "y")]
    assert layers_of(tmp_path, make(nodes, inits))[-1] == {"type": "mul", "name": "y", "inputs": ["input", "s"]}


def test_mul_by_a_stored_per_channel_tensor_is_a_scale(tmp_path):
    inits = {"gamma": w(3, 1, 1), "beta": w(1, 3, 1, 1)}
    assert layers_of(tmp_path, make([node("Mul", ["gamma", "x"], "y")], inits)) == [
        {"type": "scale", "name": "y"}]
    nodes = [node("Mul", ["x", "gamma"], "m"), node("Add", ["m", "beta"], "y")]
    assert layers_of(tmp_path, make(nodes, inits)) == [{"type": "scale", "name": "m", "bias": True}]
    assert totals(tmp_path, make(nodes, inits)).params == 3 + 3


def test_concat_on_channels(tmp_path):
    nodes = [node("Relu", ["x"], "a"), node("Concat", ["x", "a"], "y", axis=1)]
    assert layers_of(tmp_path, make(nodes))[-1] == {"type": "concat", "name": "y", "inputs": ["input", "a"]}


# ---------------------------------------------------------------------- resize, split, slice, shuffle


@pytest.mark.parametrize(("opset", "extra", "attrs", "keys"), [
    (13, {"roi": f32(), "scales": f32(1, 1, 2, 2)}, {}, {"scale": 2}),
    (13, {"roi": f32(), "scales": f32(1, 1, 2, 3)}, {"mode": "linear"}, {"scale": [2, 3], "mode": "bilinear"}),
    (13, {"roi": f32(), "scales": f32(), "sizes": i64(1, 3, 12, 20)}, {}, {"size": [12, 20]}),
])
def test_resize(tmp_path, opset, extra, attrs, keys):
    ins = ["x", *extra]
    assert layers_of(tmp_path, make([node("Resize", ins, "y", **attrs)], extra, opset=opset)) == [
        {"type": "upsample", "name": "y", **keys}]


def test_upsample_of_opset_9(tmp_path):
    inits = {"scales": f32(1, 1, 2, 2)}
    assert layers_of(tmp_path, make([node("Upsample", ["x", "scales"], "y")], inits, opset=9)) == [
        {"type": "upsample", "name": "y", "scale": 2}]


def test_split_and_slice_on_channels(tmp_path):
    inits = {"sizes": i64(1, 2), "s": i64(1), "e": i64(3), "ax": i64(1), "s0": i64(0), "e0": i64(2**62)}
    nodes = [node("Split", ["x", "sizes"], ["a", "b"], axis=1), node("Slice", ["x", "s", "e", "ax"], "c"),
             node("Slice", ["x", "s0", "e0", "ax"], "whole"), node("Concat", ["a", "b", "c", "whole"], "y", axis=1)]
    assert layers_of(tmp_path, make(nodes, inits)) == [
        {"type": "slice", "name": "a", "channels": [0, 1]},
        {"type": "slice", "name": "a.slice", "inputs": "input", "channels": [1, 3]},
        {"type": "slice", "name": "c", "inputs": "input", "channels": [1, 3]},
        {"type": "concat", "name": "y", "inputs": ["a", "a.slice", "c", "input"]}]


def test_chunk_as_shape_arithmetic(tmp_path):
    # What PyTorch writes for x.chunk(2, dim=1) without constant folding: Shape-Gather-Add-Div-Mul-Slice.
    nodes = [node("Relu", ["x"], "r"), node("Shape", ["r"], "shape"), const("one", i64(1)),
             node("Gather", ["shape", "one"], "c"), const("k", i64(1)), node("Add", ["c", "k"], "c1"),
             const("two", i64(2)), node("Div", ["c1", "two"], "half"), const("zero", i64(0)),
             node("Mul", ["half", "k"], "stop"), node("Slice", ["r", "zero", "stop", "one"], "lo"),
             node("Mul", ["half", "two"], "end"), node("Slice", ["r", "stop", "end", "one"], "hi"),
             node("Add", ["lo", "hi"], "y")]
    layers = layers_of(tmp_path, make(nodes, dims=(1, 4, 8, 8)))
    assert [(l["type"], l.get("channels")) for l in layers] == [
        ("relu", None), ("slice", [0, 2]), ("slice", [2, 4]), ("add", None)]


def test_channel_shuffle(tmp_path):
    inits = {"grouped": i64(1, 2, 3, 8, 8), "back": i64(1, -1, 8, 8)}
    nodes = [node("Relu", ["x"], "r"), node("Reshape", ["r", "grouped"], "g"),
             node("Transpose", ["g"], "t", perm=[0, 2, 1, 3, 4]), node("Reshape", ["t", "back"], "y")]
    assert layers_of(tmp_path, make(nodes, inits, dims=(1, 6, 8, 8))) == [
        {"type": "relu", "name": "r"}, {"type": "shuffle", "name": "y", "groups": 2}]


# ---------------------------------------------------------------------- exporter patterns


def test_silu_hardswish_and_a_plain_hardsigmoid_gate(tmp_path):
    nodes = [node("Sigmoid", ["x"], "s"), node("Mul", ["x", "s"], "silu"),
             node("HardSigmoid", ["silu"], "h", alpha=1 / 6, beta=0.5), node("Mul", ["h", "silu"], "hswish"),
             node("HardSigmoid", ["hswish"], "h2"), node("Mul", ["hswish", "h2"], "y")]
    assert layers_of(tmp_path, make(nodes)) == [
        {"type": "silu", "name": "s"}, {"type": "hardswish", "name": "h"},
        {"type": "hardsigmoid", "name": "h2"}, {"type": "mul", "name": "y", "inputs": ["h", "h2"]}]


def _gelu(order: str):
    c = [const("sqrt2", f32(math.sqrt(2))), const("one", f32(1.0)), const("half", f32(0.5))]
    head = [node("Div", ["x", "sqrt2"], "d"), node("Erf", ["d"], "e"), node("Add", ["e", "one"], "a")]
    tails = {
        "(x * a) * 0.5": [node("Mul", ["x", "a"], "m"), node("Mul", ["m", "half"], "y")],
        "x * (a * 0.5)": [node("Mul", ["a", "half"], "m"), node("Mul", ["x", "m"], "y")],
        "(x * 0.5) * a": [node("Mul", ["x", "half"], "h"), node("Mul", ["h", "a"], "y")],
    }
    return c + head + tails[order]


@pytest.mark.parametrize("order", ["(x * a) * 0.5", "x * (a * 0.5)", "(x * 0.5) * a"])
def test_gelu_as_erf_arithmetic(tmp_path, order):
    assert layers_of(tmp_path, make(_gelu(order))) == [{"type": "gelu", "name": "e"}]


def test_gelu_with_a_wrong_constant_is_not_gelu(tmp_path):
    nodes = _gelu("(x * a) * 0.5")
    nodes[0] = const("sqrt2", f32(1.5))
    assert "Div" in refused(tmp_path, make(nodes))


def test_pytorch_names_become_module_paths(tmp_path):
    inits = {}
    nodes = [conv("x", "c1", "w1", 3, 4, 1, True, inits), node("Relu", ["c1"], "r1"), node("Add", ["r1", "c1"], "a")]
    nodes[0].name, nodes[1].name, nodes[2].name = "/layer1/layer1.0/conv1/Conv", "/layer1/layer1.0/relu/Relu", \
        "/layer1/layer1.0/Add"
    assert [l["name"] for l in layers_of(tmp_path, make(nodes, inits))] == [
        "layer1.0.conv1", "layer1.0.relu", "layer1.0.add"]


def test_the_spec_text_reads_like_the_network(tmp_path):
    inits = {}
    nodes = [conv("x", "conv1", "w1", 3, 8, 3, False, inits, pads=[1, 1, 1, 1], strides=[2, 2]),
             node("Relu", ["conv1"], "relu1"), node("GlobalAveragePool", ["relu1"], "pool"),
             node("Flatten", ["pool"], "flat"), node("Gemm", ["flat", "fcw", "fcb"], "fc", transB=1)]
    inits.update(fcw=w(10, 8), fcb=w(10))
    text = import_onnx(save(tmp_path, make(nodes, inits), "tiny.onnx")).text
    assert text == (
        "# convcost spec imported from tiny.onnx by convcost import\n"
        "# producer: unit-test 1; ONNX IR version 8, opset 17; 5 nodes -> 4 layers\n"
        "name: tiny\n"
        "input: [8, 8, 3]\n"
        "layers:\n"
        "  - {type: conv, name: conv1, filters: 8, kernel: 3, stride: 2, padding: 1, bias: false}\n"
        "  - {type: relu, name: relu1}\n"
        "  - {type: gap, name: pool}\n"
        "  - {type: fc, name: fc, units: 10}\n")


def test_a_dynamic_batch_is_read_as_one(tmp_path):
    x = helper.make_tensor_value_info("x", F, ["batch", 3, 8, 8])
    assert layers_of(tmp_path, make([node("Relu", ["x"], "y")], inputs=[x])) == [{"type": "relu", "name": "y"}]


def test_names_that_yaml_would_misread_are_quoted(tmp_path):
    nodes = [node("Relu", ["x"], "r", name="true"), node("Relu", ["r"], "y", name="1.5")]
    layers = layers_of(tmp_path, make(nodes))
    assert [l["name"] for l in layers] == ["true", "1.5"]


# ---------------------------------------------------------------------- refusals (exit 1, never a zero)


def test_unsupported_ops_are_listed_with_names_and_counts(tmp_path):
    nodes = [node("LeakyRelu", ["x"], "a"), node("LeakyRelu", ["a"], "b"), node("Relu", ["b"], "c"),
             helper.make_node("FusedThing", ["c"], ["y"], name="custom", domain="com.example")]
    model = make(nodes)
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    assert refused(tmp_path, model) == (
        f"{tmp_path / 'm.onnx'}: error: unsupported ONNX op LeakyRelu (2 nodes: 'a', 'b'); convcost cannot count it\n"
        f"{tmp_path / 'm.onnx'}: error: unsupported ONNX op com.example.FusedThing (1 node: 'custom'); "
        "convcost cannot count it")


REFUSALS = {
    "conv on channels-last": (lambda: ([node("Transpose", ["x"], "t", perm=[0, 2, 3, 1]),
                                        node("Conv", ["t", "cw"], "y")], {"cw": w(4, 8, 1, 1)}, 17),
                              "needs an NCHW image"),
    "mul by a number": (lambda: ([const("k", f32(2.0)), node("Mul", ["x", "k"], "y")], {}, 17), "single number"),
    "add of a constant": (lambda: ([node("Add", ["x", "b"], "y")], {"b": w(1, 3, 1, 1)}, 17), "adds a constant"),
    "clip(-1, 1)": (lambda: ([node("Clip", ["x"], "y", min=-1.0, max=1.0)], {}, 6), "Clip(-1.0, 1.0)"),
    "slice of height": (lambda: ([node("Slice", ["x", "s", "e", "a"], "y")],
                                 {"s": i64(0), "e": i64(4), "a": i64(2)}, 17), "slices axis 2"),
    "reshape to tokens": (lambda: ([node("Reshape", ["x", "s"], "y")], {"s": i64(1, 3, 64)}, 17),
                          "cannot express"),
    "transpose of height and width": (lambda: ([node("Transpose", ["x"], "y", perm=[0, 1, 3, 2])], {}, 17),
                                      "permutes"),
    "softmax over width": (lambda: ([node("Softmax", ["x"], "y", axis=3)], {}, 17), "runs over axis 3"),
    "layernorm over C, H and W": (lambda: ([node("LayerNormalization", ["x", "g", "b"], "y", axis=1)],
                                           {"g": w(3, 8, 8), "b": w(3, 8, 8)}, 17), "normalises axes 1"),
    "layernorm without bias": (lambda: ([node("Transpose", ["x"], "t", perm=[0, 2, 3, 1]),
                                         node("LayerNormalization", ["t", "g"], "y")], {"g": w(3)}, 17), "no bias"),
    "matmul of two activations": (lambda: ([node("MatMul", ["x", "x"], "y")], {}, 17), "must be a stored tensor"),
    "cubic resize": (lambda: ([node("Resize", ["x", "", "s"], "y", mode="cubic")], {"s": f32(1, 1, 2, 2)}, 13),
                     "mode 'cubic'"),
    "maxpool indices used": (lambda: ([node("MaxPool", ["x"], ["p", "i"], kernel_shape=[2, 2]),
                                       node("Cast", ["i"], "y", to=F)], {}, 17), "indices"),
    "erf of an activation": (lambda: ([node("Erf", ["x"], "y")], {}, 17), "Erf of an activation"),
    "pad not before a conv": (lambda: ([node("Pad", ["x", "p"], "q"), node("Relu", ["q"], "y")],
                                       {"p": i64(0, 0, 1, 1, 0, 0, 1, 1)}, 17), "folds a Pad only"),
    "a graph with no layer": (lambda: ([node("Identity", ["x"], "y")], {}, 17), "no layer that convcost counts"),
    "conv weight of the wrong channels": (lambda: ([node("Conv", ["x", "cw"], "y")], {"cw": w(4, 5, 3, 3)}, 17),
                                          "does not fit 3 input channels"),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_refusals_name_the_node(tmp_path, case):
    build, expected = REFUSALS[case]
    nodes, inits, opset = build()
    message = refused(tmp_path, make(nodes, inits, opset=opset))
    assert message.startswith(f"{tmp_path / 'm.onnx'}: error: ")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(("dims", "expected"), [
    (["batch", 3, "h", "w"], "'h' height; convcost needs fixed sizes"),
    ([2, 3, 8, 8], "fixed batch of 2"),
    ([1, 3, 8], "3 dimensions"),
    ([1, 3, 10**12, 8], "absurd sizes"),
])
def test_input_shapes_refused(tmp_path, dims, expected):
    x = helper.make_tensor_value_info("x", F, dims)
    assert expected in refused(tmp_path, make([node("Relu", ["x"], "y")], inputs=[x]))


def test_two_inputs_refused(tmp_path):
    ins = [helper.make_tensor_value_info(n, F, [1, 3, 8, 8]) for n in ("a", "b")]
    assert "2 inputs ('a', 'b')" in refused(tmp_path, make([node("Add", ["a", "b"], "y")], inputs=ins))


def test_if_with_a_constant_condition_is_the_branch_taken(tmp_path):
    taken = helper.make_graph([node("Relu", ["x"], "r"), node("Sigmoid", ["r"], "z")], "then", [],
                              [helper.make_tensor_value_info("z", F, None)])
    other = helper.make_graph([node("Tanh", ["x"], "t")], "else", [], [helper.make_tensor_value_info("t", F, None)])
    nodes = [node("Shape", ["x"], "s"), const("one", i64(1)), node("Gather", ["s", "one"], "c"),
             const("three", i64(3)), node("Equal", ["c", "three"], "cond"),
             node("If", ["cond"], "y", then_branch=taken, else_branch=other)]
    assert layers_of(tmp_path, make(nodes)) == [{"type": "relu", "name": "r"}, {"type": "sigmoid", "name": "z"}]


def test_if_on_the_input_values_refused(tmp_path):
    branch = helper.make_graph([node("Relu", ["x"], "z")], "b", [], [helper.make_tensor_value_info("z", F, None)])
    nodes = [node("GlobalMaxPool", ["x"], "m"), node("Cast", ["m"], "c", to=TensorProto.BOOL),
             node("If", ["c"], "y", then_branch=branch, else_branch=branch)]
    assert "its condition depends on the input's values" in refused(tmp_path, make(nodes))


# ---------------------------------------------------------------------- hostile files


def _good(tmp_path) -> bytes:
    inits = {}
    return make([conv("x", "y", "c", 3, 64, 3, True, inits)], inits).SerializeToString()


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "the file is empty"),
    (b"name: not a model\nlayers: []\n", "not an ONNX model"),
    (bytes(range(256)) * 40, "not an ONNX model"),
])
def test_files_that_are_not_onnx(tmp_path, content, expected):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(SpecError) as info:
        import_onnx(str(path))
    assert expected in str(info.value)


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.99])
def test_a_truncated_file(tmp_path, cut):
    data = _good(tmp_path)
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(SpecError) as info:
        import_onnx(str(path))
    assert "not an ONNX model" in str(info.value)


def test_a_cycle(tmp_path):
    nodes = [node("Relu", ["x", ], "a"), node("Add", ["a", "c"], "b"), node("Relu", ["b"], "c"),
             node("Relu", ["c"], "y")]
    assert "has a cycle" in refused(tmp_path, make(nodes))


def test_a_missing_input(tmp_path):
    nodes = [node("Add", ["x", "ghost"], "y")]
    assert "reads tensor 'ghost', which no node" in refused(tmp_path, make(nodes))


def test_a_tensor_produced_twice(tmp_path):
    nodes = [node("Relu", ["x"], "a"), node("Sigmoid", ["x"], "a", name="again"), node("Relu", ["a"], "y")]
    assert "produced twice" in refused(tmp_path, make(nodes))


def test_weights_whose_bytes_do_not_match_their_dims(tmp_path):
    m = make([node("Conv", ["x", "c"], "y")])
    t = numpy_helper.from_array(w(4, 3, 3, 3), "c")
    t.raw_data = t.raw_data[:-4]
    m.graph.initializer.append(t)
    assert "but holds 428 bytes" in refused(tmp_path, m)


def test_absurd_weight_dims(tmp_path):
    m = make([node("Conv", ["x", "c"], "y")])
    t = TensorProto(name="c", data_type=F, dims=[10**9, 10**9, 3, 3], raw_data=b"\0" * 16)
    m.graph.initializer.append(t)
    assert "absurd dims" in refused(tmp_path, m)


def _external(tmp_path, location: str, data: bytes | None):
    m = make([node("Conv", ["x", "c"], "y")])
    t = TensorProto(name="c", data_type=F, dims=[4, 3, 3, 3], data_location=TensorProto.EXTERNAL)
    t.external_data.add(key="location", value=location)
    m.graph.initializer.append(t)
    if data is not None:
        (tmp_path / location).write_bytes(data)
    return m


@pytest.mark.parametrize(("location", "data", "expected"), [
    ("weights.bin", None, "external data file 'weights.bin' of tensor 'c' is missing"),
    ("weights.bin", b"\0" * 100, "holds 100 bytes, too few"),
    ("../elsewhere.bin", None, "outside the model's directory"),
])
def test_external_data_problems(tmp_path, location, data, expected):
    assert expected in refused(tmp_path, _external(tmp_path, location, data if "/" not in location else None))


def test_external_data_present_is_read_for_its_dims_only(tmp_path):
    m = _external(tmp_path, "weights.bin", b"\0" * (4 * 3 * 3 * 3 * 4))
    assert layers_of(tmp_path, m) == [{"type": "conv", "name": "y", "filters": 4, "kernel": 3, "padding": 0,
                                       "bias": False}]


def test_large_weights_are_never_read(tmp_path, monkeypatch):
    """The bytes of large tensors are skipped by the scan: reading them would fail here."""
    from conv_cost.onnx_import import reader

    inits = {}
    model = make([conv("x", "y", "c", 3, 64, 3, True, inits)], inits)
    path = save(tmp_path, model)
    read = []
    monkeypatch.setattr(reader.OnnxFile, "array", lambda self, stored: read.append(stored.name))
    import_onnx(path)
    assert read == []  # not even the bias: nothing needs the values of a weight


# ---------------------------------------------------------------------- the command line


def _tiny(tmp_path, name="tiny.onnx") -> str:
    inits = {"fcw": w(10, 8 * 4 * 4)}
    nodes = [conv("x", "conv1", "w1", 3, 8, 3, False, inits, pads=[1, 1, 1, 1], strides=[2, 2]),
             node("Relu", ["conv1"], "relu1"), node("Flatten", ["relu1"], "flat"),
             node("Gemm", ["flat", "fcw"], "fc", transB=1)]
    return save(tmp_path, make(nodes, inits), name)


def test_import_writes_the_spec_and_check_accepts_it(tmp_path):
    model = _tiny(tmp_path)
    result = run_cli(["import", model])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("# convcost spec imported from tiny.onnx")
    out = tmp_path / "tiny.yaml"
    assert run_cli(["import", model, "-o", str(out)]).exit_code == 0
    assert out.read_text() == result.stdout
    assert run_cli(["check", str(out)]).exit_code == 0
    assert run_cli(["check", model]).exit_code == 0


def test_every_command_reads_onnx_beside_yaml(tmp_path):
    model = _tiny(tmp_path)
    spec = tmp_path / "tiny.yaml"
    spec.write_text(run_cli(["import", model]).stdout)
    onnx_json = run_cli(["report", model, "--json"])
    yaml_json = run_cli(["report", str(spec), "--json"])
    assert onnx_json.exit_code == 0 and yaml_json.exit_code == 0
    import json

    a, b = json.loads(onnx_json.stdout)["models"][0], json.loads(yaml_json.stdout)["models"][0]
    assert a["totals"] == b["totals"] and a["layers"] == b["layers"]
    params = 3 * 3 * 3 * 8 + 8 * 4 * 4 * 10
    assert a["totals"]["params"] == params
    for args in (["compare", model, str(spec)], ["explain", model, "--layer", "conv1"], ["check", model, str(spec)]):
        result = run_cli(args)
        assert result.exit_code == 0, (args, result.stderr)


def test_errors_in_an_onnx_file_exit_1_and_write_nothing(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x08\x07\x12")
    out = tmp_path / "out.yaml"
    result = run_cli(["import", str(path), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}: error: not an ONNX model")
    assert not out.exists()
    out.write_text("kept")
    assert run_cli(["import", str(path), "-o", str(out)]).exit_code == 1
    assert out.read_text() == "kept"
    result = run_cli(["report", str(path), _tiny(tmp_path)])
    assert result.exit_code == 1 and result.stdout == ""


def test_a_missing_file_is_a_usage_error(tmp_path):
    for args in (["import", str(tmp_path / "none.onnx")], ["report", str(tmp_path / "none.onnx")]):
        result = run_cli(args)
        assert result.exit_code == 2
        assert "no such file" in result.stderr


def test_without_onnx_installed_a_usage_error_says_how_to_install_it(tmp_path, monkeypatch):
    import sys

    model = _tiny(tmp_path)
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    for args in (["import", model], ["report", model], ["check", model]):
        result = run_cli(args)
        assert result.exit_code == 2
        assert result.stderr == ("convcost: error: reading ONNX models needs the onnx package, which is not "
                                 "installed; install it with: pip install 'convcost[onnx]'\n")
    with pytest.raises(SourceError):
        import_onnx(model)


def test_import_as_a_process(tmp_path):
    model = _tiny(tmp_path)
    start = time.monotonic()
    result = run_process(["import", model])
    assert result.exit_code == 0, result.stderr
    assert "  - {type: fc, name: fc, units: 10, bias: false}" in result.stdout
    assert time.monotonic() - start < 30
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(os.urandom(4096))
    result = run_process(["report", str(bad)])
    assert result.exit_code == 1 and result.stderr.startswith(f"{bad}: error: ") and "Traceback" not in result.stderr


def test_a_graph_of_millions_of_entries_is_refused_in_bounded_time(tmp_path):
    from conv_cost.onnx_import.wire import MAX_GRAPH_FIELDS, _encode_varint

    entry = _encode_varint(13 << 3 | 2) + b"\x00"  # an empty value_info, 2 bytes
    graph = entry * (MAX_GRAPH_FIELDS + 1)
    path = tmp_path / "many.onnx"
    path.write_bytes(_encode_varint(7 << 3 | 2) + _encode_varint(len(graph)) + graph)
    start = time.monotonic()
    with pytest.raises(SpecError) as info:
        import_onnx(str(path))
    assert f"more than {MAX_GRAPH_FIELDS:,} entries" in str(info.value)
    assert time.monotonic() - start < 30


def test_subgraphs_nested_too_deeply(tmp_path):
    leaf = helper.make_graph([node("Relu", ["x"], "z0")], "b", [], [helper.make_tensor_value_info("z0", F, None)])
    inner = leaf
    for depth in range(1, 30):
        inner = helper.make_graph([node("If", ["cond"], f"z{depth}", then_branch=inner, else_branch=leaf)], "b", [],
                                  [helper.make_tensor_value_info(f"z{depth}", F, None)])
    nodes = [const("cond", np.asarray(True)), node("If", ["cond"], "y", then_branch=inner, else_branch=leaf)]
    message = refused(tmp_path, make(nodes))
    assert "nested more than 20 deep" in message or "not an ONNX model" in message


def test_a_huge_constant_is_not_computed(tmp_path):
    nodes = [const("n", i64(10**9)), node("ConstantOfShape", ["n"], "big"), node("Shape", ["big"], "s"),
             node("Reshape", ["x", "s"], "y")]
    assert "convcost evaluates only small ones" in refused(tmp_path, make(nodes))


def test_import_never_overwrites_the_model(tmp_path):
    model = _tiny(tmp_path)
    before = open(model, "rb").read()
    result = run_cli(["import", model, "-o", model])
    assert result.exit_code == 2
    assert open(model, "rb").read() == before

"""One test per class of bad spec: exit 1, the exact FILE:LINE:COL message on stderr, nothing on stdout."""

import pytest

from .conftest import run_cli

# name: (spec text, expected stderr lines with t.yaml as the file)
CASES = {
    "malformed YAML": (
        "input: [8, 8, 3\nlayers:\n  - {type: relu}\n",
        ["t.yaml:2:7: error: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at "
         "line 1, column 8); check brackets, quotes and indentation"]),
    "unknown layer type with did-you-mean": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv2d, filters: 4, kernel: 3}\n",
        ["t.yaml:3:12: error: unknown layer type 'conv2d'; use type: conv"]),
    "unknown layer type with no close match": (
        "input: [8, 8, 3]\nlayers:\n  - {type: transformer}\n",
        ["t.yaml:3:12: error: unknown layer type 'transformer'; see the layer table in the README"]),
    "missing required key": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, kernel: 3}\n",
        ["t.yaml:3:5: error: layer 'conv1' (conv) needs 'filters'; add filters: <a positive integer>"]),
    "unknown key": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, filters: 4, kernel: 3, strides: 2}\n",
        ["t.yaml:3:41: error: unknown key 'strides' in layer 'conv1' (conv); did you mean 'stride'?"]),
    "float, bool and int in the wrong place": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, filters: 4.0, kernel: 3}\n"
        "  - {type: conv, filters: true, kernel: 3}\n  - {type: conv, filters: 4, kernel: 3, bias: 1}\n",
        ["t.yaml:3:27: error: 'filters' of layer 'conv1' (conv) must be a positive integer, got float 4.0; write 4",
         "t.yaml:4:27: error: 'filters' of layer 'conv2' (conv) must be a positive integer, got boolean true",
         "t.yaml:5:47: error: 'bias' of layer 'conv3' (conv) must be true or false, got 1"]),
    "YAML 1.1 boolean and octal": (
        "input: [8, 8, 017]\nlayers:\n  - {type: conv, filters: 4, kernel: 3, bias: yes}\n",
        ["t.yaml:1:15: error: integer '017' is ambiguous (YAML 1.1 reads it in another base or "
         "with '_' separators); write it in plain decimal, without leading zeros or '_'",
         "t.yaml:3:47: error: 'yes' would be read as a boolean; write true or false (or quote it for a string)"]),
    "non-positive sizes": (
        "input: [8, 8, 0]\nlayers:\n  - {type: conv, filters: 4, kernel: 0}\n  - {type: conv, filters: -2, kernel: 3}\n",
        ["t.yaml:1:15: error: each input size must be a positive integer, got 0; sizes start at 1",
         "t.yaml:3:38: error: 'kernel' of layer 'conv1' (conv) must be a positive integer, got 0; sizes start at 1",
         "t.yaml:4:27: error: 'filters' of layer 'conv2' (conv) must be a positive integer, got -2; sizes start at 1"]),
    "output smaller than 1x1": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, filters: 4, kernel: 5, padding: valid}\n"
        "  - {type: conv, name: tiny, filters: 4, kernel: 5, padding: valid}\n",
        ["t.yaml:4:5: error: layer 'tiny': convolution output would be 0x0, smaller than 1x1 (input 4x4, kernel 5x5, "
         "stride 1x1); use a smaller kernel or stride, or padding"]),
    "groups not dividing the channels": (
        "input: [8, 8, 6]\nlayers:\n  - {type: conv, name: g, filters: 8, kernel: 3, groups: 4}\n",
        ["t.yaml:3:5: error: layer 'g': groups=4 must divide both the input channels (6) and filters (8)"]),
    "add of mismatched shapes": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, name: a, filters: 4, kernel: 3}\n"
        "  - {type: conv, name: b, filters: 8, kernel: 3}\n  - {type: add, name: sum, inputs: [a, b]}\n",
        ["t.yaml:5:5: error: layer 'sum': add needs inputs of one shape, got a 8x8x4, b 8x8x8; "
         "fix the channels: give the shortcut a 1x1 conv to the body's channels"]),
    "add of a map and a 1x1 gate": (
        "input: [14, 14, 64]\nlayers:\n  - {type: gap, name: g}\n  - {type: add, name: sum, inputs: [input, g]}\n",
        ["t.yaml:4:5: error: layer 'sum': add needs inputs of one shape, got input 14x14x64, g 1x1x64; add does not "
         "broadcast a 1x1xC input over H and W; to scale a map by a per-channel gate (squeeze-and-excitation) use "
         "type: mul"]),
    "add of maps with different strides": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, name: a, filters: 3, kernel: 3, stride: 2}\n"
        "  - {type: add, name: sum, inputs: [a, input]}\n",
        ["t.yaml:4:5: error: layer 'sum': add needs inputs of one shape, got a 4x4x3, input 8x8x3; fix the strides: "
         "give the shortcut the body's stride (a strided 1x1 conv or a pool)"]),
    "add of different sizes and channels": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, name: a, filters: 4, kernel: 3, stride: 2}\n"
        "  - {type: add, name: sum, inputs: [a, input]}\n",
        ["t.yaml:4:5: error: layer 'sum': add needs inputs of one shape, got a 4x4x4, input 8x8x3; fix the channels "
         "or strides, or add a 1x1 conv on the shortcut"]),
    "residual whose body changes the shape": (
        "input: [8, 8, 3]\nlayers:\n  - type: residual\n    name: res\n    body: [{type: conv, filters: 4, kernel: 3}]\n",
        ["t.yaml:3:5: error: layer 'res': add needs inputs of one shape, got res/conv1 8x8x4, input 8x8x3; "
         "fix the channels: give the shortcut a 1x1 conv to the body's channels"]),
    "concat of mismatched height and width": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, name: a, filters: 4, kernel: 3, stride: 2}\n"
        "  - {type: concat, name: cat, inputs: [a, input]}\n",
        ["t.yaml:4:5: error: layer 'cat': concat needs inputs of one height and width, got a 4x4x4, input 8x8x3; "
         "the branches have different strides; give every branch the same total stride"]),
    "concat of a valid pool and the input": (
        "input: [28, 28, 3]\nlayers:\n  - {type: maxpool, name: p, kernel: 3, stride: 1}\n"
        "  - {type: concat, name: cat, inputs: [p, input]}\n",
        ["t.yaml:4:5: error: layer 'cat': concat needs inputs of one height and width, got p 26x26x3, input 28x28x3; "
         "a window without padding shrinks the map by k-1; pad it to keep the size (padding: same, or padding: "
         "(k-1)//2 for a k x k window with stride 1)"]),
    "forward and unknown inputs": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, name: a, filters: 4, kernel: 3}\n  - {type: add, inputs: [a, b]}\n"
        "  - {type: conv, name: b, filters: 4, kernel: 3}\n  - {type: relu, inputs: aa}\n",
        ["t.yaml:4:29: error: 'inputs' names 'b', which comes later (line 5); a layer can only read earlier layers",
         "t.yaml:6:26: error: 'inputs' names unknown layer 'aa'; did you mean 'a'?"]),
    "duplicate layer names": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, name: a, filters: 4, kernel: 3}\n  - {type: relu, name: a}\n",
        ["t.yaml:4:24: error: duplicate layer name 'a' in this list; give each layer its own name"]),
    "default name clashing with an explicit one": (
        "input: [8, 8, 3]\nlayers:\n  - {type: relu, name: relu2}\n  - {type: relu}\n",
        ["t.yaml:4:5: error: duplicate layer name 'relu2' in this list; give each layer its own name"]),
    "duplicate YAML keys": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, filters: 4, kernel: 3, filters: 8}\n",
        ["t.yaml:3:41: error: duplicate key 'filters' (first at line 3); keep one of them"]),
    "template parameter missing or unknown": (
        "input: [8, 8, 3]\nblocks:\n  unit:\n    params: {c: null, k: 3}\n"
        "    layers: [{type: conv, filters: \"${c}\", kernel: \"${k}\"}]\n"
        "layers:\n  - {type: unit, k: 1}\n  - {type: unit, c: 4, kk: 1}\n",
        ["t.yaml:7:5: error: block 'unit1' (template unit) needs parameter 'c' (the template gives it no default)",
         "t.yaml:8:24: error: template 'unit' has no parameter 'kk'; did you mean 'k'?"]),
    "bad expression inside a template": (
        "input: [8, 8, 3]\nblocks:\n  unit:\n    params: {c: 4}\n"
        "    layers: [{type: conv, filters: \"${c / 2}\", kernel: 1}]\nlayers:\n  - {type: unit}\n",
        ["t.yaml:5:36: error: in '${c / 2}': cannot read '/ 2' in 'c / 2'; use integers, parameter names and "
         "+ - * // ( ) (in template 'unit' used at line 7)"]),
    "template using itself": (
        "input: [8, 8, 3]\nblocks:\n  a:\n    layers: [{type: b}]\n  b:\n    layers: [{type: a}]\nlayers:\n  - {type: a}\n",
        ["t.yaml:6:14: error: template 'a' uses itself (a -> b -> a); a template cannot contain itself "
         "(in template 'a' used at line 8)"]),
    "layers and models both": (
        "input: [8, 8, 3]\nlayers: []\nmodels: []\n",
        ["t.yaml:3:1: error: a spec has 'layers' or 'models', not both; move the top-level layers into a model"]),
    "no input": (
        "layers:\n  - {type: relu}\n",
        ["t.yaml:1:1: error: model 't' has no 'input'; add input: [height, width, channels]"]),
    "single-input layer given two inputs": (
        "input: [8, 8, 3]\nlayers:\n  - {type: relu, name: a}\n  - {type: conv, filters: 4, kernel: 3, inputs: [a, input]}\n",
        ["t.yaml:4:49: error: layer 'conv1' (conv) takes one input, got 2; merge them first with an add or concat layer"]),
    "add without inputs": (
        "input: [8, 8, 3]\nlayers:\n  - {type: add}\n",
        ["t.yaml:3:5: error: layer 'add1' (add) needs 'inputs': a list of 2 or more earlier layers"]),
    "bad padding word": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, filters: 4, kernel: 3, padding: sam}\n",
        ["t.yaml:3:50: error: 'padding' of layer 'conv1' (conv) must be same, valid, an integer, [height, width] or "
         "[top, bottom, left, right], got 'sam'; did you mean 'same'?"]),
    "python tag": (
        "input: !!python/object:os.system [8, 8, 3]\nlayers: [{type: relu}]\n",
        ["t.yaml:1:8: error: YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed; "
         "convcost reads plain YAML only"]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_spec(tmp_path, case):
    text, expected = CASES[case]
    (tmp_path / "t.yaml").write_text(text)
    result = run_cli(["report", "t.yaml"], cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == expected


def test_problems_of_several_files_are_all_reported(tmp_path):
    (tmp_path / "a.yaml").write_text("input: [8, 8, 3]\nlayers: [{type: rleu}]\n")
    (tmp_path / "b.yaml").write_text("input: [8, 8, 3]\nlayers: [{type: conv, kernel: 3}]\n")
    result = run_cli(["report", "a.yaml", "b.yaml"], cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "a.yaml:2:17: error: unknown layer type 'rleu'; did you mean 'relu'?",
        "b.yaml:2:10: error: layer 'conv1' (conv) needs 'filters'; add filters: <a positive integer>",
    ]


def test_non_utf8_file(tmp_path):
    (tmp_path / "t.yaml").write_bytes(b"input: [8, 8, 3]\nname: caf\xe9\nlayers: [{type: relu}]\n")
    result = run_cli(["report", "t.yaml"], cwd=tmp_path)
    assert (result.exit_code, result.stderr) == (
        1, "t.yaml:2:10: error: the file is not UTF-8 text (byte 0xe9); save it as UTF-8\n")


@pytest.mark.parametrize("command", ["report", "explain", "compare", "check"])
@pytest.mark.parametrize("spec, message", [
    ("missing.yaml", "convcost: error: cannot read 'missing.yaml': no such file\n"),
    (".", "convcost: error: cannot read '.': it is a directory; give a .yaml file\n"),
])
def test_unreadable_spec_is_a_usage_error(tmp_path, command, spec, message):
    result = run_cli([command, spec], cwd=tmp_path)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


@pytest.mark.parametrize("args", [
    ["report"], ["report", "--format", "xml", "x.yaml"], ["report", "--nope", "x.yaml"], ["frobnicate"],
    ["report", "--max-layers", "0", "x.yaml"],
])
def test_usage_errors_exit_2_without_traceback(tmp_path, args):
    result = run_cli(args, cwd=tmp_path)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""

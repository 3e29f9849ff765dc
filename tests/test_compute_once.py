"""Each thing is computed once per command: a spec file's YAML is parsed once, an .onnx file is read
once, and each model's shapes are inferred once per variant (a transform's result, or the model on
another input size); every later step reads the shapes the model carries.

The real functions are wrapped and the CLI runs in-process; the counts are worked out by hand."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import pytest
import yaml

import conv_cost.graph as graph
from conv_cost.layers import Shape
from conv_cost.spec import load_spec

from .conftest import GOLDEN, INCEPTION, SEED, SPECS, run_cli

RESNET50 = SPECS / "resnet50.yaml"
MOBILE = GOLDEN / "compare" / "mobile.yaml"


@dataclass
class Seen:
    """What a command computed: every shape inference (by model content), YAML text parsed, ONNX file read."""

    shapes: Counter = field(default_factory=Counter)
    parsed: Counter = field(default_factory=Counter)
    onnx_read: Counter = field(default_factory=Counter)

    def inferred(self) -> int:
        return sum(self.shapes.values())

    def inferred_twice(self) -> list:
        return [(name, shape) for (name, shape, _), n in self.shapes.items() if n > 1]


@pytest.fixture
def seen(monkeypatch) -> Seen:
    seen = Seen()
    infer, compose, load = graph.infer_shapes, yaml.compose, yaml.load

    def counted_infer(model):
        seen.shapes[model.name, model.input, model.nodes] += 1
        return infer(model)

    def counted_compose(stream, *args, **kwargs):
        seen.parsed[stream] += 1
        return compose(stream, *args, **kwargs)

    def counted_load(stream, *args, **kwargs):  # safe_load and full_load go through it too
        seen.parsed[stream] += 1
        return load(stream, *args, **kwargs)

    # graph.validate and graph.shapes_of call infer_shapes through the module, and the spec reader
    # composes through yaml.compose: these wrappers see every call.
    monkeypatch.setattr(graph, "infer_shapes", counted_infer)
    monkeypatch.setattr(yaml, "compose", counted_compose)
    monkeypatch.setattr(yaml, "load", counted_load)
    return seen


def ok(args: list) -> str:
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def texts(*paths) -> Counter:
    return Counter(p.read_text(encoding="utf-8") for p in paths)


def model_count(stdout: str) -> int:
    return len(json.loads(stdout)["models"])


# ----------------------------------------------------------------------------- report, explain, check

@pytest.mark.parametrize("args, files, shapes", [
    (["report", SEED, "--json"], [SEED], 2),                        # naive, bottleneck
    (["report", RESNET50, "--json"], [RESNET50], 1),
    (["report", SEED, INCEPTION, "--json"], [SEED, INCEPTION], 4),  # two models in each file
    (["report", SEED], [SEED], 2),                                   # the terminal table
    (["report", SEED, "--format", "html"], [SEED], 2),              # the handout shows the file's own text
    (["report", SEED, "--format", "markdown"], [SEED], 2),
    (["report", SEED, "--format", "csv"], [SEED], 2),
    (["report", RESNET50, "--depth", "1", "--json"], [RESNET50], 1),
    (["explain", SEED, "--json"], [SEED], 2),
    (["explain", SEED, "--format", "html"], [SEED], 2),
    (["explain", SEED, "--layer", "conv5x5"], [SEED], 2),           # every model is read before one is picked
    (["check", SEED, INCEPTION], [SEED, INCEPTION], 4),
    (["check", "-v", SEED], [SEED], 2),
], ids=["report-seed", "report-resnet50", "report-two-files", "report-table", "report-html", "report-markdown",
        "report-csv", "report-depth", "explain-seed", "explain-html", "explain-layer", "check-two-files",
        "check-verbose"])
def test_each_file_parsed_once_and_each_model_inferred_once(seen, args, files, shapes):
    ok(args)
    assert seen.parsed == texts(*files)
    assert seen.inferred() == shapes
    assert seen.inferred_twice() == []


# ----------------------------------------------------------------------------- memory options and sweep

@pytest.mark.parametrize("args, shapes", [
    # --dtype, --batch and a device change bytes and times, not shapes.
    (["report", SEED, "--dtype", "fp16", "--batch", "8", "--device", "rtx-4090", "--json"], 2),
    # The spec's own input: the models as read, nothing inferred again.
    (["report", RESNET50, "--input", "224,224", "--json"], 1),
    (["report", SEED, "--input", "28,28", "--json"], 2),
    # Another input: once as read, once on the new input.
    (["report", RESNET50, "--input", "160,160", "--json"], 2),
    (["report", SEED, "--input", "14,14", "--json"], 4),
    (["explain", SEED, "--input", "14,14", "--json"], 4),
    # compare: resnet50 as read (224), then at 160 and its counterfactual at 160.
    (["compare", RESNET50, "--input", "160,160", "--json"], 3),
], ids=["dtype-batch-device", "resnet50-own-input", "seed-own-input", "resnet50-160", "seed-14", "explain-seed-14",
        "compare-resnet50-160"])
def test_memory_options_infer_a_new_input_once(seen, args, shapes):
    ok(args)
    assert seen.parsed == texts(args[1])
    assert seen.inferred() == shapes
    assert seen.inferred_twice() == []


def test_sweep_infers_each_size_once_whatever_the_batches_and_dtypes(seen):
    # The seed's input is 28x28: read once at 28x28 (the first size, so nothing more), then 14x7.
    ok(["sweep", SEED, "--sizes", "28,14x7", "--batches", "1,2,4", "--dtypes", "fp32,fp16", "--json"])
    assert seen.parsed == texts(SEED)
    assert seen.inferred() == 2 * 2
    assert {(name, shape) for name, shape, _ in seen.shapes} == {
        ("naive", Shape(28, 28, 256)), ("naive", Shape(14, 7, 256)),
        ("bottleneck", Shape(28, 28, 256)), ("bottleneck", Shape(14, 7, 256))}


def test_with_input_on_the_models_own_input_is_the_model_itself(seen):
    [model] = load_spec(RESNET50)
    assert seen.inferred() == 1
    assert graph.with_input(model, model.input) is model
    assert seen.inferred() == 1
    smaller = graph.with_input(model, Shape(160, 160, 3))
    assert seen.inferred() == 2 and smaller.shapes["input"] == Shape(160, 160, 3)
    # A model built by hand carries no shapes: they are inferred, even on its own input.
    bare = graph.Model(model.name, model.input, model.nodes)
    assert graph.with_input(bare, bare.input).shapes is not None
    assert seen.inferred() == 3


# ----------------------------------------------------------------------------- compare and its variants

@pytest.mark.parametrize("args, shapes", [
    ([SEED], 2),                                         # two models, no variant
    ([SEED, INCEPTION], 4),
    ([RESNET50], 2),                                     # a lone model and its counterfactual (without bottlenecks)
    ([RESNET50, "--with-bottlenecks", "--without-bottlenecks"], 3),
    ([SEED, "--without-bottlenecks"], 3),                # only the bottleneck model has one to remove
    ([SEED, "--with-bottlenecks", "--reduce-to", "16"], 3),  # only the naive model lacks one
    ([SEED, "--with-bottlenecks", "--without-bottlenecks"], 4),
    ([MOBILE, "--fc-head"], 2),
    ([MOBILE, "--standard-conv", "--fc-head"], 3),
    # Neither bottleneck transform has anything to do on mobile: no variant, nothing inferred.
    ([MOBILE, "--standard-conv", "--fc-head", "--with-bottlenecks", "--without-bottlenecks"], 3),
], ids=["seed", "two-files", "resnet50", "resnet50-both", "seed-without", "seed-with", "seed-both", "mobile-fc-head",
        "mobile-two", "mobile-all"])
def test_compare_infers_each_variant_once(seen, args, shapes):
    out = ok(["compare", *args, "--json"])
    assert seen.parsed == texts(*(a for a in args if a in (SEED, INCEPTION, RESNET50, MOBILE)))
    assert seen.inferred() == shapes == model_count(out)
    assert seen.inferred_twice() == []


@pytest.mark.parametrize("fmt", ["table", "html", "markdown", "csv"])
def test_compare_by_layer_in_every_format_infers_nothing_more(seen, fmt):
    ok(["compare", RESNET50, "--by-layer", "--with-bottlenecks", "--without-bottlenecks", "--format", fmt])
    assert seen.parsed == texts(RESNET50)
    assert seen.inferred() == 3
    assert seen.inferred_twice() == []


def test_verify_infers_each_model_once(seen):
    pytest.importorskip("torch", reason="verify needs PyTorch")
    ok(["verify", SEED])
    assert seen.parsed == texts(SEED)
    assert seen.inferred() == 2
    assert seen.inferred_twice() == []


# ----------------------------------------------------------------------------- ONNX files

@pytest.fixture
def onnx_model(tmp_path, monkeypatch, seen) -> str:
    """A small ONNX model; its reads are counted in seen.onnx_read."""
    pytest.importorskip("onnx", reason="onnx is not installed (pip install 'convcost[onnx]')")
    import conv_cost.onnx_import.reader as reader

    from .test_onnx_import import _tiny

    path = _tiny(tmp_path)
    real = reader.open_onnx

    def counted(p):
        seen.onnx_read[p] += 1
        return real(p)

    monkeypatch.setattr(reader, "open_onnx", counted)
    return path


@pytest.mark.parametrize("command", [["report", "--json"], ["check"], ["import"], ["explain", "--json"]],
                         ids=["report", "check", "import", "explain"])
def test_an_onnx_file_is_read_once_and_its_spec_parsed_once(seen, onnx_model, command):
    ok([command[0], onnx_model, *command[1:]])
    assert seen.onnx_read == Counter({onnx_model: 1})
    [(text, parses)] = seen.parsed.items()
    assert parses == 1 and text.startswith("# convcost spec imported from tiny.onnx")
    assert seen.inferred() == 1


def test_an_onnx_file_beside_a_spec(seen, onnx_model):
    out = ok(["compare", onnx_model, SEED, "--json"])
    assert seen.onnx_read == Counter({onnx_model: 1})
    assert sorted(seen.parsed.values()) == [1, 1] and seen.parsed[SEED.read_text()] == 1
    assert seen.inferred() == 3 == model_count(out)
    assert seen.inferred_twice() == []

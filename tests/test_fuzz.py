"""Property-based tests: whatever the spec, convcost exits 0 or 1 with well-formed messages, fast.

Specs are generated valid and broken: random YAML values of every type, YAML-like text and
bytes, layer lists with random keys, values, blocks, templates and wiring. Each example runs
the CLI in-process (typer's CliRunner, so an exception fails the test with its traceback);
a few run as real processes. Valid stacks of conv and pool layers must give the totals of a
formula computed here. Every example must finish within the hypothesis deadline.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conv_cost.cli import app
from conv_cost.errors import MAX_PROBLEMS
from conv_cost.layers import ALIASES, LAYERS, spec_keys

# Per example; a generated spec is read in milliseconds, so this only catches hangs and blow-ups.
# CONVCOST_FUZZ_EXAMPLES=5000 runs a longer search locally; CI keeps the suite to well under a minute.
FUZZ = settings(deadline=timedelta(seconds=3), max_examples=int(os.environ.get("CONVCOST_FUZZ_EXAMPLES", "150")),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ERROR_LINE = re.compile(r"(<stdin>|[^\s:]+):[1-9]\d*:[1-9]\d*: error: \S")
NOTE_LINE = re.compile(r"(<stdin>|[^\s:]+): note: \S")


def check(data: bytes | str, *args: str):
    """`convcost check [args] -` in-process; exceptions propagate and fail the example."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return CliRunner().invoke(app, ["check", *args, "-"], input=data, catch_exceptions=False)


INPUT_NOTE = re.compile(r"^.+:\d+:\d+: note: input \[\d+, \d+, \d+\] is read as height \d+, width \d+, channels \d+ "
                        r"\(\[H, W, C\]\); if you meant channels first, write input: \[\d+, \d+, \d+\]$")


def without_input_notes(stderr: str) -> str:
    """stderr less the notes on inputs that look channels-first (they leave the result as it is)."""
    return "".join(line for line in stderr.splitlines(keepends=True) if not INPUT_NOTE.match(line))


def assert_clean(result) -> None:
    """Exit 0 with nothing but input notes, or exit 1 with only FILE:LINE:COL error lines (and at most one note)."""
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code == 0:
        assert (result.stdout, without_input_notes(result.stderr)) == ("", "")
        return
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert 1 <= len(lines) <= MAX_PROBLEMS + 1, lines
    errors = [line for line in lines if ERROR_LINE.match(line)]
    notes = [line for line in lines if NOTE_LINE.match(line)]
    assert errors and len(errors) + len(notes) == len(lines) and len(notes) <= 1, lines
    if notes:
        assert lines[-1] == notes[0]


# ---------------------------------------------------------------------------- YAML values and text

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20))
yaml_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10) | st.integers(), inner,
                                                                max_size=5),
    max_leaves=30)
SPEC_KEYS = ["name", "description", "input", "layers", "models", "blocks", "type", "filters", "kernel", "stride",
             "padding", "inputs", "branches", "body", "times", "params", "units", "merge", "shortcut"]
spec_like_values = st.recursive(
    scalars | st.sampled_from([*LAYERS, *ALIASES, "parallel", "residual", "repeat", "same", "valid"]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(SPEC_KEYS), inner, max_size=6),
    max_leaves=40)


@FUZZ
@given(yaml_values | spec_like_values)
def test_any_yaml_value(value):
    text = yaml.safe_dump(value, allow_unicode=True)
    assert_clean(check(text))


TOKENS = ["\n", "\n  ", "\n    ", " ", "- ", ": ", ", ", "{", "}", "[", "]", "'", '"', "#", "|", ">", "\t", "?",
          "input", "layers", "models", "blocks", "type", "conv", "relu", "repeat", "times", "body", "name",
          "inputs", "filters", "kernel", "params", "8", "3", "0", "-1", "017", "0x1f", "1e3", "4.0", "yes", "no",
          "on", "~", "null", ".inf", "&a ", "*a", "<<", "!!python/object ", "!!binary ", "!x ", "${c}", "${",
          "%YAML 1.1\n", "---\n", "...\n", "é", "\x00", "\x07", "\ufeff", "\\", "@", "`"]


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_yaml_like_text(text):
    assert_clean(check(text))


@FUZZ
@given(st.binary(max_size=200) | st.lists(st.sampled_from([t.encode() for t in TOKENS] + [b"\xff", b"\xe9", b"\xc3"]),
                                          max_size=40).map(b"".join))
def test_arbitrary_bytes(data):
    assert_clean(check(data))


# ---------------------------------------------------------------------------- generated specs


@dataclass(frozen=True)
class Raw:
    """Text written into the YAML as it is: `yes`, `017`, `*a`, a tag..."""

    text: str


def emit(v) -> str:
    """Flow-style YAML of a value; mappings are lists of pairs so keys may repeat."""
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, Pairs):
        return "{" + ", ".join(f"{emit_key(k)}: {emit(x)}" for k, x in v.items) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(emit(x) for x in v) + "]"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if not isinstance(v, float) or math.isfinite(v) else ".nan" if v != v else ".inf"
    return json.dumps(v)  # a double-quoted YAML string


def emit_key(k) -> str:
    if isinstance(k, Raw):
        return k.text
    return k if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) else json.dumps(k)


@dataclass(frozen=True)
class Pairs:
    items: tuple


ODD_SCALARS = st.sampled_from([Raw(t) for t in ("yes", "no", "on", "off", "017", "0x1f", "0o17", "1e3", "4.0", "~",
                                                 "!!python/object:os.system x", "!!binary aGk=", "!x 3", "*nope",
                                                 "1_000", "-0", "'${c}'", '"${c * 2}"', '"${c // 0}"', '"${nope}"',
                                                 '"${("')])
NAMES = st.sampled_from(["a", "b", "c", "conv1", "relu1", "input", "x/y", "", "r", "blk"])
TYPES = st.sampled_from([*LAYERS, *ALIASES, "parallel", "residual", "repeat", "t1", "t2", "cnov", "Conv", "bogus"])
KINDS = {"count": st.integers(min_value=1, max_value=8), "pair": st.integers(min_value=1, max_value=5)
         | st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=2),
         "padding": st.sampled_from(["same", "valid", 0, 1, 2, [1, 0], [0, 1, 1, 0], [1, 2, 3], "sam"]),
         "bool": st.booleans(), "count0": st.integers(min_value=0, max_value=3),
         "pair0": st.integers(min_value=0, max_value=2) | st.lists(st.integers(min_value=0, max_value=2), min_size=2,
                                                                   max_size=2),
         "choice": st.sampled_from(["nearest", "bilinear", "cubic", 3]),
         "range": st.lists(st.integers(min_value=-1, max_value=9), min_size=2, max_size=3)}
any_value = scalars | ODD_SCALARS | st.lists(st.integers(min_value=-1, max_value=9), max_size=3)


CLEAN_LAYERS = [t for t in [*LAYERS, *ALIASES] if LAYERS[ALIASES.get(t, t)][0].arity == 1]
CLEAN_TYPES = st.sampled_from(CLEAN_LAYERS + ["parallel", "residual", "repeat", "t1"])
CLEAN_KINDS = {"count": st.integers(min_value=1, max_value=8), "pair": st.integers(min_value=1, max_value=3),
               "padding": st.just("same"), "bool": st.booleans(), "count0": st.just(0), "pair0": st.just(0),
               "choice": st.just("nearest"), "range": st.just([0, 1])}


@st.composite
def layer_item(draw, lists, clean: bool):
    """One item of a layer list: a layer with its keys, a block, or a template use; if not clean,
    anything may be wrong with it."""
    # Without lists to nest (the leaves of the recursion) only plain layers.
    type_name = draw(st.sampled_from(CLEAN_LAYERS) if lists is None else CLEAN_TYPES if clean else TYPES)
    pairs: list = [("type", type_name)] if clean or draw(st.integers(0, 19)) else []
    canon = ALIASES.get(type_name, type_name)
    if canon in LAYERS:
        cls, _ = LAYERS[canon]
        for key, (kind, required) in spec_keys(cls).items():
            if clean and (key == "groups" or (canon in ("maxpool", "avgpool") and key == "padding")):
                continue  # these must fit the shapes: left to the messy half
            if required or draw(st.booleans()):
                pairs.append((key, draw(CLEAN_KINDS[kind] if clean else KINDS[kind] if draw(st.integers(0, 7))
                                        else any_value)))
    elif canon == "parallel":
        pairs.append(("branches", draw(st.lists(lists, min_size=1, max_size=3))))
        if clean or draw(st.booleans()):
            pairs.append(("merge", "concat" if clean else draw(st.sampled_from(["concat", "add", "mul"]))))
    elif canon == "residual":
        pairs.append(("body", draw(lists)))
        if draw(st.booleans()):
            pairs.append(("shortcut", draw(lists)))
    elif canon == "repeat":
        pairs.append(("times", draw(st.integers(1, 3) if clean else st.integers(0, 3) | any_value)))
        pairs.append(("body", draw(lists)))
    elif canon in ("t1", "t2"):
        if clean or draw(st.booleans()):
            pairs.append(("c", draw(st.integers(1, 8) if clean else st.integers(1, 8) | any_value)))
    if clean:
        return Pairs(tuple(pairs))
    if draw(st.booleans()):
        pairs.append(("name", draw(NAMES)))
    if draw(st.integers(0, 3)) == 0:
        pairs.append(("inputs", draw(NAMES | st.lists(NAMES, max_size=3))))
    if draw(st.integers(0, 9)) == 0:  # a random, duplicate or odd key
        pairs.append((draw(st.sampled_from(["colour", "filters", "type", "strides", Raw("<<"), Raw("3"), Raw("? [a]")])),
                      draw(any_value)))
    return Pairs(tuple(draw(st.permutations(pairs))))


layer_lists = st.recursive(st.just([]), lambda lists: st.lists(layer_item(lists, False), min_size=1, max_size=4),
                           max_leaves=12)
# Empty lists only as parallel branches (the identity); a residual or repeat body needs layers.
clean_layer_lists = st.recursive(st.lists(layer_item(None, True), min_size=1, max_size=3),
                                 lambda lists: st.lists(layer_item(lists, True), min_size=1, max_size=4),
                                 max_leaves=12)
inputs = (st.lists(st.integers(min_value=1, max_value=32), min_size=3, max_size=3)
          | st.lists(st.integers(min_value=-2, max_value=40), max_size=4) | any_value)


@st.composite
def specs(draw) -> str:
    """A whole spec: templates, input, and layers or models; about half are valid, the rest broken."""
    if draw(st.booleans()):
        return draw(clean_specs())
    top: list = []
    if draw(st.booleans()):
        templates = []
        for name in draw(st.lists(st.sampled_from(["t1", "t2", "conv"]), max_size=2, unique=True)):
            params = Pairs((("c", draw(st.none() | st.integers(1, 8) | any_value)),))
            body = draw(st.lists(st.sampled_from([
                Pairs((("type", "conv"), ("filters", '${c}'), ("kernel", 1))),
                Pairs((("type", "conv"), ("filters", '${c * 2 - 1}'), ("kernel", '${c // 4 + 1}'))),
                Pairs((("type", "relu"), ("name", 'r_${c}'))),
                Pairs((("type", "t1"), ("c", '${c + 1}'))),
                Pairs((("type", "t2"),)),
                Pairs((("type", "repeat"), ("times", '${c}'), ("body", [Pairs((("type", "bn"),))]))),
            ]), max_size=3))
            templates.append((name, Pairs((("params", params), ("layers", body)))))
        top.append(("blocks", Pairs(tuple(templates))))
    if draw(st.integers(0, 9)):
        top.append(("input", draw(inputs)))
    if draw(st.integers(0, 3)):
        top.append(("layers", draw(layer_lists)))
    else:
        top.append(("models", [Pairs((("name", draw(NAMES)), ("layers", draw(layer_lists))))
                               for _ in range(draw(st.integers(0, 3)))]))
    if draw(st.integers(0, 9)) == 0:
        top.append((draw(st.sampled_from(["layer", "input", "name", "model"])), draw(any_value)))
    return emit(Pairs(tuple(draw(st.permutations(top)))))


@st.composite
def clean_specs(draw) -> str:
    """A spec without mistakes of its own (shapes may still not fit): template t1, input, layers."""
    body = [Pairs((("type", "conv"), ("filters", "${c}"), ("kernel", 1))), Pairs((("type", "relu"),))]
    templates = Pairs((("t1", Pairs((("params", Pairs((("c", 4),))), ("layers", body)))),))
    shape = [draw(st.integers(4, 32)), draw(st.integers(4, 32)), draw(st.integers(1, 8))]
    if draw(st.booleans()):
        return emit(Pairs((("blocks", templates), ("input", shape), ("layers", draw(clean_layer_lists)))))
    models = [Pairs((("layers", draw(clean_layer_lists)),)) for _ in range(draw(st.integers(1, 3)))]
    return emit(Pairs((("blocks", templates), ("input", shape), ("models", models))))


@FUZZ
@given(specs())
def test_generated_specs(text):
    result = check(text)
    assert_clean(result)
    assert_clean(check(text, "--max-layers", "5"))
    if result.exit_code == 0:  # what checks must also count, compare and explain
        for command in (["report", "--json"], ["report"], ["compare", "--json"], ["explain", "--json"]):
            run = CliRunner().invoke(app, [*command, "-"], input=text.encode(), catch_exceptions=False)
            assert (run.exit_code, without_input_notes(run.stderr)) == (0, ""), command
            assert run.stdout


@st.composite
def wired_graphs(draw) -> str:
    """Layers named l0.. reading random earlier, later, unknown names or the input: random DAGs and worse."""
    n = draw(st.integers(1, 12))
    lines = [f"input: [{draw(st.integers(1, 8))}, {draw(st.integers(1, 8))}, {draw(st.integers(1, 8))}]", "layers:"]
    for i in range(n):
        type_name = draw(st.sampled_from(["relu", "add", "concat", "conv", "gap", "flatten", "fc", "maxpool", "bn"]))
        pool = [f"l{j}" for j in range(n)] + ["input", "missing"]
        refs = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        keys = {"conv": ", filters: 4, kernel: 1", "fc": ", units: 3", "maxpool": ", kernel: 2"}.get(type_name, "")
        wiring = f", inputs: [{', '.join(refs)}]" if type_name in ("add", "concat") or draw(st.booleans()) else ""
        lines.append(f"  - {{type: {type_name}, name: l{i}{keys}{wiring}}}")
    return "\n".join(lines) + "\n"


@FUZZ
@given(wired_graphs())
def test_random_wiring(text):
    assert_clean(check(text))


# ---------------------------------------------------------------------------- valid stacks: totals by formula


def axis(size: int, k: int, s: int, p, d: int = 1) -> int:
    """PyTorch's output length (TensorFlow's for 'same'), written out independently of layers.py."""
    if p == "same":
        return -(-size // s)
    pad = 0 if p == "valid" else p
    return (size + 2 * pad - d * (k - 1) - 1) // s + 1


@st.composite
def stack_on(draw, h: int, w: int, c: int):
    """A valid stack of conv/maxpool/avgpool/relu layers on an HxWxC input, its totals and output shape."""
    layers, params, macs, flops, acts = [], 0, 0, 0, 0
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["conv", "conv", "maxpool", "avgpool", "relu"]))
        if op == "relu":
            layers.append({"type": "relu"})
            flops, acts = flops + h * w * c, acts + h * w * c
            continue
        kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        if op == "conv":
            pad = draw(st.sampled_from(["same", "valid", 0, 1, 2]))
            d = draw(st.integers(1, 2))
            f, bias = draw(st.integers(1, 16)), draw(st.booleans())
            ho, wo = axis(h, kh, sh, pad, d), axis(w, kw, sw, pad, d)
            if ho < 1 or wo < 1:
                continue
            layers.append({"type": "conv", "filters": f, "kernel": [kh, kw], "stride": [sh, sw], "padding": pad,
                           "dilation": d, "bias": bias})
            m = ho * wo * f * kh * kw * c
            params += kh * kw * c * f + (f if bias else 0)
            macs += m
            flops += 2 * m + (ho * wo * f if bias else 0)
            h, w, c = ho, wo, f
        else:
            pad = draw(st.integers(0, min(kh, kw) // 2))
            ho, wo = axis(h, kh, sh, pad), axis(w, kw, sw, pad)
            if ho < 1 or wo < 1:
                continue
            layers.append({"type": op, "kernel": [kh, kw], "stride": [sh, sw], "padding": pad})
            per_output = kh * kw - 1 if op == "maxpool" else kh * kw
            flops += per_output * ho * wo * c
            h, w = ho, wo
        acts += h * w * c
    return layers, {"params": params, "buffers": 0, "macs": macs, "flops": flops, "activations": acts}, (h, w, c)


@FUZZ
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 16), st.data())
def test_conv_pool_totals_match_the_formula(h, w, c, data):
    layers, expected, out = data.draw(stack_on(h, w, c))
    text = yaml.safe_dump({"input": [h, w, c], "layers": layers}, sort_keys=False)
    result = CliRunner().invoke(app, ["report", "--json", "-"], input=text, catch_exceptions=False)
    assert (result.exit_code, without_input_notes(result.stderr)) == (0, ""), text
    [model] = json.loads(result.stdout)["models"]
    assert {k: model["totals"][k] for k in expected} == expected
    assert (model["output"]["height"], model["output"]["width"], model["output"]["channels"]) == out
    assert len(model["layers"]) == len(layers)


# ---------------------------------------------------------------------------- a few real processes


@settings(FUZZ, max_examples=5, deadline=timedelta(seconds=30))
@given(specs())
def test_generated_specs_in_a_real_process(text):
    p = subprocess.run([sys.executable, "-m", "conv_cost", "check", "-"], input=text.encode("utf-8", "surrogatepass"),
                       capture_output=True, timeout=60)

    @dataclass
    class Result:
        exit_code: int
        stdout: str
        stderr: str

    assert_clean(Result(p.returncode, p.stdout.decode(), p.stderr.decode()))

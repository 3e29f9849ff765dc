"""`convcost compare` through the CLI: golden table and JSON output, every flag, every error path.

Golden files live in tests/golden/compare/; `UPDATE_GOLDEN=1 pytest` rewrites them.
"""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from conv_cost.cli import app
from conv_cost.transforms import TRANSFORMS

from .conftest import GOLDEN, INCEPTION, ROOT, SEED, check_golden

SINGLE_NAIVE = "tests/golden/compare/single_naive.yaml"
SINGLE_BOTTLENECK = "tests/golden/compare/single_bottleneck.yaml"
MOBILE = "tests/golden/compare/mobile.yaml"
GROUPED = "tests/golden/compare/grouped.yaml"
ROLES = "tests/golden/compare/roles.yaml"

NAIVE_MACS = 28 * 28 * 32 * 5 * 5 * 256                               # 160,563,200
BOTTLENECK_MACS = 28 * 28 * 16 * 256 + 28 * 28 * 32 * 5 * 5 * 16        # 13,246,464


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    # The spec paths below stay relative, as a user types them, so outputs and messages are stable.
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("NO_COLOR", raising=False)


def run(*args, input=None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def ok(*args, input=None, command="compare") -> str:
    """stdout of a successful `convcost compare ARGS` (or another command)."""
    result = run(command, *args, input=input)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


GOLDEN_CASES = {
    "seed.txt": [SEED],
    "seed.json": [SEED, "--json"],
    "seed_exact.txt": [SEED, "--exact"],
    "seed_by_layer.txt": [SEED, "--by-layer"],
    "seed_by_layer.json": [SEED, "--by-layer", "--format", "json"],
    "seed_with_and_without.txt": [SEED, "--with-bottlenecks", "--reduce-to", "16", "--without-bottlenecks"],
    "inception.json": [INCEPTION, "--json"],
    "inception_by_layer.txt": [INCEPTION, "--by-layer"],
    "two_files.txt": [SEED, INCEPTION],
    "single_naive.txt": [SINGLE_NAIVE],
    "single_naive_reduce_2.txt": [SINGLE_NAIVE, "--reduce", "2", "--by-layer"],
    "single_bottleneck.txt": [SINGLE_BOTTLENECK, "--by-layer"],
    "single_bottleneck.json": [SINGLE_BOTTLENECK, "-f", "json"],
    "mobile_standard_conv.txt": [MOBILE, "--standard-conv", "--by-layer"],
    "mobile_fc_head.txt": [MOBILE, "--fc-head", "--by-layer"],
    "mobile_all.json": [MOBILE, "--standard-conv", "--fc-head", "--with-bottlenecks", "--without-bottlenecks",
                        "--json"],
}


@pytest.mark.parametrize("name", list(GOLDEN_CASES))
def test_golden(name):
    check_golden(f"compare/{name}", ok(*GOLDEN_CASES[name]))


@pytest.mark.parametrize("key", list(TRANSFORMS))
def test_every_transform_flag_has_a_golden_case(key):
    assert any(TRANSFORMS[key].flag in args for args in GOLDEN_CASES.values())


def test_json_goldens_are_json():
    for name in GOLDEN_CASES:
        if name.endswith(".json"):
            assert json.loads((GOLDEN / "compare" / name).read_text())["schema"] == "convcost.compare/1"


# ----------------------------------------------------------------------------- the headline

CONTRACT_TOTALS = ("params", "buffers", "macs", "flops", "activations")


def test_seed_shows_the_saving():
    out = ok(SEED)
    assert re.search(r"MACs \(multiply-adds\)\s+│\s+160\.56M │\s+13\.25M │ 12\.1x fewer", out)
    assert "bottleneck: 12.1x fewer MACs than naive (160.56M -> 13.25M)" in out
    assert "FLOPs" in out and "flops" not in out.lower().replace("flops", "")


def test_seed_exact():
    out = ok(SEED, "--exact")
    assert "160,563,200" in out and "13,246,464" in out


def test_seed_json():
    data = json.loads(ok(SEED, "--json"))
    assert data["schema"] == "convcost.compare/1" and data["baseline"] == "naive"
    naive, bottleneck = data["models"]
    contract = ("params", "buffers", "macs", "flops", "activations")
    assert {k: naive["totals"][k] for k in contract} == {
        "params": 5 * 5 * 256 * 32 + 32, "buffers": 0, "macs": NAIVE_MACS, "flops": 2 * NAIVE_MACS + 28 * 28 * 32,
        "activations": 28 * 28 * 32}
    assert bottleneck["totals"]["macs"] == BOTTLENECK_MACS
    # The contract's ratios and, added, those of the bytes and the peak (no time without a roofline).
    assert naive["ratio"] == {"params": 1.0, "buffers": 1.0, "macs": 1.0, "flops": 1.0, "activations": 1.0,
                              "weight_bytes": 1.0, "read_bytes": 1.0, "write_bytes": 1.0,
                              "peak_activation_bytes": 1.0}
    # Peaks: naive holds the input and its output (802,816 + 100,352 bytes); the bottleneck the input
    # and the 1x1's output while the 1x1 runs (802,816 + 50,176).
    assert bottleneck["ratio"]["peak_activation_bytes"] == (802_816 + 50_176) / (802_816 + 100_352)
    assert bottleneck["ratio"]["macs"] == BOTTLENECK_MACS / NAIVE_MACS
    assert bottleneck["ratio"]["params"] == (256 * 16 + 16 + 5 * 5 * 16 * 32 + 32) / (5 * 5 * 256 * 32 + 32)
    assert "layers" not in data


def test_json_and_format_json_agree():
    assert ok(SEED, "--json") == ok(SEED, "--format", "json") == ok(SEED, "-f", "json", "--exact")


def test_inception_exact_totals_in_json():
    data = json.loads(ok(INCEPTION, "--json"))
    reduced, naive = data["models"]
    assert data["baseline"] == "reduced"
    # Table 1 of the GoogLeNet paper, inception (3a) on 28x28x192.
    reduced_macs = 28 * 28 * (64 * 192 + 96 * 192 + 128 * 3 * 3 * 96 + 16 * 192 + 32 * 5 * 5 * 16 + 32 * 192)
    naive_macs = 28 * 28 * (64 * 192 + 128 * 3 * 3 * 192 + 32 * 5 * 5 * 192 + 32 * 192)
    assert reduced["totals"]["macs"] == reduced_macs == 128_049_152
    assert naive["totals"]["macs"] == naive_macs == 308_281_344
    reduced_params = (64 * 192 + 64) + (96 * 192 + 96) + (128 * 9 * 96 + 128) + (16 * 192 + 16) \
        + (32 * 25 * 16 + 32) + (32 * 192 + 32)
    assert reduced["totals"]["params"] == reduced_params
    assert naive["ratio"]["macs"] == naive_macs / reduced_macs
    assert reduced["output"] == naive["output"] == {"height": 28, "width": 28, "channels": 256}


def test_inception_by_layer_json_lines_up_the_reductions():
    data = json.loads(ok(INCEPTION, "--json", "--by-layer"))
    rows = {row["name"]: row["models"] for row in data["layers"]}
    assert rows["inception_3a/b2/3x3_reduce"][1] is None
    assert rows["inception_3a/b2/3x3_reduce"][0]["role"] == "reduce"
    assert rows["inception_3a/b3/5x5"][0]["macs"] == 28 * 28 * 32 * 5 * 5 * 16
    assert rows["inception_3a/b3/5x5"][1]["macs"] == 28 * 28 * 32 * 5 * 5 * 192


def test_two_files_side_by_side():
    data = json.loads(ok(SEED, INCEPTION, "--json"))
    assert [m["name"] for m in data["models"]] == ["naive", "bottleneck", "reduced", "naive (2)"]
    assert data["baseline"] == "naive"
    assert data["models"][2]["ratio"]["macs"] == 128_049_152 / NAIVE_MACS


def test_stdin_is_a_spec():
    text = (ROOT / SINGLE_NAIVE).read_text()
    assert ok("-", input=text) == ok(SINGLE_NAIVE)


# ----------------------------------------------------------------------------- each flag

def models_of(*args):
    return {m["name"]: m for m in json.loads(ok(*args, "--json"))["models"]}


def test_seed_with_bottlenecks_reduce_to_16_is_the_bottleneck_model():
    models = models_of(SEED, "--with-bottlenecks", "--reduce-to", "16")
    assert list(models) == ["naive", "naive with bottlenecks", "bottleneck"]
    assert models["naive with bottlenecks"]["totals"]["macs"] == BOTTLENECK_MACS == 13_246_464
    assert models["naive with bottlenecks"]["totals"] == models["bottleneck"]["totals"]
    assert models["naive with bottlenecks"]["variant_of"] == "naive"
    assert models["naive with bottlenecks"]["transform"] == "add_bottlenecks"


def test_seed_without_bottlenecks_is_the_naive_model():
    models = models_of(SEED, "--without-bottlenecks")
    assert list(models) == ["naive", "bottleneck", "bottleneck without bottlenecks"]
    assert models["bottleneck without bottlenecks"]["totals"]["macs"] == NAIVE_MACS == 160_563_200
    assert models["bottleneck without bottlenecks"]["totals"] == models["naive"]["totals"]


@pytest.mark.parametrize("args, channels", [
    ([], 256 // 4), (["--reduce", "8"], 256 // 8), (["--reduce-to", "16"], 16), (["--with-bottlenecks"], 256 // 4),
])
def test_single_naive_gets_bottlenecks(args, channels):
    models = models_of(SINGLE_NAIVE, *args)
    assert list(models) == ["naive 5x5", "naive 5x5 with bottlenecks"]
    assert models["naive 5x5 with bottlenecks"]["totals"]["macs"] == \
        28 * 28 * channels * 256 + 28 * 28 * 32 * 5 * 5 * channels


def test_single_bottleneck_loses_it_with_its_bn_and_relu():
    models = models_of(SINGLE_BOTTLENECK)
    variant = models["reduced 5x5 without bottlenecks"]
    assert {k: variant["totals"][k] for k in CONTRACT_TOTALS} == {"params": 5 * 5 * 256 * 32 + 32, "buffers": 0,
                                                                  "macs": NAIVE_MACS,
                                 "flops": 2 * NAIVE_MACS + 28 * 28 * 32 + 28 * 28 * 32,   # bias + relu5x5
                                 "activations": 2 * 28 * 28 * 32}
    assert variant["description"] == "removed reduce, reduce_bn, reduce_relu; changed conv5x5"


def test_single_model_with_an_explicit_flag_gets_only_that_variant():
    models = models_of(SINGLE_BOTTLENECK, "--standard-conv")
    assert list(models) == ["reduced 5x5"]
    assert json.loads(ok(SINGLE_BOTTLENECK, "--standard-conv", "--json"))["notes"] == [
        "no 'reduced 5x5 with standard convs': it has no dwconv followed by a 1x1 conv"]


def test_standard_conv_on_mobile():
    models = models_of(MOBILE, "--standard-conv")
    stem = 16 * 16 * 32 * 3 * 3 * 3
    head = 64 * 10
    separable = 16 * 16 * 32 * 3 * 3 + 16 * 16 * 64 * 32
    assert models["mobile"]["totals"]["macs"] == stem + separable + head
    assert models["mobile with standard convs"]["totals"]["macs"] == stem + 16 * 16 * 64 * 3 * 3 * 32 + head


def test_fc_head_on_mobile():
    models = models_of(MOBILE, "--fc-head")
    stem_and_block_params = (3 * 3 * 3 * 32 + 2 * 32) + (3 * 3 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert models["mobile"]["totals"]["params"] == stem_and_block_params + 64 * 10 + 10
    assert models["mobile with an fc head"]["totals"]["params"] == stem_and_block_params + 16 * 16 * 64 * 10 + 10


def test_by_layer_table_lists_unmatched_layers_on_their_side():
    out = ok(SEED, "--by-layer")
    [reduce_row] = [line for line in out.splitlines() if line.startswith("│ reduce ")]
    assert reduce_row.split("│")[3].strip() == "-" and reduce_row.split("│")[-2].strip() == "bottleneck"
    assert "change in MACs" in out and "-150.53M" in out


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("args, message", [
    ([SEED, "--reduce", "2", "--reduce-to", "16"], "give --reduce or --reduce-to, not both"),
    ([SEED, "--reduce", "1"], "Invalid value for '--reduce'"),
    ([SEED, "--reduce-to", "0"], "Invalid value for '--reduce-to'"),
    ([SEED, "--reduce", "two"], "Invalid value for '--reduce'"),
    ([SEED, "--format", "yaml"], "Invalid value for '--format'"),
    ([SEED, "--with-bottleneck"], "No such option"),
    (["layer_specs/missing.yaml"], "convcost: error: cannot read 'layer_specs/missing.yaml': no such file"),
])
def test_usage_errors_exit_2(args, message):
    result = run("compare", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [[GROUPED], [GROUPED, "--without-bottlenecks"]])
def test_transform_that_breaks_a_layer_exits_1_naming_it(args):
    result = run("compare", *args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (f"{GROUPED}:6:5: error: layer 'g3x3': groups=3 must divide both the input channels "
                             "(256) and filters (48) (in model 'grouped' without its 1x1 bottlenecks)\n")


def test_grouped_model_can_still_get_other_variants():
    # The 3x3 has groups 3, so with-bottlenecks has nothing to add; the model itself compares fine.
    data = json.loads(ok(GROUPED, "--with-bottlenecks", "--json"))
    assert [m["name"] for m in data["models"]] == ["grouped"]


def test_invalid_spec_exits_1_with_position():
    result = run("compare", "-", input="input: [8, 8, 3]\nlayers:\n  - {type: conv, filters: 8}\n")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("<stdin>:3:5: error: ")
    assert "needs 'kernel'" in result.stderr


# ----------------------------------------------------------------------------- 1x1 roles in `report`

def test_report_table_has_a_role_for_every_1x1():
    out = ok(ROLES, command="report")
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines()
                                          if line.startswith("│ "))}
    [header] = [line for line in out.splitlines() if line.startswith("┃ layer")]
    assert [c.strip() for c in header.split("┃")[1:-1]][2] == "role"
    assert {name: rows[name][2] for name in ("squeeze", "mix", "spatial", "expand")} == {
        "squeeze": "reduce", "mix": "mix", "spatial": "", "expand": "expand"}


def test_report_json_has_a_role_on_1x1_layers_only():
    layers = json.loads(ok(ROLES, "--json", command="report"))["models"][0]["layers"]
    assert {layer["name"]: layer.get("role") for layer in layers} == {
        "squeeze": "reduce", "mix": "mix", "spatial": None, "expand": "expand"}
    assert "role" not in layers[2]


# ----------------------------------------------------------------------------- light and documented

def compare_options() -> list[str]:
    result = CliRunner().invoke(app, ["compare", "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    return sorted(set(re.findall(r"(--[a-z][a-z-]+)", result.stdout)) - {"--help"})


def test_help_lists_every_transform_flag():
    options = compare_options()
    for t in TRANSFORMS.values():
        assert t.flag in options
    assert {"--by-layer", "--reduce", "--reduce-to", "--json", "--format", "--exact"} <= set(options)


def test_every_compare_option_is_documented():
    # The README names every option of every command: tests/test_docs.py.
    text = (ROOT / "docs" / "compare.md").read_text(encoding="utf-8")
    missing = [o for o in compare_options() if o not in text]
    assert not missing, f"docs/compare.md does not mention {missing}"


@pytest.mark.parametrize("key", list(TRANSFORMS))
def test_every_transform_is_documented_by_name(key):
    assert key in (ROOT / "docs" / "compare.md").read_text(encoding="utf-8")

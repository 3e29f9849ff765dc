"""`convcost report`: bundled specs' totals, golden outputs, JSON schema, stdin and the real entry point."""

import json

import pytest

from conv_cost.cost import analyze
from conv_cost.spec import load_spec

from .conftest import INCEPTION, ROOT, SEED, check_golden, run_cli, run_process


def totals(path):
    return {m.name: analyze(m).totals for m in load_spec(path)}


def test_seed_bottleneck_totals():
    t = totals(SEED)
    assert t["naive"].macs == 28 * 28 * 32 * 5 * 5 * 256 == 160_563_200
    assert t["bottleneck"].macs == 28 * 28 * 16 * 1 * 1 * 256 + 28 * 28 * 32 * 5 * 5 * 16 == 13_246_464
    assert t["naive"].params == 5 * 5 * 256 * 32 + 32
    assert t["bottleneck"].params == (256 * 16 + 16) + (5 * 5 * 16 * 32 + 32)


def test_inception_3a_totals():
    # GoogLeNet Table 1, inception (3a): #1x1 64, #3x3 reduce 96, #3x3 128, #5x5 reduce 16, #5x5 32,
    # pool proj 32, on 28x28x192; the paper reports 159K params and 128M ops (MACs).
    hw = 28 * 28
    reduced = {  # name: (params with bias, MACs)
        "1x1": (192 * 64 + 64, hw * 64 * 192),
        "3x3_reduce": (192 * 96 + 96, hw * 96 * 192),
        "3x3": (9 * 96 * 128 + 128, hw * 128 * 9 * 96),
        "5x5_reduce": (192 * 16 + 16, hw * 16 * 192),
        "5x5": (25 * 16 * 32 + 32, hw * 32 * 25 * 16),
        "pool_proj": (192 * 32 + 32, hw * 32 * 192),
    }
    t = totals(INCEPTION)
    assert t["reduced"].params == sum(p for p, _ in reduced.values())
    assert t["reduced"].macs == sum(m for _, m in reduced.values()) == 128_049_152
    naive_macs = hw * 64 * 192 + hw * 128 * 9 * 192 + hw * 32 * 25 * 192 + hw * 32 * 192
    assert t["naive"].macs == naive_macs
    report = analyze(load_spec(INCEPTION)[0])
    assert str(report.output) == "28x28x256"


@pytest.mark.parametrize("spec", ["seed_bottleneck", "inception_3a"])
@pytest.mark.parametrize("fmt", ["json", "table", "exact"])
def test_golden(spec, fmt):
    args = ["report", f"layer_specs/{spec}.yaml"]
    args += ["--json"] if fmt == "json" else ["--exact"] if fmt == "exact" else []
    result = run_cli(args, cwd=ROOT)
    assert result.exit_code == 0, result.stderr
    check_golden(f"report/{spec}.{fmt}.txt", result.stdout)


SECTION_6_LAYER_KEYS = ("weight_bytes", "output_bytes", "read_bytes", "write_bytes", "intensity")


def test_json_matches_the_contract_schema_exactly():
    result = run_cli(["report", SEED, "--format", "json"])
    data = json.loads(result.stdout)
    assert set(data) == {"schema", "models"}
    assert data["schema"] == "convcost.report/1"
    naive, bottleneck = data["models"]
    # The contract's keys, and the ones added since (section 6: settings; extensions: peak).
    assert set(naive) == {"name", "description", "input", "output", "settings", "totals", "peak", "layers"}
    assert naive["input"] == {"height": 28, "width": 28, "channels": 256}
    assert naive["output"] == {"height": 28, "width": 28, "channels": 32}
    assert naive["settings"] == {"dtype": "fp32", "batch": 1, "bytes_per_element": 4}
    contract = ("params", "buffers", "macs", "flops", "activations")
    assert {k: naive["totals"][k] for k in contract} == {
        "params": 204_832, "buffers": 0, "macs": 160_563_200, "flops": 2 * 160_563_200 + 28 * 28 * 32,
        "activations": 28 * 28 * 32}
    reduce, conv = bottleneck["layers"]
    assert {k: v for k, v in conv.items() if k not in SECTION_6_LAYER_KEYS} == {
        "name": "conv5x5", "type": "conv", "inputs": ["reduce"], "output": {"height": 28, "width": 28, "channels": 32},
        "params": 5 * 5 * 16 * 32 + 32, "buffers": 0, "macs": 28 * 28 * 32 * 5 * 5 * 16,
        "flops": 2 * 28 * 28 * 32 * 5 * 5 * 16 + 28 * 28 * 32, "activations": 28 * 28 * 32,
        # added keys (the contract allows additions): a 1x1 then a 5x5 see 5x5 pixels; the layer's settings
        "receptive_field": {"size": [5, 5], "stride": [1, 1]},
        "filters": 32, "kernel": [5, 5], "stride": [1, 1], "padding": "same", "dilation": [1, 1], "groups": 1,
        "bias": True}
    assert set(SECTION_6_LAYER_KEYS) <= set(conv)
    assert reduce["role"] == "reduce" and reduce["inputs"] == ["input"]
    for model in data["models"]:
        for key in ("params", "buffers", "macs", "flops", "activations"):
            assert model["totals"][key] == sum(layer[key] for layer in model["layers"])


def test_json_and_table_totals_agree_on_stdin():
    text = SEED.read_text()
    result = run_cli(["report", "-", "--json", "--exact"], stdin=text)
    assert result.exit_code == 0
    assert [m["totals"]["macs"] for m in json.loads(result.stdout)["models"]] == [160_563_200, 13_246_464]
    table = run_cli(["report", "-", "--exact"], stdin=text).stdout
    assert "160,563,200" in table and "13,246,464" in table


def test_stdin_model_name_defaults_to_stdin():
    result = run_cli(["report", "-", "--json"], stdin="input: [4, 4, 1]\nlayers: [{type: relu}]\n")
    assert json.loads(result.stdout)["models"][0]["name"] == "stdin"


def test_several_files_are_reported_in_order():
    data = json.loads(run_cli(["report", INCEPTION, SEED, "--json"]).stdout)
    assert [m["name"] for m in data["models"]] == ["reduced", "naive", "naive", "bottleneck"]


def test_real_entry_point_shows_both_models_without_colour_when_piped():
    result = run_process(["report", SEED])
    assert result.exit_code == 0 and result.stderr == ""
    assert "naive" in result.stdout and "bottleneck" in result.stdout
    assert "160.56M" in result.stdout and "13.25M" in result.stdout
    assert "\x1b[" not in result.stdout


def test_version():
    from conv_cost import __version__
    assert run_cli(["--version"]).stdout == f"convcost {__version__}\n"

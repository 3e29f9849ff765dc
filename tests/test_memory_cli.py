"""Section 6 of the contract on the command line: --dtype, --batch, --input, the roofline options and
sweep, with the seed's figures worked out by hand here (tests/test_memory.py checks the rules)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from .conftest import SEED, SPECS, run_cli

IN = 28 * 28 * 256          # the seed's input elements
NAIVE_OUT = 28 * 28 * 32
REDUCE_OUT = 28 * 28 * 16
NAIVE = dict(params=5 * 5 * 256 * 32 + 32, flops=2 * 28 * 28 * 32 * 5 * 5 * 256 + NAIVE_OUT)
REDUCE = dict(params=256 * 16 + 16, flops=2 * 28 * 28 * 16 * 256 + REDUCE_OUT)
CONV = dict(params=5 * 5 * 16 * 32 + 32, flops=2 * 28 * 28 * 32 * 5 * 5 * 16 + NAIVE_OUT)


def report(*args: str) -> dict:
    result = run_cli(["report", SEED, "--json", *args])
    assert result.exit_code == 0, result.stderr
    return {m["name"]: m for m in json.loads(result.stdout)["models"]}


def expected(layer: dict, inputs: int, out: int, b: int, n: int) -> dict:
    weight = layer["params"] * b
    return {"weight_bytes": weight, "output_bytes": out * n * b, "read_bytes": inputs * n * b + weight,
            "write_bytes": out * n * b}


@pytest.mark.parametrize("args, b, n", [((), 4, 1), (("--dtype", "fp16", "--batch", "8"), 2, 8),
                                        (("--dtype", "int8",), 1, 1), (("--dtype", "bf16", "--batch", "3"), 2, 3)])
def test_the_seeds_bytes_by_hand(args, b, n):
    models = report(*args)
    naive, bottleneck = models["naive"], models["bottleneck"]
    assert naive["settings"] == {"dtype": {4: "fp32", 1: "int8"}.get(b, args[1] if args else "fp32"), "batch": n,
                                 "bytes_per_element": b}
    [conv] = naive["layers"]
    assert {k: conv[k] for k in expected(NAIVE, IN, NAIVE_OUT, b, n)} == expected(NAIVE, IN, NAIVE_OUT, b, n)
    assert conv["flops"] == NAIVE["flops"] * n and conv["macs"] == 28 * 28 * 32 * 5 * 5 * 256 * n
    assert conv["intensity"] == NAIVE["flops"] * n / (IN * n * b + NAIVE["params"] * b + NAIVE_OUT * n * b)
    reduce, conv5 = bottleneck["layers"]
    assert {k: reduce[k] for k in expected(REDUCE, IN, REDUCE_OUT, b, n)} == expected(REDUCE, IN, REDUCE_OUT, b, n)
    assert {k: conv5[k] for k in expected(CONV, REDUCE_OUT, NAIVE_OUT, b, n)} == expected(CONV, REDUCE_OUT,
                                                                                          NAIVE_OUT, b, n)
    # Peaks: the naive model holds its input and output while its conv runs; the bottleneck model holds
    # the input and the 1x1's output while the 1x1 runs (the input is dead once it has run).
    assert naive["totals"]["peak_activation_bytes"] == (IN + NAIVE_OUT) * n * b
    assert bottleneck["totals"]["peak_activation_bytes"] == (IN + REDUCE_OUT) * n * b
    assert bottleneck["peak"]["layer"] == "reduce"
    assert [t["tensor"] for t in bottleneck["peak"]["live"]] == ["input", "reduce"]
    for model in (naive, bottleneck):
        for key in ("weight_bytes", "output_bytes", "read_bytes", "write_bytes"):
            assert model["totals"][key] == sum(layer[key] for layer in model["layers"])
        t = model["totals"]
        assert t["intensity"] == t["flops"] / (t["read_bytes"] + t["write_bytes"])
        assert t["params"] == sum(layer["params"] for layer in model["layers"])  # weights do not scale with N


def test_the_seed_at_320x320_int8():
    naive = report("--input", "320,320", "--dtype", "int8")["naive"]
    assert naive["input"] == {"height": 320, "width": 320, "channels": 256}
    [conv] = naive["layers"]
    assert conv["macs"] == 320 * 320 * 32 * 5 * 5 * 256
    assert conv["read_bytes"] == 320 * 320 * 256 + NAIVE["params"]
    assert naive["totals"]["peak_activation_bytes"] == 320 * 320 * (256 + 32)


def test_the_roofline_by_hand():
    # 10 TFLOP/s and 100 GB/s: the ridge is at 100 FLOPs per byte.
    models = report("--peak-tflops", "10", "--bandwidth-gbs", "100")
    [conv] = models["naive"]["layers"]
    naive_bytes = IN * 4 + NAIVE["params"] * 4 + NAIVE_OUT * 4 + NAIVE_OUT * 4
    assert conv["bound"] == "compute"  # 186 FLOPs per byte
    assert conv["time_s"] == float(Fraction(NAIVE["flops"], 10**13))
    assert naive_bytes / 10**11 < NAIVE["flops"] / 10**13
    reduce, conv5 = models["bottleneck"]["layers"]
    assert (reduce["bound"], conv5["bound"]) == ("memory", "memory")  # 7.4 and 99.6 FLOPs per byte
    assert reduce["time_s"] == float(Fraction(reduce["read_bytes"] + reduce["write_bytes"], 10**11))
    total = Fraction(reduce["read_bytes"] + reduce["write_bytes"] + conv5["read_bytes"] + conv5["write_bytes"], 10**11)
    assert models["bottleneck"]["totals"]["time_s"] == float(total)


def test_a_tie_on_the_roofline_is_compute():
    # 1x1x1 input, a 1x1 conv with 1 filter, no bias: 2 FLOPs; reads 1 element and 1 weight, writes 1: 3 bytes
    # at int8. At 0.002 TFLOP/s (2*10^9 FLOP/s) and 3 GB/s both terms are exactly 10^-9 s.
    text = "input: [1, 1, 1]\nlayers: [{type: conv, filters: 1, kernel: 1, bias: false}]\n"
    result = run_cli(["report", "-", "--json", "--dtype", "int8", "--peak-tflops", "0.002", "--bandwidth-gbs",
                      "3"], stdin=text)
    [layer] = json.loads(result.stdout)["models"][0]["layers"]
    assert (layer["flops"], layer["read_bytes"] + layer["write_bytes"]) == (2, 3)
    assert layer["bound"] == "compute" and layer["time_s"] == 1e-9


def test_compare_puts_the_time_next_to_the_macs():
    result = run_cli(["compare", SEED, "--device", "rtx-4090"])
    assert result.exit_code == 0
    assert "bottleneck: 12.1x fewer MACs than naive (160.56M -> 13.25M), 3.5x less time" in result.stdout
    data = json.loads(run_cli(["compare", SEED, "--device", "rtx-4090", "--json"]).stdout)
    naive, bottleneck = data["models"]
    assert bottleneck["ratio"]["time_s"] == pytest.approx(bottleneck["totals"]["time_s"] / naive["totals"]["time_s"])
    assert naive["settings"]["device"] == "rtx-4090"


@pytest.mark.parametrize("args, message", [
    (["--dtype", "fp64"], "'fp64' is not one of"),
    (["--batch", "0"], "0 is not in the range x>=1"),
    (["--input", "224"], "--input takes H,W or H,W,C (positive integers), e.g. 320,320; got '224'"),
    (["--peak-tflops", "10"], "--peak-tflops and --bandwidth-gbs go together"),
    (["--device", "rtx4090"], "unknown device 'rtx4090'; choose one of"),
    (["--device", "rtx-4090", "--peak-tflops", "1", "--bandwidth-gbs", "1"], "give --device or --peak-tflops"),
    (["--peak-tflops", "ten", "--bandwidth-gbs", "1"], "must be a positive decimal number"),
    (["--device", "jetson-orin-nano-8gb"], "has no fp32 peak in the table"),
])
def test_bad_run_options_are_usage_errors(args, message):
    result = run_cli(["report", SEED, *args])
    assert result.exit_code == 2
    assert message in result.stderr + result.stdout


def test_an_input_a_layer_no_longer_fits_names_the_layer():
    result = run_cli(["report", SPECS / "alexnet.yaml", "--input", "32,32"])
    assert result.exit_code == 1
    line = result.stderr.splitlines()[0]
    assert "error: layer '" in line and "(with --input 32,32,3)" in line


def test_sweep_rows_by_hand():
    result = run_cli(["sweep", SEED, "--sizes", "28,14x7", "--batches", "1,2", "--dtypes", "fp32,fp16", "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "convcost.sweep/1"
    rows = data["rows"]
    assert len(rows) == 2 * 2 * 2 * 2  # models x sizes x batches x dtypes
    row = next(r for r in rows if r["model"] == "naive" and r["input"]["height"] == 14 and r["batch"] == 2
               and r["dtype"] == "fp16")
    assert row["input"] == {"height": 14, "width": 7, "channels": 256}
    assert row["totals"]["macs"] == 14 * 7 * 32 * 5 * 5 * 256 * 2
    assert row["totals"]["peak_activation_bytes"] == 14 * 7 * (256 + 32) * 2 * 2


def test_sweep_names_the_layer_and_the_size_that_no_longer_fits():
    result = run_cli(["sweep", SPECS / "alexnet.yaml", "--sizes", "224,32"])
    assert result.exit_code == 1
    assert "(at input 32x32)" in result.stderr.splitlines()[0]


@pytest.mark.parametrize("args", [["--sizes", "0"], ["--sizes", "224", "--batches", "x"],
                                  ["--sizes", "224", "--dtypes", "fp33"]])
def test_bad_sweep_lists_are_usage_errors(args):
    assert run_cli(["sweep", SEED, *args]).exit_code == 2


def test_explain_derives_the_bytes_and_the_peak():
    result = run_cli(["explain", SEED, "--dtype", "fp16", "--batch", "8"])
    out = result.stdout
    assert "weight bytes = (params + buffers)*b = (204832 + 0)*2 = 409,664" in out
    assert f"read bytes = N*(elements of every input)*b + weight bytes = 8*{IN}*2 + 409664 = " \
           f"{8 * IN * 2 + 409664:,}" in out
    assert "MACs for the batch = N*MACs = 8*160563200 = 1,284,505,600" in out
    assert f"peak activation bytes = sum of the bytes live while reduce runs = {IN * 16} + {REDUCE_OUT * 16} = " \
           f"{(IN + REDUCE_OUT) * 16:,}" in out


def test_every_format_shows_the_bytes():
    for fmt, needle in (("table", "peak activation memory"), ("markdown", "weight bytes"),
                        ("csv", "peak_activation_bytes"), ("html", "Memory traffic")):
        result = run_cli(["report", SEED, "--format", fmt])
        assert result.exit_code == 0 and needle in result.stdout, fmt
    html = run_cli(["report", SEED, "--format", "html", "--device", "rtx-4090"]).stdout
    assert "roofline" in html and "ridge" in html

"""Bounded work for every accepted spec (docs/limits.md): the reproducers of small specs that ran
for minutes or exhausted memory, each in a process with a memory and a time limit."""

from __future__ import annotations

import json

import pytest

from .bounded import GiB, convcost


def write(tmp_path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return name


def repeat(times: int, body: str) -> str:
    return f"input: [1, 1, 1]\nlayers:\n  - {{type: repeat, times: {times}, body: [{body}]}}\n"


@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "csv", "html"])
def test_a_hundred_thousand_layers_render_in_every_format(tmp_path, fmt):
    # A 3-line spec of 100,000 relus: 2 to 5 s and 120 to 360 MB each (every format is linear).
    spec = write(tmp_path, "r.yaml", repeat(100_000, "{type: relu}"))
    ran = convcost(["report", spec, "--format", fmt], tmp_path, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert "repeat1/100000/relu1" in ran.stdout.replace("<wbr>", "")  # HTML lets a path break after a /


def test_a_million_layers_report_as_json(tmp_path):
    # The limit itself: 1,000,000 layers, about 26 s and 1.8 GB (docs/limits.md).
    spec = write(tmp_path, "r.yaml", repeat(1_000_000, "{type: relu}"))
    ran = convcost(["report", spec, "--json"], tmp_path, memory=3 * GiB, timeout=180)
    assert ran.returncode == 0, ran.stderr
    model = json.loads(ran.stdout)["models"][0]
    assert len(model["layers"]) == 1_000_000 and model["totals"]["flops"] == 1_000_000


def test_explain_of_more_layers_than_it_derives_is_refused_at_once(tmp_path):
    spec = write(tmp_path, "r.yaml", repeat(1_000_000, "{type: relu}"))
    ran = convcost(["explain", spec, "--json"], tmp_path, timeout=60)
    assert (ran.returncode, ran.stdout) == (2, "")
    assert ran.stderr == ("convcost: error: explain derives at most 100,000 layers in one run, and these specs have "
                          "1,000,000; pick one with --layer NAME, or use convcost report for the counts\n")
    one = convcost(["explain", spec, "--layer", "repeat1/999999/relu1"], tmp_path, memory=3 * GiB, timeout=120)
    assert one.returncode == 0 and "repeat1/999999/relu1 (relu)" in one.stdout


def test_receptive_field_strides_stay_bounded(tmp_path):
    # 100,000 pools of stride 10^18 - 1: a stride of 1.8 million digits without the cap.
    spec = write(tmp_path, "rf.yaml", "input: [4, 4, 1]\nlayers:\n  - {type: repeat, times: 100000, body: "
                                      "[{type: maxpool, kernel: 1, stride: 999999999999999999}]}\n")
    ran = convcost(["report", spec, "--json"], tmp_path, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["models"][0]["layers"][-1]["receptive_field"]["stride"] == [10**18, 10**18]


def test_many_inputs_many_times_are_refused_before_expanding(tmp_path):
    # 1,000,000 adds of 10,000 inputs: 70 KB of YAML that ended in a MemoryError after 107 s.
    inputs = ", ".join(["input"] * 10_000)
    spec = write(tmp_path, "adds.yaml", repeat(1_000_000, f"{{type: add, inputs: [{inputs}]}}"))
    ran = convcost(["check", spec], tmp_path, timeout=20)
    assert ran.returncode == 1
    assert ran.stderr == ("adds.yaml:3:5: error: the layers of this spec read more than 4,000,000 inputs in total "
                          "(1,000,000 times a body reading 10,000) (4 per layer of --max-layers); merge fewer inputs "
                          "per layer, reduce 'times' in repeats, or raise --max-layers\n")


def test_an_error_about_a_huge_merge_is_one_short_line(tmp_path):
    inputs = ", ".join(["input"] * 100_001)
    spec = write(tmp_path, "add.yaml", "input: [1, 1, 1]\nlayers:\n  - {type: conv, name: c, filters: 2, kernel: 1}\n"
                                       f"  - {{type: add, inputs: [c, {inputs}]}}\n")
    ran = convcost(["check", spec], tmp_path, timeout=30)
    assert ran.returncode == 1
    [line] = ran.stderr.splitlines()
    assert line == ("add.yaml:4:5: error: layer 'add1': add needs inputs of one shape, got c 1x1x2, input 1x1x1, "
                    "input 1x1x1, input 1x1x1, input 1x1x1, input 1x1x1 and 99,996 more; fix the channels: give the "
                    "shortcut a 1x1 conv to the body's channels")


def test_more_models_than_a_file_may_hold_are_refused(tmp_path):
    spec = write(tmp_path, "m.yaml", "input: [1, 1, 1]\nmodels:\n" + "- {layers: [{type: relu}]}\n" * 10_001)
    ran = convcost(["compare", spec], tmp_path, timeout=30)
    assert ran.returncode == 1
    assert ran.stderr == ("m.yaml:3:1: error: 'models' lists 10,001 models; a file has at most 10,000 (a comparison "
                          "of more is no longer readable); split the file\n")


def test_a_thousand_models_of_a_thousand_layers_compare_within_bounds(tmp_path):
    # Lining the layers up was quadratic: a MemoryError after 304 s. 1,000 models of 1,000 names of their
    # own would be 10^9 cells: the totals are compared and the alignment is left out, with a note.
    lines = ["input: [1, 1, 1]", "blocks:", "  t:", "    layers: [{type: repeat, times: 1000, body: [{type: relu}]}]",
             "models:", *(f"  - {{name: m{i}, layers: [{{type: t, name: b{i}}}]}}" for i in range(1000))]
    spec = write(tmp_path, "m.yaml", "\n".join(lines) + "\n")
    ran = convcost(["compare", spec, "--json"], tmp_path, timeout=120)
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    assert len(data["models"]) == 1000
    assert ("the layers are not lined up: 1,000,000 layer names in 1,000 models make more than 4,000,000 cells"
            in data["notes"])


def test_a_template_fanning_out_to_262144_layers(tmp_path):
    lines = ["input: [1, 1, 1]", "blocks:", "  t0:", "    layers: [{type: relu}]"]
    for i in range(1, 10):
        lines += [f"  t{i}:", f"    layers: [{{type: t{i - 1}}}, {{type: t{i - 1}}}, {{type: t{i - 1}}}, {{type: t{i - 1}}}]"]
    spec = write(tmp_path, "f.yaml", "\n".join([*lines, "layers: [{type: t9}]"]) + "\n")
    ran = convcost(["report", spec, "--json"], tmp_path, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert len(json.loads(ran.stdout)["models"][0]["layers"]) == 4**9

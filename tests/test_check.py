"""`convcost check`: validation only, quiet on success, every problem on failure, exit 0/1/2."""

from __future__ import annotations

import pytest

from .conftest import BUNDLED, ROOT, run_cli, run_process

VALID = "input: [8, 8, 3]\nlayers:\n  - {type: conv, filters: 4, kernel: 3}\n  - {type: relu}\n"


@pytest.mark.parametrize("spec", BUNDLED, ids=[p.name for p in BUNDLED])
def test_every_bundled_spec_checks_quietly(spec):
    result = run_cli(["check", str(spec.relative_to(ROOT))], cwd=ROOT)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_verbose_says_what_was_checked(tmp_path):
    (tmp_path / "one.yaml").write_text(VALID)
    (tmp_path / "two.yaml").write_text("input: [8, 8, 3]\nmodels:\n  - {layers: [{type: relu}]}\n"
                                       "  - {layers: [{type: relu}, {type: bn}, {type: gap}]}\n")
    result = run_cli(["check", "-v", "one.yaml", "two.yaml"], cwd=tmp_path)
    assert (result.exit_code, result.stderr) == (0, "")
    # one.yaml: conv + relu; two.yaml: 1 + 3 layers.
    assert result.stdout == "one.yaml: ok (1 model, 2 layers)\ntwo.yaml: ok (2 models, 4 layers)\n"
    assert run_cli(["check", "--verbose", "one.yaml"], cwd=tmp_path).stdout == "one.yaml: ok (1 model, 2 layers)\n"


def test_standard_input(tmp_path):
    result = run_cli(["check", "-v", "-"], cwd=tmp_path, stdin=VALID)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "<stdin>: ok (1 model, 2 layers)\n", "")


def test_problems_of_every_file_and_nothing_on_stdout(tmp_path):
    (tmp_path / "good.yaml").write_text(VALID)
    (tmp_path / "a.yaml").write_text("input: [8, 8, 3]\nlayers:\n  - {type: cnov, filters: 4, kernel: 3}\n"
                                     "  - {type: relu, inputz: x}\n")
    (tmp_path / "b.yaml").write_text("input: [8, 8, 3]\nlayers:\n  - {type: conv, filters: 4, kernel: 9, "
                                     "padding: valid}\n")
    result = run_cli(["check", "-v", "good.yaml", "a.yaml", "b.yaml"], cwd=tmp_path)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        "a.yaml:3:12: error: unknown layer type 'cnov'; did you mean 'conv'?",
        "a.yaml:4:18: error: unknown key 'inputz' in layer 'relu1' (relu); did you mean 'inputs'?",
        # 8x8 through a 9x9 kernel without padding: floor((8 - 9) / 1) + 1 = 0.
        "b.yaml:3:5: error: layer 'conv1': convolution output would be 0x0, smaller than 1x1 (input 8x8, "
        "kernel 9x9, stride 1x1); use a smaller kernel or stride, or padding",
    ]


def test_max_layers(tmp_path):
    (tmp_path / "t.yaml").write_text("input: [8, 8, 3]\nlayers:\n  - {type: repeat, name: r, times: 5, "
                                     "body: [{type: relu}, {type: bn}]}\n")
    assert run_cli(["check", "--max-layers", "10", "t.yaml"], cwd=tmp_path).exit_code == 0
    result = run_cli(["check", "--max-layers", "9", "t.yaml"], cwd=tmp_path)
    assert (result.exit_code, result.stderr) == (
        1, "t.yaml:3:5: error: block 'r' (repeat) expands to more than 9 layers (5 times a body of at least "
           "2 layers); reduce 'times' in repeats or the uses of templates and aliases, or raise --max-layers\n")


@pytest.mark.parametrize("args", [["check"], ["check", "--max-layers", "0", "x.yaml"],
                                  ["check", "--max-bytes", "0", "x.yaml"], ["check", "--json", "x.yaml"]])
def test_usage_errors_exit_2(tmp_path, args):
    result = run_cli(args, cwd=tmp_path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert "Traceback" not in result.stderr


def test_as_a_pre_commit_hook_would_run_it(tmp_path):
    # A real process: exit status and streams exactly as a hook or CI step sees them.
    (tmp_path / "ok.yaml").write_text(VALID)
    (tmp_path / "bad.yaml").write_text("input: [8, 8, 3]\nlayers: [{type: conv, kernel: 3, bias: yes}]\n")
    assert (ok := run_process(["check", "ok.yaml"], cwd=tmp_path)).exit_code == 0
    assert (ok.stdout, ok.stderr) == ("", "")
    bad = run_process(["check", "ok.yaml", "bad.yaml"], cwd=tmp_path)
    assert (bad.exit_code, bad.stdout) == (1, "")
    assert bad.stderr.splitlines() == [
        "bad.yaml:2:10: error: layer 'conv1' (conv) needs 'filters'; add filters: <a positive integer>",
        "bad.yaml:2:40: error: 'yes' would be read as a boolean; write true or false (or quote it for a string)",
    ]

"""The terminal a student meets: tables that fit an 80-column terminal, checked on a real
pseudo-terminal, and one test per finding of using convcost as a new user would (each failed
before its fix)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import select
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from unicodedata import east_asian_width

import pytest
from typer.testing import CliRunner

from conv_cost.cli import app
from conv_cost.spec import load_spec
from conv_cost.transforms import find_bottlenecks

from .conftest import BUNDLED, ROOT, SEED, SPECS

TABLE_COMMANDS = {"report": ["report"], "compare": ["compare"], "by-layer": ["compare", "--by-layer"]}
COMMANDS = ["", "report", "explain", "compare", "sweep", "devices", "verify", "check", "import", "schema"]
# Colour and cursor sequences (CSI) and operating-system commands (OSC) a terminal does not print.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def without_columns(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment less COLUMNS and LINES (a shell does not export them), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    return {**env, "TERM": "xterm-256color", **(extra or {})}


def on_terminal(args: list[str], columns: int, rows: int = 24) -> Run:
    """convcost with its standard output on a pseudo-terminal `columns` wide, as in an xterm or tmux
    pane of that size; COLUMNS is not set, so the width comes from the terminal itself. Colour
    sequences are taken out of what it printed."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen([sys.executable, "-m", "conv_cost", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                                    stdout=follower, stderr=err, env=without_columns())
        finally:
            os.close(follower)
        chunks = []
        try:
            while True:
                ready, _, _ = select.select([leader], [], [], 120)
                if not ready:
                    proc.kill()
                    raise AssertionError(f"convcost {' '.join(args)} printed nothing for 120 s")
                try:
                    chunk = os.read(leader, 1 << 16)
                except OSError:  # EIO: the process closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(leader)
        status = proc.wait(timeout=120)
        err.seek(0)
        stderr = err.read().decode()
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    return Run(status, ANSI.sub("", text), stderr)


def piped(args: list[str], env: dict[str, str] | None = None) -> Run:
    """convcost with its standard output on a pipe, COLUMNS unset unless `env` sets it."""
    p = subprocess.run([sys.executable, "-m", "conv_cost", *args], cwd=ROOT, capture_output=True, text=True,
                       env=without_columns(env), timeout=120)
    return Run(p.returncode, p.stdout, p.stderr)


def cli(args: list[str], stdin: str | None = None, columns: int | None = None) -> Run:
    """convcost in-process, standard output not a terminal; COLUMNS set to `columns` or unset."""
    r = CliRunner().invoke(app, args, input=stdin, catch_exceptions=False,
                           env={"COLUMNS": str(columns) if columns else None})
    return Run(r.exit_code, r.stdout, r.stderr)


def cell_len(line: str) -> int:
    """Terminal cells a line takes: 2 for a wide (East Asian) character, else 1."""
    return sum(2 if east_asian_width(c) in "WF" else 1 for c in line)


def too_long(run: Run, width: int) -> list[str]:
    return [line for line in run.lines if cell_len(line) > width]


# Every run on a terminal, made at once by a small pool (each is its own process on its own terminal):
# each table at 80 columns, and the help of each command at 80 and at 200.
NARROW = [(spec, kind) for spec in BUNDLED for kind in TABLE_COMMANDS] + [("", f"help {c}".strip()) for c in COMMANDS]
TERMINAL_JOBS = [(spec, kind, 80) for spec, kind in NARROW] + [("", f"help {c}".strip(), 200) for c in COMMANDS]


@cache
def terminal_runs() -> dict[tuple[str, str, int], Run]:
    def run(job):
        spec, kind, columns = job
        if kind.startswith("help"):
            return on_terminal([*kind.split()[1:], "--help"], columns)
        return on_terminal([*TABLE_COMMANDS[kind], str(spec)], columns)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(TERMINAL_JOBS, pool.map(run, TERMINAL_JOBS)))


needs_pty = pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs a POSIX pseudo-terminal")


# ----------------------------------------------------------------------------- width

@needs_pty
@pytest.mark.parametrize("spec, kind", [j for j in NARROW if j[0]], ids=[f"{s.name}-{k}" for s, k in NARROW if s])
def test_every_bundled_table_fits_an_80_column_terminal(spec, kind):
    run = terminal_runs()[spec, kind, 80]
    assert run.status == 0, run.stderr
    assert "┃" in run.stdout and "│" in run.stdout  # a table was drawn, in box characters
    assert too_long(run, 80) == [], f"{len(too_long(run, 80))} lines longer than 80: {too_long(run, 80)[:3]}"


@needs_pty
def test_the_terminal_width_is_what_the_table_fits():
    # The seed's full report is 187 columns wide: at 80 the pseudo-terminal's width (not COLUMNS,
    # which is unset) made it leave columns out, and the model's title is not padded.
    run = terminal_runs()[SEED, "report", 80]
    assert run.lines[0] == "naive"
    assert "(left out to fit 80 columns: FLOPs/byte, weight bytes, role, receptive field," in run.stdout


@needs_pty
@pytest.mark.parametrize("command", COMMANDS, ids=[c or "convcost" for c in COMMANDS])
def test_help_fits_80_columns_and_keeps_metavars_whole(command):
    import typer.main

    run = terminal_runs()["", f"help {command}".strip(), 80]
    assert run.status == 0, run.stderr
    assert too_long(run, 80) == []
    # Lines break between words only: every word at 80 columns is a word of the help at 200, where
    # "<table|json|markdown|csv|html>" used to come out as "<table|json|markdown|csv|h" and "tml>".
    def words(text: str) -> set[str]:
        return set(text.translate(str.maketrans("", "", "│╭╮╰╯─")).split())

    assert words(run.stdout) - words(terminal_runs()["", f"help {command}".strip(), 200].stdout) == set()
    group = typer.main.get_command(app)
    params = group.commands[command].params if command else group.params
    for metavar in (p.metavar for p in params if p.metavar):
        assert metavar in run.stdout, metavar


@needs_pty
@pytest.mark.parametrize("args", [["report", str(SEED)], ["compare", "--by-layer", str(SEED)]],
                         ids=["report", "by-layer"])
def test_at_200_columns_the_seed_shows_every_column(args):
    wide = on_terminal(args, 200)
    assert wide.status == 0
    assert "left out" not in wide.stdout
    assert too_long(wide, 200) == []
    # What a script gets from a pipe (every column in full) is what a 200-column terminal shows.
    assert wide.stdout == piped(args).stdout


@needs_pty
@pytest.mark.parametrize("args", [["report", "layer_specs/resnet50.yaml"],
                                  ["compare", "--by-layer", "layer_specs/googlenet.yaml"],
                                  ["compare", "layer_specs/inception_3a.yaml", "--by-layer", "--with-bottlenecks",
                                   "--without-bottlenecks"]], ids=["resnet50", "googlenet-by-layer", "inception-3"])
def test_large_tables_fit_200_columns(args):
    run = on_terminal(args, 200)
    assert run.status == 0 and too_long(run, 200) == []


@needs_pty
def test_wide_shows_everything_on_a_narrow_terminal():
    assert on_terminal(["report", str(SEED), "--wide"], 80).stdout == piped(["report", str(SEED)]).stdout


def test_a_pipe_gets_every_column_and_columns_narrows_it():
    full = piped(["report", str(SEED)])
    assert full.status == 0 and "left out" not in full.stdout
    head = next(line for line in full.lines if line.startswith("┃ layer"))
    for column in ("type", "output", "params", "MACs (multiply-adds)", "FLOPs", "% MACs", "activations",
                   "read bytes", "output bytes", "receptive field", "role", "weight bytes", "FLOPs/byte"):
        assert f" {column} " in head, column
    assert max(map(len, full.lines)) == 187
    narrow = piped(["report", str(SEED)], {"COLUMNS": "80"})
    assert too_long(narrow, 80) == [] and "(left out to fit 80 columns:" in narrow.stdout  # the seed has no buffers


# ----------------------------------------------------------------------------- grouped rows: --depth

RESNET50_DEPTH_1 = ["conv1", "bn1", "relu", "maxpool", "layer1_0", "layer1", "layer2_0", "layer2", "layer3_0",
                    "layer3", "layer4_0", "layer4", "avgpool", "fc"]
SUMMED = ("params", "buffers", "macs", "flops", "activations", "weight_bytes", "output_bytes", "read_bytes",
          "write_bytes")


def test_resnet50_at_depth_1_is_a_handful_of_groups_that_add_up_to_the_totals():
    [model] = json.loads(cli(["report", "layer_specs/resnet50.yaml", "--depth", "1", "--json"]).stdout)["models"]
    groups = model["groups"]
    assert [g["name"] for g in groups] == RESNET50_DEPTH_1 and len(groups) <= 16
    assert model["depth"] == 1 and len(model["layers"]) == 174 == sum(g["layers"] for g in groups)
    for key in SUMMED:
        assert sum(g[key] for g in groups) == model["totals"][key], key
    # The first block with its projection shortcut, by hand: 1x1 64->64, 3x3 64->64, 1x1 64->256 and the
    # 1x1 64->256 shortcut, no biases, each followed by a batch norm (2 params per channel).
    layer1_0 = groups[4]
    assert layer1_0["params"] == 64 * 64 + 3 * 3 * 64 * 64 + 64 * 256 + 64 * 256 + 2 * (64 + 64 + 256 + 256)
    assert layer1_0["macs"] == 56 * 56 * (64 * 64 + 3 * 3 * 64 * 64 + 64 * 256 + 64 * 256)


def test_resnet50_at_depth_1_in_the_terminal():
    run = cli(["report", "layer_specs/resnet50.yaml", "--depth", "1", "--exact", "--wide"])
    rows = [line.split("│")[1].strip() for line in run.lines if line.startswith("│")]
    assert rows == [*RESNET50_DEPTH_1, "total"]
    assert "25,557,032" in run.lines[run.lines.index(next(l for l in run.lines if l.startswith("│ total")))]
    assert "rows grouped by the first 1 level of the layer paths; they add up to the totals" in run.stdout


def test_compare_by_layer_lines_up_groups_in_every_format():
    args = ["compare", "layer_specs/resnet50.yaml", "--by-layer", "--depth", "1"]
    data = json.loads(cli([*args, "--json"]).stdout)
    assert data["depth"] == 1 and [m["name"] for m in data["layers"]] == RESNET50_DEPTH_1
    for i, model in enumerate(data["models"]):
        for key in ("params", "buffers", "macs", "flops", "activations"):
            assert sum(m["models"][i][key] for m in data["layers"]) == model["totals"][key]
    rows = list(csv.DictReader(io.StringIO(cli([*args, "--format", "csv"]).stdout, newline="")))
    groups = [r for r in rows if r["section"] == "group"]
    assert [r["layer"] for r in groups] == [n for n in RESNET50_DEPTH_1 for _ in range(2)]
    assert not [r for r in rows if r["section"] == "layer"]
    table = cli([*args, "--wide"]).stdout.split("\nby layer\n")[1]
    assert [line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│")] == [
        *RESNET50_DEPTH_1, "total"]


# ----------------------------------------------------------------------------- what the tables and explain say

def cells(run: Run, layer: str) -> dict[str, str]:
    """The row of `layer` in the (first) table of a run, by column header."""
    head = next(line for line in run.lines if line.startswith("┃"))
    row = next(line for line in run.lines if line.startswith(f"│ {layer} "))
    return dict(zip((h.strip() for h in head.split("┃")[1:-1]), (c.strip() for c in row.split("│")[1:-1])))


def test_the_report_table_has_activations_and_buffers():
    row = cells(cli(["report", "layer_specs/resnet50.yaml", "--exact"]), "bn1")
    # bn1 keeps a running mean and variance of its 64 channels; its output is 112x112x64.
    assert (row["buffers"], row["activations"]) == (f"{2 * 64:,}", f"{112 * 112 * 64:,}")


def test_explain_adds_each_model_up():
    text = cli(["explain", str(SEED)]).stdout
    reduce, conv = 28 * 28 * 16 * 256, 28 * 28 * 32 * 5 * 5 * 16
    assert "\nbottleneck: totals\n" in text
    assert f"\n  MACs = sum of the layers' MACs = {reduce} + {conv} = {reduce + conv:,}\n" in text
    assert f"\n  params = sum of the layers' params = 4112 + 12832 = {256 * 16 + 16 + 5 * 5 * 16 * 32 + 32:,}\n" in text


def test_explain_takes_exact():
    # The derivations always show exact numbers; --exact, which report and compare take, is accepted.
    assert cli(["explain", str(SEED), "--exact"]) == cli(["explain", str(SEED)])


@pytest.mark.parametrize("layer", ["3x3", "b2/3x3", "inception_3a/b2/3x3"])
def test_layer_may_be_the_end_of_a_path(layer):
    data = json.loads(cli(["explain", "layer_specs/inception_3a.yaml", "--layer", layer, "--json"]).stdout)
    assert [[l["name"] for l in m["layers"]] for m in data["models"]] == [["inception_3a/b2/3x3"]] * 2


def test_a_path_end_that_names_several_layers_asks_for_the_full_path():
    spec = ("input: [8, 8, 4]\nlayers:\n  - {type: residual, name: a, body: [{type: conv, name: conv, filters: 4, "
            "kernel: 3}]}\n  - {type: residual, name: b, body: [{type: conv, name: conv, filters: 4, kernel: 3}]}\n")
    run = cli(["explain", "-", "--layer", "conv"], stdin=spec)
    assert (run.status, run.stdout) == (2, "")
    assert run.stderr == "convcost: error: 'conv' ends 2 layer paths: 'a/conv', 'b/conv'; give the full path\n"


def test_explain_notes_wrap_at_the_width_between_words():
    text = cli(["explain", str(SEED)], columns=80).stdout
    assert "\\n" not in text
    peak = ["  note: Activation memory peaks while reduce runs: live then are input, reduce.",
            "        A tensor is live from the layer that makes it (the input from the start)",
            "        until its last reader has run; the running layer's inputs and output are",
            "        live; flatten, identity and dropout share their input's memory."]
    assert "\n".join(peak) in text
    # A long equation goes on before an '=', indented.
    assert ("  read bytes = N*(elements of every input)*b + weight bytes\n"
            "      = 1*200704*4 + 819328 = 1,622,144\n") in text
    # Without a width (a pipe), one line each.
    assert "  note: Activation memory peaks while reduce runs: live then are input, reduce. A tensor" in \
        cli(["explain", str(SEED)]).stdout


@pytest.mark.parametrize("spec", BUNDLED, ids=lambda p: p.name)
def test_explain_fits_80_columns(spec):
    run = cli(["explain", str(spec)], columns=80)
    assert run.status == 0 and too_long(run, 80) == []


# ----------------------------------------------------------------------------- compare --by-layer and bottlenecks

def test_by_layer_marks_a_default_name_that_stands_for_different_layers():
    # The seed without layer names: conv1 is the 5x5 conv in one model and the 1x1 reduce in the other.
    spec = ("input: [28, 28, 256]\nmodels:\n  - {name: naive, layers: [{type: conv, filters: 32, kernel: 5}]}\n"
            "  - name: bottleneck\n    layers: [{type: conv, filters: 16, kernel: 1}, {type: conv, filters: 32, "
            "kernel: 5}]\n")
    run = cli(["compare", "-", "--by-layer", "--exact", "--wide"], stdin=spec)
    conv1 = cells(Run(0, run.stdout.split("\nby layer\n")[1], ""), "conv1 *")
    assert conv1["bottleneck change in MACs"] == f"-{28 * 28 * 32 * 5 * 5 * 256 - 28 * 28 * 16 * 256:,}" \
        == "-157,351,936"
    assert run.lines[-2:] == [
        "* conv1: not the same layer in every model (kernel 5x5 / 1x1); its change in MACs compares different layers",
        "* conv1: lined up by its default name alone; name the layers in the spec to line up what you mean"]
    # Named alike on purpose, the rows are still marked as different layers, with no word on names.
    named = ("input: [28, 28, 256]\nmodels:\n  - {name: naive, layers: [{type: conv, name: c, filters: 32, kernel: 5}]}\n"
             "  - name: bottleneck\n    layers: [{type: conv, name: c, filters: 16, kernel: 1}, {type: conv, name: d, "
             "filters: 32, kernel: 5}]\n")
    notes = [l for l in cli(["compare", "-", "--by-layer"], stdin=named).lines if l.startswith("* ")]
    assert notes == ["* c: not the same layer in every model (kernel 5x5 / 1x1); its change in MACs compares "
                     "different layers"]


def bottleneck_notes(spec: str) -> dict[str, str]:
    data = json.loads(cli(["explain", spec, "--json"]).stdout)
    return {l["name"]: n for m in data["models"][:1] for l in m["layers"] for n in l["notes"] if "a bottleneck" in n}


@pytest.mark.parametrize("spec", BUNDLED, ids=lambda p: p.name)
def test_explain_calls_a_1x1_a_bottleneck_exactly_where_compare_would_remove_it(spec):
    path = str(spec)
    assert set(bottleneck_notes(path)) == {b.reduce for b in find_bottlenecks(load_spec(path)[0])}


def test_nin_has_reducing_1x1s_but_no_bottleneck_in_either_command():
    path = str(SPECS / "nin_cifar10.yaml")
    notes = [n for l in json.loads(cli(["explain", path, "--json"]).stdout)["models"][0]["layers"] for n in l["notes"]]
    assert any(n.startswith("1x1 conv: reduces 192 channels to 160.") for n in notes)
    assert bottleneck_notes(path) == {}
    run = cli(["compare", path, "--without-bottlenecks"])
    assert "note: no 'nin_cifar10 without bottlenecks': it has no 1x1 bottleneck to remove" in run.stdout


def test_inception_reduce_is_a_bottleneck_in_both_commands():
    path = str(SPECS / "inception_3a.yaml")
    assert bottleneck_notes(path)["inception_3a/b2/3x3_reduce"].startswith(
        "1x1 conv: reduces 192 channels to 96, a bottleneck: inception_3a/b2/3x3 after it reads 96 channels "
        "instead of 192.")
    assert "removed inception_3a/b2/3x3_reduce" in cli(["compare", path, "--without-bottlenecks"]).stdout


# ----------------------------------------------------------------------------- --fc-head on NIN and GoogLeNet

def compared(*args: str) -> dict[str, dict]:
    data = json.loads(cli(["compare", *args, "--json"]).stdout)
    return {m["name"]: m["totals"] for m in data["models"]}


def test_fc_head_on_nin():
    # NIN ends in a 10-channel 8x8 map and a global average pool; an fc head reads the 8x8x10 map
    # flattened: 640*10 weights + 10 biases, 640*10 MACs, where the pool has none.
    totals = compared("layer_specs/nin_cifar10.yaml", "--fc-head")
    base, fc = totals["nin_cifar10"], totals["nin_cifar10 with an fc head"]
    assert fc["params"] - base["params"] == 8 * 8 * 10 * 10 + 10 == 6_410
    assert fc["macs"] - base["macs"] == 8 * 8 * 10 * 10
    run = cli(["compare", "layer_specs/nin_cifar10.yaml", "--fc-head", "--exact", "--wide"])
    assert "966,986 -> 973,396" in run.stdout
    assert "note: nin_cifar10 with an fc head: removed pool3; added pool3_flatten, pool3_fc" in run.stdout


def test_fc_head_on_googlenet_as_published():
    # The paper's head averages 7x7x1024 to 1024 before its fc to 1000 classes; an fc head reads all
    # 7*7*1024 values: 49*1024*1000 weights more.
    totals = compared("layer_specs/googlenet.yaml", "--fc-head")
    for name in ("googlenet", "googlenet_torchvision"):
        fc = totals[f"{name} with an fc head"]
        assert fc["params"] - totals[name]["params"] == (7 * 7 - 1) * 1024 * 1000, name
        assert fc["macs"] - totals[name]["macs"] == (7 * 7 - 1) * 1024 * 1000, name


# ----------------------------------------------------------------------------- errors and notes a student can act on

def test_a_channels_first_input_gets_a_note():
    run = cli(["report", "-", "--json"], stdin="input: [256, 28, 28]\nlayers: [{type: relu}]\n")
    assert run.status == 0
    assert run.stderr == ("<stdin>:1:8: note: input [256, 28, 28] is read as height 256, width 28, channels 28 "
                          "([H, W, C]); if you meant channels first, write input: [28, 28, 256]\n")
    assert json.loads(run.stdout)["models"][0]["input"] == {"height": 256, "width": 28, "channels": 28}
    assert cli(["report", "-"], stdin="input: [28, 28, 256]\nlayers: [{type: relu}]\n").stderr == ""


MISTAKES = {
    "activation as a key": (
        "  - {type: conv, filters: 4, kernel: 3, activation: relu}\n",
        ["t.yaml:3:41: error: unknown key 'activation' in layer 'conv1' (conv); a layer takes no activation key: "
         "put a {type: relu} layer (or another activation) after it"]),
    "a pool's size": (
        "  - {type: maxpool, size: 2}\n",
        ["t.yaml:3:5: error: layer 'maxpool1' (maxpool) needs 'kernel'; add kernel: <an integer or [height, width]>",
         "t.yaml:3:21: error: unknown key 'size' in layer 'maxpool1' (maxpool); did you mean 'kernel'?"]),
    "reshape": (
        "  - {type: reshape}\n",
        ["t.yaml:3:12: error: unknown layer type 'reshape'; convcost has no general reshape; use type: flatten to "
         "turn a map into a vector"]),
    "pad": (
        "  - {type: pad}\n",
        ["t.yaml:3:12: error: unknown layer type 'pad'; padding is a key of conv, dwconv, deconv and the pools: "
         "write padding: 1 (or [top, bottom, left, right]) on the layer that reads the padded map"]),
    "conv1d": (
        "  - {type: conv1d, filters: 4, kernel: 3}\n",
        ["t.yaml:3:12: error: unknown layer type 'conv1d'; convcost counts 2-D layers: write a 1-D conv as a conv "
         "on an input of [1, L, C] with kernel: [1, k] (and stride: [1, s]); the counts are those of the 1-D conv"]),
    "conv3d": (
        "  - {type: conv3d, filters: 4, kernel: 3}\n",
        ["t.yaml:3:12: error: unknown layer type 'conv3d'; 3-D convolutions are not supported: convcost counts "
         "2-D networks on H x W x C inputs"]),
    "kernel: 5x5": (
        "  - {type: conv, filters: 4, kernel: 5x5}\n",
        ["t.yaml:3:38: error: 'kernel' of layer 'conv1' (conv) must be a positive integer, got string '5x5'; "
         "write 5 (for 5x5) or [5, 5]"]),
    "a branch given as a mapping": (
        "  - type: parallel\n    merge: concat\n    branches:\n      - {type: conv, filters: 4, kernel: 3}\n"
        "      - [{type: relu}]\n",
        ["t.yaml:6:9: error: branch 1 of 'parallel1' must be a list, got a mapping; write it as a list: one "
         "'- {type: conv, filters: 16, kernel: 1}' item per layer, or [{type: ...}, {type: ...}]"]),
}
# A concat of 28x28 and 26x26 and an add of 14x14x64 and 1x1x64 are in test_errors.py.


@pytest.mark.parametrize("case", MISTAKES)
def test_a_mistake_gets_a_message_that_says_how_to_fix_it(tmp_path, case):
    layers, expected = MISTAKES[case]
    (tmp_path / "t.yaml").write_text("input: [8, 8, 3]\nlayers:\n" + layers)
    run = cli(["report", str(tmp_path / "t.yaml")])
    assert (run.status, run.stdout) == (1, "")
    assert run.stderr.splitlines() == [line.replace("t.yaml", str(tmp_path / "t.yaml"), 1) for line in expected]


# ----------------------------------------------------------------------------- verify's wording

def check_of(name: str, agree: int, disagree: int = 0):
    from conv_cost.layers import Shape
    from conv_cost.verify import Counts, LayerCheck, ModelCheck

    same = Counts(Shape(4, 4, 8), 10, 0, 100)
    other = Counts(Shape(4, 4, 8), 10, 0, 99)
    layers = [LayerCheck(f"l{i}", "conv", same, same) for i in range(agree)]
    layers += [LayerCheck(f"bad{i}", "conv", same, other) for i in range(disagree)]
    return ModelCheck(name, f"{name}.yaml", tuple(layers))


@pytest.mark.parametrize("checks, expected", [
    ([("m", 1, 0)], ["ok m (m.yaml): 1 layer agrees with PyTorch 2.x; params 10, buffers 0, macs 100",
                     "the model agrees with PyTorch"]),
    ([("m", 3, 0), ("n", 1, 0)], ["ok m (m.yaml): 3 layers agree with PyTorch 2.x; params 30, buffers 0, macs 300",
                                  "ok n (n.yaml): 1 layer agrees with PyTorch 2.x; params 10, buffers 0, macs 100",
                                  "all 2 models agree with PyTorch"]),
    ([("m", 0, 1)], ["MISMATCH m (m.yaml): 1 of 1 layer disagrees with PyTorch 2.x",
                     "  layer 'bad0' (conv): macs convcost 100, PyTorch 99",
                     "  total macs: convcost 100, PyTorch 99",
                     "1 of 1 model disagrees with PyTorch"]),
    ([("m", 1, 2), ("n", 2, 0)], ["MISMATCH m (m.yaml): 2 of 3 layers disagree with PyTorch 2.x",
                                  "  layer 'bad0' (conv): macs convcost 100, PyTorch 99",
                                  "  layer 'bad1' (conv): macs convcost 100, PyTorch 99",
                                  "  total macs: convcost 300, PyTorch 298",
                                  "ok n (n.yaml): 2 layers agree with PyTorch 2.x; params 20, buffers 0, macs 200",
                                  "1 of 2 models disagrees with PyTorch"]),
], ids=["one-layer", "two-models", "one-bad-layer", "two-bad-of-three"])
def test_verify_counts_in_words(checks, expected):
    from conv_cost.verify import render_checks

    assert render_checks([check_of(*c) for c in checks], "2.x").splitlines() == expected


# ----------------------------------------------------------------------------- JSON layer settings

def test_json_layer_rows_carry_their_settings():
    spec = ("input: [8, 8, 3]\nlayers:\n  - {type: conv, name: c, filters: 4, kernel: 3, stride: 2}\n"
            "  - {type: maxpool, name: p, kernel: 2}\n  - {type: dwconv, name: d, kernel: 3}\n"
            "  - {type: flatten, name: f}\n  - {type: fc, name: fc, units: 10}\n")
    layers = {l["name"]: l for l in json.loads(cli(["report", "-", "--json"], stdin=spec).stdout)["models"][0]["layers"]}
    expected = {
        "c": {"filters": 4, "kernel": [3, 3], "stride": [2, 2], "padding": "same", "dilation": [1, 1], "groups": 1,
              "bias": True},
        "p": {"kernel": [2, 2], "stride": [2, 2], "padding": [0, 0], "ceil_mode": False},
        "d": {"kernel": [3, 3], "multiplier": 1, "stride": [1, 1], "padding": "same", "dilation": [1, 1], "bias": True},
        "fc": {"units": 10, "bias": True},
    }
    for name, settings in expected.items():
        assert {k: layers[name][k] for k in settings} == settings, name

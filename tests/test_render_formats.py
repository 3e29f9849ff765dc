"""Markdown and CSV output (golden files), the format registry and --output.

UPDATE_GOLDEN=1 rewrites the files under tests/golden/formats/ instead of comparing.
"""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from typer.testing import CliRunner

from conv_cost.cli import app
from conv_cost.layers import COST_KEYS
from conv_cost.render.table import bar

from .conftest import BUNDLED, INCEPTION, ROOT, SEED, check_golden, run_cli


def run(*args: str):
    """The CLI from the project's root, so outputs name 'layer_specs/...' as a user types it."""
    return run_cli(list(args), cwd=ROOT)


# The two teaching specs; the zoo's numbers are pinned in test_zoo.py.
GOLDEN_SPECS = [SEED, INCEPTION]
GOLDEN_CASES = [(spec, command, fmt) for spec in GOLDEN_SPECS for command in ("report", "explain")
                for fmt in ("markdown", "csv")]


@pytest.mark.parametrize("spec, command, fmt", GOLDEN_CASES,
                         ids=[f"{s.stem}-{c}-{f}" for s, c, f in GOLDEN_CASES])
def test_golden(spec, command, fmt):
    result = run(command, f"layer_specs/{spec.name}", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    check_golden(f"formats/{spec.stem}.{command}.{'md' if fmt == 'markdown' else fmt}", result.stdout)


@pytest.mark.parametrize("spec", BUNDLED, ids=lambda p: p.stem)
def test_csv_parses_and_its_totals_match_json(spec):
    rows = list(csv.DictReader(io.StringIO(run("report", str(spec), "--format", "csv").stdout, newline="")))
    data = json.loads(run("report", str(spec), "--json").stdout)
    assert [r["model"] for r in rows if r["row"] == "total"] == [m["name"] for m in data["models"]]
    for model in data["models"]:
        mine = [r for r in rows if r["model"] == model["name"]]
        [total] = [r for r in mine if r["row"] == "total"]
        layers = [r for r in mine if r["row"] == "layer"]
        assert [r["layer"] for r in layers] == [l["name"] for l in model["layers"]]
        for key in COST_KEYS:
            assert int(total[key]) == model["totals"][key]
            assert sum(int(r[key]) for r in layers) == model["totals"][key]
        for r, l in zip(layers, model["layers"]):
            assert [int(r[f"output_{k}"]) for k in ("height", "width", "channels")] == list(l["output"].values())
            assert [int(r["rf_size_h"]), int(r["rf_size_w"])] == l["receptive_field"]["size"]
            assert r["inputs"].split(" ") == l["inputs"]


def test_csv_seed_numbers_by_hand():
    rows = list(csv.DictReader(io.StringIO(run("report", str(SEED), "--format", "csv").stdout, newline="")))
    totals = {r["model"]: r for r in rows if r["row"] == "total"}
    assert int(totals["naive"]["macs"]) == 28 * 28 * 32 * 5 * 5 * 256
    assert int(totals["bottleneck"]["macs"]) == 28 * 28 * 16 * 256 + 28 * 28 * 32 * 5 * 5 * 16


def test_csv_explain_values_match_json():
    rows = list(csv.DictReader(io.StringIO(run("explain", str(SEED), "--format", "csv").stdout, newline="")))
    data = json.loads(run("explain", str(SEED), "--json").stdout)
    steps = [s for m in data["models"] for l in m["layers"] for s in l["steps"]]
    csv_steps = [r for r in rows if r["kind"] == "step"]
    # Counts and bytes are exact integers; an intensity (FLOPs per byte) is a float, written as Python's repr.
    assert [json.loads(r["value"]) for r in csv_steps] == [s["value"] for s in steps]
    assert all(type(s["value"]) is int for s in steps if "intensity" not in s["keys"])
    assert [r["substituted"] for r in csv_steps] == [s["substituted"] for s in steps]
    assert any(r["kind"] == "note" and "1x1 conv" in r["formula"] for r in rows)


@pytest.mark.parametrize("spec", BUNDLED, ids=lambda p: p.stem)
def test_markdown_tables_are_well_formed(spec):
    text = run("report", str(spec), "--format", "markdown").stdout
    data = json.loads(run("report", str(spec), "--json").stdout)
    table_lines = [line for line in text.splitlines() if line.startswith("|")]
    widths = {line.count(" | ") for line in table_lines}
    assert len(widths) == 1  # every row has as many cells as the header
    for model in data["models"]:
        assert f"# {model['name']}" in text
        for layer in model["layers"]:
            assert f"| `{layer['name']}` |" in text


def test_markdown_escapes_pipes():
    spec = "input: [8, 8, 3]\nlayers: [{type: conv, name: 'a|b', filters: 4, kernel: 3}]\n"
    result = CliRunner().invoke(app, ["report", "-", "--format", "markdown"], input=spec)
    assert result.exit_code == 0, result.output
    assert "| `a\\|b` |" in result.stdout


def test_failed_run_leaves_the_old_file_alone(tmp_path):
    out = tmp_path / "handout.html"
    out.write_text("the previous handout")
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [8, 8, 3]\nlayers:\n  - {type: conv, name: c, filters: 4, kernel: 3, strid: 2}\n")
    result = CliRunner().invoke(app, ["report", str(bad), "--format", "html", "--output", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{bad}:3:")
    assert out.read_text() == "the previous handout"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "handout.html"]


def test_failed_run_creates_no_file(tmp_path):
    out = tmp_path / "new.csv"
    result = CliRunner().invoke(app, ["report", str(tmp_path / "missing.yaml"), "--format", "csv", "-o", str(out)])
    assert result.exit_code == 2
    assert not out.exists()


def test_output_file_mode_follows_the_umask(tmp_path):
    out = tmp_path / "r.csv"
    old = os.umask(0o022)
    try:
        CliRunner().invoke(app, ["report", str(SEED), "--format", "csv", "-o", str(out)])
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


def test_terminal_table_has_a_share_bar():
    text = run("report", str(SEED)).stdout
    # reduce is 3,211,264 of 13,246,464 MACs: 24.2%, 2.42 of 10 cells, so two full blocks and 3/8.
    assert round(100 * 3211264 / 13246464, 1) == 24.2
    assert " 24.2% ██▍" in text
    assert "100.0% ██████████" in text


@pytest.mark.parametrize("part, whole, expected", [
    (0, 10, " " * 10), (10, 10, "█" * 10), (1, 4, "██▌" + " " * 7), (1, 80, "▏" + " " * 9), (0, 0, " " * 10),
])
def test_bar(part, whole, expected):
    assert bar(part, whole) == expected


def test_readme_links_the_handouts():
    # Every command, option and format is in the README: tests/test_docs.py.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for word in ("receptive field", "docs/handouts.md", "docs/handout.png"):
        assert word in readme
    assert (ROOT / "docs" / "handouts.md").is_file()
    assert (ROOT / "docs" / "handout.png").is_file()

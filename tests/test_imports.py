"""What each command leaves unimported: every case is one fresh process in an empty directory.

The light paths stay light: JSON and the files written with --output never load rich (the terminal
table's library), `check` loads neither counting nor rendering, `schema` needs no jsonschema, the
device table (tomllib) is read only for --device, and torch and onnx load only for verify and .onnx files.
"""

from __future__ import annotations

import json

import pytest

from .conftest import SEED, imported_by

HEAVY = ["torch", "onnx", "tomllib"]  # never needed by a YAML spec without --device, nor by verify's import
MACHINE_FORMATS = ["json", "csv", "markdown", "html"]

# (id, convcost arguments ('o' is a file in the empty directory), modules that must not be imported)
CASES = [
    ("check", ["check", str(SEED)], ["rich", "conv_cost.render.", "conv_cost.cost", *HEAVY]),
    ("report-json-piped", ["report", "--json", str(SEED)], ["rich", *HEAVY]),
    ("compare-json-piped", ["compare", "--json", "--by-layer", str(SEED)], ["rich", *HEAVY]),
    ("schema", ["schema"], ["jsonschema", "rich", *HEAVY]),
    *((f"{command}-{fmt}-output", [command, str(SEED), "--format", fmt, "-o", "o"], ["rich", *HEAVY])
      for command in ("report", "explain") for fmt in MACHINE_FORMATS),
    *((f"compare-by-layer-{fmt}-output", ["compare", str(SEED), "--by-layer", "--format", fmt, "-o", "o"],
       ["rich", *HEAVY]) for fmt in MACHINE_FORMATS),
]


@pytest.mark.parametrize("args, forbidden", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_command_does_not_import(tmp_path, args, forbidden):
    ran = imported_by(args, tmp_path)
    assert (ran.exit_code, ran.stderr) == (0, ""), ran.stderr
    assert "conv_cost.cli" in ran.modules  # the command did run in this process
    assert ran.loaded(forbidden) == []
    if "-o" in args:
        assert ran.stdout == "" and (tmp_path / "o").stat().st_size > 0
    elif args[0] == "check":
        assert ran.stdout == ""
    elif args[0] == "compare":
        assert json.loads(ran.stdout)["baseline"] == "naive"
    else:
        assert json.loads(ran.stdout)


def test_verify_imports_torch_only_when_it_runs(tmp_path):
    # Importing the verify module (as the CLI's module list does) must not load torch.
    ran = imported_by([], tmp_path, imports=["conv_cost.verify", "conv_cost.cli"])
    assert ran.exit_code == 0
    assert ran.loaded(["torch"]) == []


def test_the_device_table_is_read_only_when_asked_for(tmp_path):
    ran = imported_by([], tmp_path, imports=["conv_cost.memory", "conv_cost.roofline", "conv_cost.devices"])
    assert ran.exit_code == 0
    assert ran.loaded(["tomllib"]) == []
    # memory.py is plain data: no spec, graph or layer module comes with it (records is the dataclass decorator).
    assert ran.loaded(["conv_cost."]) == ["conv_cost.devices", "conv_cost.errors", "conv_cost.memory",
                                          "conv_cost.records", "conv_cost.roofline", "conv_cost.text"]

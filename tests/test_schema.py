"""`convcost schema`: a draft-07 JSON Schema of the spec format that agrees with the parser."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from conv_cost.errors import SpecError
from conv_cost.layers import ALIASES, LAYERS, Elementwise, spec_keys
from conv_cost.schema import spec_schema
from conv_cost.spec import parse_spec

from .conftest import BUNDLED, ROOT, run_cli

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.fixture(scope="module")
def validator():
    result = run_cli(["schema"])
    assert (result.exit_code, result.stderr) == (0, "")
    schema = json.loads(result.stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def schema_errors(validator, text: str) -> list[str]:
    return [e.message for e in validator.iter_errors(yaml.safe_load(text))]


def parser_errors(text: str) -> list[str]:
    try:
        parse_spec(text, "t.yaml")
    except SpecError as exc:
        return [p.message for p in exc.problems]
    return []


@pytest.mark.parametrize("spec", BUNDLED, ids=[p.name for p in BUNDLED])
def test_every_bundled_spec_validates(validator, spec):
    assert schema_errors(validator, spec.read_text()) == []


def doc_examples():
    for doc in DOCS:
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.S)):
            if "layers:" in block and "input:" in block:
                yield pytest.param(block, id=f"{doc.name}-{i}")


@pytest.mark.parametrize("text", list(doc_examples()))
def test_every_spec_in_the_docs_validates(validator, text):
    assert parser_errors(text) == []
    assert schema_errors(validator, text) == []


def minimal_layer(type_name: str) -> dict:
    """A layer of this type as its class's example gives it, plus the inputs a merge needs."""
    cls, _ = LAYERS[ALIASES.get(type_name, type_name)]
    item = {"type": type_name, **cls.example}
    assert {k for k, (_, required) in spec_keys(cls).items() if required} <= set(item)
    if cls.arity > 1:
        item["inputs"] = ["a", "b"]
    return item


def spec_with(item: dict) -> str:
    layers = [{"type": "relu", "name": "a"}, {"type": "relu", "name": "b"}, item]
    return yaml.safe_dump({"input": [8, 8, 4], "layers": layers}, sort_keys=False)


@pytest.mark.parametrize("type_name", [*LAYERS, *ALIASES])
def test_each_layer_type_agrees_with_the_parser(validator, type_name):
    item = minimal_layer(type_name)
    assert parser_errors(spec_with(item)) == []
    assert schema_errors(validator, spec_with(item)) == []
    wrong = {**item, "colour": "red"}
    assert parser_errors(spec_with(wrong)) and schema_errors(validator, spec_with(wrong))


TEMPLATE = """input: [8, 8, 16]
blocks:
  unit:
    params: {c: null, k: 3, pad: same}
    layers:
      - {type: conv, name: "conv_${c}", filters: "${c * 2}", kernel: ["${k}", 1], padding: "${pad}"}
      - {type: repeat, times: "${k}", body: [{type: relu}]}
layers:
  - {type: unit, name: u1, c: 8}
  - {type: unit, name: u2, c: 4, k: 1, pad: valid}
"""


def test_templates_with_expressions_validate(validator):
    assert parser_errors(TEMPLATE) == []
    assert schema_errors(validator, TEMPLATE) == []


# Broken specs: the parser and the schema both refuse each one.
BROKEN = {
    "missing required key": "input: [8, 8, 3]\nlayers: [{type: conv, kernel: 3}]\n",
    "misspelt key": "input: [8, 8, 3]\nlayers: [{type: conv, filters: 4, kernel: 3, strides: 2}]\n",
    "float for an integer": "input: [8, 8, 3]\nlayers: [{type: conv, filters: 4.5, kernel: 3}]\n",
    "boolean for an integer": "input: [8, 8, 3]\nlayers: [{type: conv, filters: true, kernel: 3}]\n",
    "zero size": "input: [8, 8, 3]\nlayers: [{type: conv, filters: 0, kernel: 3}]\n",
    "integer of 19 digits": "input: [8, 8, 3]\nlayers: [{type: conv, filters: 1000000000000000000, kernel: 3}]\n",
    "bad padding word": "input: [8, 8, 3]\nlayers: [{type: conv, filters: 4, kernel: 3, padding: sam}]\n",
    "kernel of three": "input: [8, 8, 3]\nlayers: [{type: conv, filters: 4, kernel: [3, 3, 3]}]\n",
    "string for a boolean": "input: [8, 8, 3]\nlayers: [{type: conv, filters: 4, kernel: 3, bias: 'no'}]\n",
    "expression outside a template": "input: [8, 8, 3]\nlayers: [{type: conv, filters: '${c}', kernel: 3}]\n",
    "layers and models": "input: [8, 8, 3]\nlayers: [{type: relu}]\nmodels: [{layers: [{type: relu}]}]\n",
    "neither layers nor models": "input: [8, 8, 3]\n",
    "no input": "layers: [{type: relu}]\n",
    "a model without input": "models: [{input: [8, 8, 3], layers: [{type: relu}]}, {layers: [{type: relu}]}]\n",
    "input of two sizes": "input: [8, 8]\nlayers: [{type: relu}]\n",
    "input mapping without channels": "input: {height: 8, width: 8}\nlayers: [{type: relu}]\n",
    "unknown top-level key": "input: [8, 8, 3]\nlayer: [{type: relu}]\nlayers: [{type: relu}]\n",
    "empty models": "input: [8, 8, 3]\nmodels: []\n",
    "merge that is not concat or add": "input: [8, 8, 3]\nlayers: [{type: parallel, branches: [[]], merge: mul}]\n",
    "parallel without branches": "input: [8, 8, 3]\nlayers: [{type: parallel}]\n",
    "repeat without times": "input: [8, 8, 3]\nlayers: [{type: repeat, body: [{type: relu}]}]\n",
    "repeat with an empty body": "input: [8, 8, 3]\nlayers: [{type: repeat, times: 2, body: []}]\n",
    "residual without body": "input: [8, 8, 3]\nlayers: [{type: residual, shortcut: []}]\n",
    "add with one input": "input: [8, 8, 3]\nlayers: [{type: relu, name: a}, {type: add, inputs: [a]}]\n",
    "concat without inputs": "input: [8, 8, 3]\nlayers: [{type: concat}]\n",
    "name with a slash": "input: [8, 8, 3]\nlayers: [{type: relu, name: a/b}]\n",
    "name 'input'": "input: [8, 8, 3]\nlayers: [{type: relu, name: input}]\n",
    "layer without type": "input: [8, 8, 3]\nlayers: [{name: a}]\n",
    "layer that is not a mapping": "input: [8, 8, 3]\nlayers: [relu]\n",
    "template named like a layer type": "input: [8, 8, 3]\nblocks:\n  conv: {layers: [{type: relu}]}\n"
                                        "layers: [{type: relu}]\n",
    "template without layers": "input: [8, 8, 3]\nblocks:\n  t: {params: {}}\nlayers: [{type: relu}]\n",
    "template with empty layers": "input: [8, 8, 3]\nblocks:\n  t: {layers: []}\nlayers: [{type: relu}]\n",
    "template key misspelt": "input: [8, 8, 3]\nblocks:\n  t: {layer: [{type: relu}], layers: [{type: relu}]}\n"
                             "layers: [{type: t}]\n",
    "bad value inside a template": "input: [8, 8, 3]\nblocks:\n  t: {layers: [{type: conv, filters: -1, kernel: 3}]}\n"
                                   "layers: [{type: t}]\n",
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_broken_specs_are_refused_by_schema_and_parser(validator, case):
    text = BROKEN[case]
    assert parser_errors(text), "the parser accepted it"
    assert schema_errors(validator, text), "the schema accepted it"


def test_a_new_layer_type_appears_in_the_schema(monkeypatch):
    # Built from the registry: a type added to LAYERS is known to editors without touching schema.py.
    monkeypatch.setitem(LAYERS, "mish", (Elementwise, {"type": "mish"}))
    v = jsonschema.Draft7Validator(spec_schema())
    assert not list(v.iter_errors({"input": [8, 8, 3], "layers": [{"type": "mish", "name": "m"}]}))
    assert list(v.iter_errors({"input": [8, 8, 3], "layers": [{"type": "mish", "filters": 3}]}))
    assert "mish" in v.schema["definitions"]


def test_readme_shows_the_modeline():
    assert "# yaml-language-server: $schema=" in (ROOT / "README.md").read_text()
    assert "convcost schema > convcost.schema.json" in (ROOT / "README.md").read_text()


# What the schema cannot say, left to `convcost check`: JSON has one kind of number (4.0 is the
# integer 4 to a JSON Schema), and it knows neither earlier layers nor shapes.
PARSER_ONLY = {
    "4.0 where an integer belongs": "input: [8, 8, 3]\nlayers: [{type: conv, filters: 4.0, kernel: 3}]\n",
    "inputs naming an unknown layer": "input: [8, 8, 3]\nlayers: [{type: relu, inputs: nope}]\n",
    "output smaller than 1x1": "input: [8, 8, 3]\nlayers: [{type: conv, filters: 4, kernel: 9, padding: valid}]\n",
    "unknown template": "input: [8, 8, 3]\nlayers: [{type: nosuchtemplate}]\n",
}


@pytest.mark.parametrize("case", PARSER_ONLY, ids=list(PARSER_ONLY))
def test_what_only_the_parser_refuses(validator, case):
    text = PARSER_ONLY[case]
    assert parser_errors(text)
    assert schema_errors(validator, text) == []

"""Every registered layer type provides every piece of the protocol itself (no torch needed),
and the registry refuses a type that lacks one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import pytest

from conv_cost.cost import analyze
from conv_cost.explain import explain_model, row_value
from conv_cost.layers import (ALIASES, LAYERS, MODULES, PIECES, TRAITS, Cost, Layer, ReceptiveField, Shape,
                              missing_pieces)
from conv_cost.layers.base import spec_keys
from conv_cost.schema import spec_schema
from conv_cost.spec import parse_spec

from .conftest import ROOT


def example_model(type_name: str):
    """The type's own example on an 8x8x4 input; merges read two earlier layers."""
    cls, _ = LAYERS[type_name]
    keys = ", ".join(f"{k}: {list(v) if isinstance(v, tuple) else v}" for k, v in cls.example.items())
    keys = keys.replace("True", "true").replace("False", "false")
    wiring = ", inputs: [a, b]" if cls.arity > 1 else ""
    text = (f"input: [8, 8, 4]\nlayers:\n  - {{type: relu, name: a}}\n  - {{type: relu, name: b}}\n"
            f"  - {{type: {type_name}, name: it{', ' + keys if keys else ''}{wiring}}}\n")
    [model] = parse_spec(text, "t.yaml")
    return model


@pytest.mark.parametrize("type_name", LAYERS)
def test_every_type_provides_every_piece(type_name):
    cls, _ = LAYERS[type_name]
    assert missing_pieces(cls) == []
    model = example_model(type_name)
    layer = model.nodes[-1].layer
    assert layer.traits <= set(TRAITS)
    report = analyze(model)
    row = report.layers[-1]
    assert isinstance(row.output, Shape) and isinstance(row.cost, Cost)
    assert all(type(getattr(row.cost, k)) is int for k in ("params", "buffers", "macs", "flops", "activations"))
    assert row.cost.activations == row.output.elements
    assert isinstance(row.receptive_field, ReceptiveField)
    [explanation] = [e for e in explain_model(model, report).layers if e.row.name == "it"]
    assert explanation.summary and explanation.steps  # every type derives at least its activations
    for step in explanation.steps:
        assert all(row_value(row, key) == step.value for key in step.keys)
    assert callable(layer.torch_module)


@pytest.mark.parametrize("piece", [*PIECES, "traits", "example", "docstring"])
def test_a_type_without_a_piece_is_refused(piece):
    """A complete toy type passes; the same type with one piece taken away is reported."""
    methods = {
        "output_shape": lambda self, inputs, names=None: inputs[0],
        "cost": lambda self, inputs, out: Cost(activations=out.elements),
        "receptive_field": lambda self, fields, inputs, out: fields[0],
        "explain": lambda self, d, inputs, out, fields: "toy",
        "torch_module": lambda self, inputs, out: None,
    }
    namespace = {**methods, "__doc__": "A toy layer.", "__annotations__": {"type": ClassVar[str]}, "type": "toy",
                 "traits": frozenset({"free"}), "example": {}}
    complete = dataclass(frozen=True, slots=True)(type("Toy", (Layer,), dict(namespace)))
    assert missing_pieces(complete) == []
    del namespace["__doc__" if piece == "docstring" else piece]
    if piece == "docstring":
        namespace["__doc__"] = None
    broken = dataclass(frozen=True, slots=True)(type("Toy", (Layer,), namespace))
    assert missing_pieces(broken) == [piece]


def test_every_module_registers_what_it_defines():
    registered = {entry.cls for entry in LAYERS.values()}
    for module in MODULES:
        defined = {v for v in vars(module).values()
                   if isinstance(v, type) and issubclass(v, Layer) and v is not Layer and v.__module__ == module.__name__}
        assert defined <= registered, module.__name__
        assert set(module.ALIASES.values()) <= set(module.TYPES), module.__name__


def test_every_type_and_alias_is_in_the_schema_and_the_readme():
    schema = spec_schema()
    enums = {name for d in schema["definitions"].values()
             for name in d.get("properties", {}).get("type", {}).get("enum", [])}
    readme = (ROOT / "README.md").read_text()
    for name in [*LAYERS, *ALIASES]:
        assert name in enums, name
        assert re.search(rf"`{name}`", readme), name


def test_keys_have_known_kinds():
    kinds = {"count", "count0", "pair", "pair0", "padding", "bool", "choice", "range"}
    for cls, _ in LAYERS.values():
        assert {kind for kind, _ in spec_keys(cls).values()} <= kinds, cls.__name__

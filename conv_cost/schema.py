"""JSON Schema of the spec format, built from the layer registry so a new layer type appears in it.

Editors (yaml-language-server) use it to validate and complete specs as they are typed. It
describes the structure; what it cannot express (names that refer to earlier layers, shapes
that fit, templates used with the right parameters) is left to `convcost check`.
"""

from __future__ import annotations

from typing import Any

from .layers import ALIASES, LAYERS, spec_keys
from .layers.base import key_choices
from .spec import (BLOCK_KEYS, BLOCK_TYPES, MAX_INT_DIGITS, MAX_PATH, MAX_TEXT, MODEL_KEYS, TEMPLATE_KEYS,
                   TOP_KEYS)

EXPR = {"type": "string", "pattern": r"^\$\{.*\}$", "description": "${expr}: a template parameter or "
        "integer arithmetic over them (+ - * // parentheses)"}
MAX_INT = 10**MAX_INT_DIGITS - 1

# Spec value kinds of layers.py (metadata "kind" of each key) -> JSON Schema.
_COUNT = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
_PADDING_INT = {"type": "integer", "minimum": 0, "maximum": MAX_INT}


def _pair(item: dict) -> dict:
    return {"anyOf": [item, {"type": "array", "items": item, "minItems": 2, "maxItems": 2}]}


def _non_empty(ref: dict) -> dict:
    # Draft-07 ignores keywords next to "$ref", so the ref goes into allOf.
    return {"allOf": [ref], "minItems": 1}


def _kinds(expr: bool) -> dict[str, dict]:
    """Value schemas per kind; in templates an ${expr} string may stand for any value."""
    def e(schema: dict) -> dict:
        return {"anyOf": [schema, {"$ref": "#/definitions/expr"}]} if expr else schema

    count, padding_int = e(_COUNT), e(_PADDING_INT)
    sides = {"type": "array", "items": padding_int, "minItems": 4, "maxItems": 4,
             "description": "[top, bottom, left, right]"}
    return {
        "count": count,
        "count0": padding_int,
        "pair": e(_pair(count)),
        "pair0": e(_pair(padding_int)),
        "padding": e({"anyOf": [{"enum": ["same", "valid"]}, _pair(padding_int), sides]}),
        "bool": e({"type": "boolean"}),
        "range": e({"type": "array", "items": padding_int, "minItems": 2, "maxItems": 2,
                    "description": "[start, stop]"}),
    }


def e_choice(values: tuple[str, ...], expr: bool) -> dict:
    schema = {"enum": list(values)}
    return {"anyOf": [schema, {"$ref": "#/definitions/expr"}]} if expr else schema


def _types_by_class() -> dict[str, list[str]]:
    """Each built-in layer type with its aliases: {"fc": ["fc", "linear", "dense"], ...}."""
    names: dict[str, list[str]] = {t: [t] for t in LAYERS}
    for alias, canon in ALIASES.items():
        names[canon].append(alias)
    return names


def builtin_types() -> list[str]:
    """Every type name a layer item may have without a template: layers, aliases, blocks."""
    return [*LAYERS, *ALIASES, *BLOCK_TYPES]


def _layer_defs(suffix: str, expr: bool) -> dict[str, dict]:
    """Definitions for one layer list flavour: plain ('') or inside a template ('_t', with ${expr})."""
    kinds = _kinds(expr)
    ref = lambda name: {"$ref": f"#/definitions/{name}{suffix}"}  # noqa: E731
    name = {"type": "string", "maxLength": MAX_PATH}
    if not expr:  # inside templates a name may be built from ${...} and contain spaces
        name = {**name, "pattern": r"^[^/\s]+$", "not": {"const": "input"}}
    common = {"name": name, "inputs": {"$ref": "#/definitions/inputs"}}
    defs: dict[str, dict] = {}
    branches: list[dict] = []
    for canon, names in _types_by_class().items():
        cls, _ = LAYERS[canon]
        keys = spec_keys(cls)
        choices = key_choices(cls)
        props = {"type": {"enum": names}, **common,
                 **{k: e_choice(choices[k], expr) if kind == "choice" else kinds[kind] for k, (kind, _) in keys.items()}}
        required = ["type", *(k for k, (_, req) in keys.items() if req)]
        if cls.arity > 1:
            props["inputs"] = {"type": "array", "items": {"type": "string"}, "minItems": 2}
            required.append("inputs")
        defs[f"{canon}{suffix}"] = {"type": "object", "title": f"{canon} layer", "properties": props,
                                    "required": required, "additionalProperties": False}
        branches.append((names, canon))
    blocks = {
        "parallel": {"branches": {"type": "array", "minItems": 1, "items": ref("layers")},
                     "merge": {"enum": ["concat", "add"], "default": "concat"}},
        "residual": {"body": _non_empty(ref("layers")), "shortcut": ref("layers")},
        "repeat": {"times": kinds["count"], "body": _non_empty(ref("layers"))},
    }
    required_block_keys = {"parallel": ["branches"], "residual": ["body"], "repeat": ["times", "body"]}
    for block in BLOCK_TYPES:
        assert set(blocks[block]) == set(BLOCK_KEYS[block]), block  # keep in step with spec.py
        defs[f"{block}{suffix}"] = {
            "type": "object", "title": f"{block} block",
            "properties": {"type": {"const": block}, **common, **blocks[block]},
            "required": ["type", *required_block_keys[block]], "additionalProperties": False}
        branches.append(([block], block))
    defs[f"template_use{suffix}"] = {
        "type": "object", "title": "a template from 'blocks:'; its other keys are the template's parameters",
        "properties": {"type": {"type": "string", "not": {"enum": builtin_types()}}, **common},
        "required": ["type"]}
    # if/then on the type picks one schema, so an editor reports the keys of that type only.
    cases = [{"if": {"properties": {"type": {"enum": names}}, "required": ["type"]}, "then": ref(canon)}
             for names, canon in branches]
    cases.append({"if": {"properties": {"type": {"not": {"enum": builtin_types()}}}, "required": ["type"]},
                  "then": ref("template_use")})
    defs[f"layer{suffix}"] = {
        "type": "object", "required": ["type"],
        "properties": {"type": {"anyOf": [{"enum": builtin_types()}, {"type": "string"}],
                                "description": "a layer type, a block (parallel, residual, repeat) or a "
                                               "template name from 'blocks:'"}},
        "allOf": cases}
    defs[f"layers{suffix}"] = {"type": "array", "items": ref("layer")}
    return defs


def spec_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file (draft-07: the draft editors' YAML support implements)."""
    count = _COUNT
    text = {"type": "string", "maxLength": MAX_TEXT}
    model_props = {
        "name": text,
        "description": text,
        "input": {"$ref": "#/definitions/input"},
        "layers": {"$ref": "#/definitions/layers"},
    }
    assert set(model_props) == set(MODEL_KEYS)
    top_props = {
        **model_props,
        "models": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/model"}},
        "blocks": {"type": "object", "additionalProperties": {"$ref": "#/definitions/template"},
                   "propertyNames": {"maxLength": MAX_PATH, "not": {"enum": builtin_types()}}},
    }
    assert set(top_props) == set(TOP_KEYS)
    template_props = {
        "params": {"type": "object", "description": "parameter -> default (null: required)"},
        "layers": _non_empty({"$ref": "#/definitions/layers_t"}),
        "description": text,
    }
    assert set(template_props) == set(TEMPLATE_KEYS)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "convcost spec",
        "description": "A CNN for convcost: input shape and layers (or several models), with optional "
                       "templates under 'blocks:'.",
        "type": "object",
        "properties": top_props,
        "additionalProperties": False,
        "allOf": [
            {"not": {"required": ["layers", "models"]}},
            {"anyOf": [{"required": ["layers"]}, {"required": ["models"]}]},
            {"if": {"required": ["layers"]}, "then": {"required": ["input"]}},
            # Without a top-level input, every model gives its own.
            {"if": {"not": {"required": ["input"]}},
             "then": {"properties": {"models": {"items": {"required": ["input"]}}}}},
        ],
        "definitions": {
            "expr": EXPR,
            "input": {"anyOf": [
                {"type": "array", "items": count, "minItems": 3, "maxItems": 3,
                 "description": "[height, width, channels]"},
                {"type": "object", "properties": {"height": count, "width": count, "channels": count},
                 "required": ["height", "width", "channels"], "additionalProperties": False}]},
            "inputs": {"anyOf": [{"type": "string"},
                                 {"type": "array", "items": {"type": "string"}, "minItems": 1}],
                       "description": "earlier layers (or 'input') this layer reads"},
            "model": {"type": "object", "properties": model_props, "required": ["layers"],
                      "additionalProperties": False},
            "template": {"type": "object", "properties": template_props, "required": ["layers"],
                         "additionalProperties": False},
            **_layer_defs("", expr=False),
            **_layer_defs("_t", expr=True),
        },
    }

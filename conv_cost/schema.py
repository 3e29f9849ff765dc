"""JSON Schema of the spec format, built from the layer registry, the value kinds and the block
grammar, so a new layer type, kind or block appears in it without a change here.

Editors (yaml-language-server) use it to validate and complete specs as they are typed. It
describes the structure; what it cannot express (names that refer to earlier layers, shapes
that fit, templates used with the right parameters) is left to `convcost check`.
"""

from __future__ import annotations

from typing import Any

from .layers import ALIASES, LAYERS, spec_keys
from .layers.base import key_choices
from .spec.budget import MAX_PATH, MAX_TEXT
from .spec.grammar import BLOCKS, MODEL_KEYS, TEMPLATE_KEYS, TOP_KEYS, BlockKey
from .spec.values import MAX_INT, choice_schema, kind_schemas

EXPR = {"type": "string", "pattern": r"^\$\{.*\}$", "description": "${expr}: a template parameter or "
        "integer arithmetic over them (+ - * // parentheses)"}
_COUNT = {"type": "integer", "minimum": 1, "maximum": MAX_INT}


def _non_empty(ref: dict) -> dict:
    # Draft-07 ignores keywords next to "$ref", so the ref goes into allOf.
    return {"allOf": [ref], "minItems": 1}


def _types_by_class() -> dict[str, list[str]]:
    """Each built-in layer type with its aliases: {"fc": ["fc", "linear", "dense"], ...}."""
    names: dict[str, list[str]] = {t: [t] for t in LAYERS}
    for alias, canon in ALIASES.items():
        names[canon].append(alias)
    return names


def builtin_types() -> list[str]:
    """Every type name a layer item may have without a template: layers, aliases, blocks."""
    return [*LAYERS, *ALIASES, *BLOCKS]


def _block_key(key: BlockKey, kinds: dict[str, dict], ref, expr: bool) -> dict:
    if key.kind == "layers":
        schema = _non_empty(ref("layers")) if key.non_empty else ref("layers")
    elif key.kind == "branches":
        schema = {"type": "array", "minItems": 1, "items": ref("layers")}
    elif key.kind == "choice":
        schema = choice_schema(key.choices, expr)
        if key.default is not None:
            schema = {**schema, "default": key.default}
    else:
        schema = kinds[key.kind]
    return {**schema, "description": key.description} if key.description else schema


def _layer_defs(suffix: str, expr: bool) -> dict[str, dict]:
    """Definitions for one layer list flavour: plain ('') or inside a template ('_t', with ${expr})."""
    kinds = kind_schemas(expr)
    ref = lambda name: {"$ref": f"#/definitions/{name}{suffix}"}  # noqa: E731
    name = {"type": "string", "maxLength": MAX_PATH}
    if not expr:  # inside templates a name may be built from ${...} and contain spaces
        name = {**name, "pattern": r"^[^/\s]+$", "not": {"const": "input"}}
    common = {"name": name, "inputs": {"$ref": "#/definitions/inputs"}}
    defs: dict[str, dict] = {}
    branches: list[tuple[list[str], str]] = []
    for canon, names in _types_by_class().items():
        cls, _ = LAYERS[canon]
        keys = spec_keys(cls)
        choices = key_choices(cls)
        props = {"type": {"enum": names}, **common,
                 **{k: choice_schema(choices[k], expr) if kind == "choice" else kinds[kind]
                    for k, (kind, _) in keys.items()}}
        required = ["type", *(k for k, (_, req) in keys.items() if req)]
        if cls.arity > 1:
            props["inputs"] = {"type": "array", "items": {"type": "string"}, "minItems": 2}
            required.append("inputs")
        defs[f"{canon}{suffix}"] = {"type": "object", "title": f"{canon} layer", "properties": props,
                                    "required": required, "additionalProperties": False}
        branches.append((names, canon))
    for block in BLOCKS.values():
        defs[f"{block.name}{suffix}"] = {
            "type": "object", "title": f"{block.name} block", "description": block.description,
            "properties": {"type": {"const": block.name}, **common,
                           **{k.name: _block_key(k, kinds, ref, expr) for k in block.keys}},
            "required": ["type", *(k.name for k in block.keys if k.required)], "additionalProperties": False}
        branches.append(([block.name], block.name))
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
    text = {"type": "string", "maxLength": MAX_TEXT}
    key_schemas = {
        "name": text,
        "description": text,
        "input": {"$ref": "#/definitions/input"},
        "layers": {"$ref": "#/definitions/layers"},
        "models": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/model"}},
        "blocks": {"type": "object", "additionalProperties": {"$ref": "#/definitions/template"},
                   "propertyNames": {"maxLength": MAX_PATH, "not": {"enum": builtin_types()}}},
        "params": {"type": "object", "description": "parameter -> default (null: required)"},
    }
    template_props = {**{k: key_schemas[k] for k in TEMPLATE_KEYS if k != "layers"},
                      "layers": _non_empty({"$ref": "#/definitions/layers_t"})}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "convcost spec",
        "description": "A CNN for convcost: input shape and layers (or several models), with optional "
                       "templates under 'blocks:'.",
        "type": "object",
        "properties": {k: key_schemas[k] for k in TOP_KEYS},
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
                {"type": "array", "items": _COUNT, "minItems": 3, "maxItems": 3,
                 "description": "[height, width, channels]"},
                {"type": "object", "properties": {"height": _COUNT, "width": _COUNT, "channels": _COUNT},
                 "required": ["height", "width", "channels"], "additionalProperties": False}]},
            "inputs": {"anyOf": [{"type": "string"},
                                 {"type": "array", "items": {"type": "string"}, "minItems": 1}],
                       "description": "earlier layers (or 'input') this layer reads"},
            "model": {"type": "object", "properties": {k: key_schemas[k] for k in MODEL_KEYS},
                      "required": ["layers"], "additionalProperties": False},
            "template": {"type": "object", "properties": template_props, "required": ["layers"],
                         "additionalProperties": False},
            **_layer_defs("", expr=False),
            **_layer_defs("_t", expr=True),
        },
    }

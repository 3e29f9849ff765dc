"""Value kinds: how a layer key's value is read and checked (`count`, `pair`, `padding`...),
the hint a message gives for each, and its JSON Schema (which `convcost schema` uses).

Layer keys name their kind (conv_cost.layers.base.key); `ValueReader` reads them from Y nodes,
reporting through `error(at, message)`.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import did_you_mean
from .budget import MAX_INT_DIGITS
from .problems import describe, short
from .synonyms import key_hint
from .yaml_tree import INVALID, Invalid, Y

KIND_HINTS = {"count": "a positive integer", "count0": "an integer >= 0", "pair": "an integer or [height, width]",
              "pair0": "an integer >= 0 or [height, width]",
              "padding": "same, valid, an integer, [height, width] or [top, bottom, left, right]",
              "bool": "true or false", "choice": "one of its values", "range": "[start, stop]"}
# Kinds an int may stand for: minimum, and whether it stands for [v, v].
_INT_KINDS = {"count": (1, False), "count0": (0, False), "pair": (1, True), "pair0": (0, True),
              "padding": (0, True)}

MAX_INT = 10**MAX_INT_DIGITS - 1
_BY = re.compile(r"([0-9]+) *[xX*] *([0-9]+)", re.ASCII)  # '5x5', written where an int or [h, w] belongs


def kind_schemas(expr: bool) -> dict[str, dict]:
    """JSON Schema of each kind; inside templates (expr) an ${expr} string may stand for any value."""
    def e(schema: dict) -> dict:
        return {"anyOf": [schema, {"$ref": "#/definitions/expr"}]} if expr else schema

    count = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
    count0 = {"type": "integer", "minimum": 0, "maximum": MAX_INT}

    def pair(item: dict) -> dict:
        return {"anyOf": [item, {"type": "array", "items": item, "minItems": 2, "maxItems": 2}]}

    sides = {"type": "array", "items": e(count0), "minItems": 4, "maxItems": 4,
             "description": "[top, bottom, left, right]"}
    return {
        "count": e(count),
        "count0": e(count0),
        "pair": e(pair(e(count))),
        "pair0": e(pair(e(count0))),
        "padding": e({"anyOf": [{"enum": ["same", "valid"]}, pair(e(count0)), sides]}),
        "bool": e({"type": "boolean"}),
        "range": e({"type": "array", "items": e(count0), "minItems": 2, "maxItems": 2,
                    "description": "[start, stop]"}),
    }


def choice_schema(values: tuple[str, ...], expr: bool) -> dict:
    schema = {"enum": list(values)}
    return {"anyOf": [schema, {"$ref": "#/definitions/expr"}]} if expr else schema


class ValueReader:
    """Typed reading of Y values; a subclass provides `error(at, message)`."""

    def error(self, at: Y | tuple[int, int], message: str) -> None:
        raise NotImplementedError

    def key_pos(self, y: Y, key: str) -> tuple[int, int]:
        return y.keys[key] if y.keys and key in y.keys else (y.line, y.col)

    def check_keys(self, y: Y, allowed: tuple[str, ...] | list[str], what: str) -> None:
        for k in y.value:
            if k not in allowed:
                hint = key_hint(k, allowed) or did_you_mean(k, allowed)
                self.error(self.key_pos(y, k), f"unknown key '{short(k)}' in {what}{hint}"
                           + ("" if hint else f"; allowed keys: {', '.join(allowed)}"))

    def expect_int(self, y: Y, what: str, minimum: int = 1) -> int | Invalid:
        v = y.value
        if v is INVALID:
            return INVALID
        if type(v) is int and v >= minimum:
            return v
        need = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        hint = ""
        if isinstance(v, float) and v.is_integer():
            hint = f"; write {int(v)}"
        elif isinstance(v, str) and "${" in v:
            hint = "; ${...} works only inside a template under 'blocks:'"
        elif isinstance(v, str) and _BY.fullmatch(v):
            h, w = _BY.fullmatch(v).groups()
            hint = f"; write {h} (for {h}x{h}) or [{h}, {w}]" if h == w else f"; write [{h}, {w}] ([height, width])"
        elif type(v) is int:
            hint = "" if minimum != 1 else "; sizes start at 1"
        self.error(y, f"{what} must be {need}, got {describe(v)}{hint}")
        return INVALID

    def expect_str(self, y: Y, what: str) -> str | Invalid:
        if isinstance(y.value, str):
            return y.value
        if y.value is not INVALID:
            self.error(y, f"{what} must be a string, got {describe(y.value)}")
        return INVALID

    def expect_list(self, y: Y, what: str, form: str = "") -> list[Y] | None:
        """The list at y; else a problem, showing the list form when given (`- {type: conv, ...}` items)."""
        if isinstance(y.value, list):
            return y.value
        if y.value is not INVALID:
            shown = f"; write it as a list: {form}" if form and isinstance(y.value, dict) else ""
            self.error(y, f"{what} must be a list, got {describe(y.value)}{shown}")
        return None

    def expect_map(self, y: Y, what: str) -> dict[str, Y] | None:
        if isinstance(y.value, dict):
            return y.value
        if y.value is not INVALID:
            self.error(y, f"{what} must be a mapping, got {describe(y.value)}")
        return None

    def pair(self, y: Y, what: str, minimum: int = 1) -> tuple[int, int] | Invalid:
        if isinstance(y.value, list):
            if len(y.value) != 2:
                self.error(y, f"{what} must be one integer or [height, width], got a list of {len(y.value)}")
                return INVALID
            h, w = (self.expect_int(item, what, minimum) for item in y.value)
            return INVALID if INVALID in (h, w) else (h, w)
        v = self.expect_int(y, what, minimum)
        return INVALID if v is INVALID else (v, v)

    def value_of_kind(self, kind: str, y: Y, key: str, label: str, choices: tuple[str, ...] = ()) -> Any:
        v = y.value
        fast = _INT_KINDS.get(kind)
        if fast is not None and type(v) is int and v >= fast[0]:
            return (v, v) if fast[1] else v  # the common case, without building a message
        what = f"'{key}' of {label}"
        if kind in ("count", "count0"):
            return self.expect_int(y, what, _INT_KINDS[kind][0])
        if kind in ("pair", "pair0"):
            return self.pair(y, what, _INT_KINDS[kind][0])
        if kind == "padding":
            if isinstance(v, str):
                if v in ("same", "valid"):
                    return v
                self.error(y, f"{what} must be same, valid, an integer, [height, width] or [top, bottom, left, "
                              f"right], got '{short(v)}'{did_you_mean(v, ('same', 'valid'))}")
                return INVALID
            if isinstance(v, list) and len(v) == 4:
                sides = tuple(self.expect_int(item, what, 0) for item in v)
                return INVALID if INVALID in sides else sides
            if isinstance(v, list) and len(v) != 2:
                self.error(y, f"{what} must be an integer, [height, width] or [top, bottom, left, right], "
                              f"got a list of {len(v)}")
                return INVALID
            return self.pair(y, what, minimum=0)
        if kind == "bool":
            if type(v) is bool:
                return v
            if v is not INVALID:
                self.error(y, f"{what} must be true or false, got {describe(v)}")
            return INVALID
        if kind == "choice":
            if isinstance(v, str) and v in choices:
                return v
            if v is not INVALID:
                self.error(y, f"{what} must be one of {', '.join(choices)}, got {describe(v)}"
                              f"{did_you_mean(v, choices)}")
            return INVALID
        if kind == "range":
            if isinstance(v, list) and len(v) == 2:
                ends = tuple(self.expect_int(item, what, 0) for item in v)
                return INVALID if INVALID in ends else ends
            if v is not INVALID:
                self.error(y, f"{what} must be [start, stop] (channels start to stop - 1), got {describe(v)}")
            return INVALID
        raise AssertionError(kind)


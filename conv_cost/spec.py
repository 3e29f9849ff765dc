"""YAML spec -> Models: strict reading with source positions; blocks and templates flattened.

PyYAML's composer (its C version where present) gives a node tree with positions; values
are converted by hand so duplicate keys, YAML 1.1 surprises (`yes`, `017`) and foreign
tags are errors rather than silent guesses.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import yaml

from .errors import MAX_PROBLEMS, LayerError, Problem, SpecError, did_you_mean
from .graph import INPUT, MAX_ELEMENTS, Model, Node, infer_shapes
from .layers import ALIASES, LAYERS, Shape, make_layer, spec_keys
from .layers.base import key_choices

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

DEFAULT_MAX_LAYERS = 1_000_000
# Bounds that keep hostile input (see docs/limits.md) from crashing, hanging or eating memory.
MAX_DEPTH = 100  # YAML nesting levels; Python recursion stays far below its limit
MAX_NESTING = 50  # blocks and templates inside each other
MAX_INT_DIGITS = 18  # integers below 10**18: exact counts stay small enough to print
MAX_TEXT = 10_000  # characters in one string or key
MAX_PATH = 256  # characters in a layer's full path ("stage/2/res/conv1")
PROBLEM_CAP = 200  # stop reading a file after this many problems (only MAX_PROBLEMS are shown)

BLOCK_TYPES = ("parallel", "residual", "repeat")
COMMON_KEYS = ("type", "name", "inputs")
BLOCK_KEYS = {
    "parallel": ("branches", "merge"),
    "residual": ("body", "shortcut"),
    "repeat": ("times", "body"),
}
TOP_KEYS = ("name", "description", "input", "layers", "models", "blocks")
MODEL_KEYS = ("name", "description", "input", "layers")
TEMPLATE_KEYS = ("params", "layers", "description")

KIND_HINTS = {"count": "a positive integer", "count0": "an integer >= 0", "pair": "an integer or [height, width]",
              "pair0": "an integer >= 0 or [height, width]",
              "padding": "same, valid, an integer, [height, width] or [top, bottom, left, right]",
              "bool": "true or false", "choice": "one of its values", "range": "[start, stop]"}
# Kinds an int may stand for: minimum, and whether it stands for [v, v].
_INT_KINDS = {"count": (1, False), "count0": (0, False), "pair": (1, True), "pair0": (0, True),
              "padding": (0, True)}

_T = "tag:yaml.org,2002:"
_STR, _INT = _T + "str", _T + "int"
_SEQ, _MAP = _T + "seq", _T + "map"
_INT_RE = re.compile(r"[-+]?(0|[1-9][0-9_]*)\Z")
_NAME_RE = re.compile(r"[^/\s]+\Z")


@cache
def layer_keys(cls: type) -> tuple[str, ...]:
    """Every key a layer of this class accepts."""
    return COMMON_KEYS + tuple(spec_keys(cls))


class _Invalid:
    """A value already reported as a problem; later checks pass over it silently."""

    def __repr__(self) -> str:
        return "<invalid>"


INVALID = _Invalid()


class Y:
    """A YAML value with its 1-based position; mappings also keep their keys' positions."""

    __slots__ = ("value", "line", "col", "keys")

    def __init__(self, value: Any, line: int, col: int, keys: dict[str, tuple[int, int]] | None = None):
        self.value = value
        self.line = line
        self.col = col
        self.keys = keys

    def __repr__(self) -> str:
        return f"Y({self.value!r} @{self.line}:{self.col})"


def plain(y: Y) -> Any:
    """The Python value of a Y tree, positions dropped."""
    v = y.value
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def _short(text: str, limit: int = 60) -> str:
    """User text as quoted in a message: long strings cut and control characters escaped, so a
    message stays one short line."""
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _layers(n: int) -> str:
    return "1 layer" if n == 1 else f"{n:,} layers"


def _describe(v: Any) -> str:
    if v is None:
        return "null"
    if type(v) is bool:
        return f"boolean {str(v).lower()}"
    if isinstance(v, str):
        return f"string '{_short(v)}'"
    if isinstance(v, float):
        return f"float {v!r}"
    if isinstance(v, int):
        return f"{v}"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    return repr(v)


# ---------------------------------------------------------------------------- YAML -> Y


class _YamlReader:
    def __init__(self, path: str, problems: list[Problem]):
        self.path = path
        self.problems = problems
        self.memo: dict[int, Y] = {}  # aliases share one converted value, so expansion stays linear
        self.shared = False  # an alias was used: the tree is a DAG that expansion may multiply
        self.too_deep = False

    def error(self, line: int, col: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, col, message))
        if len(self.problems) >= PROBLEM_CAP:
            raise _Abort

    def convert(self, node: yaml.Node, depth: int = 0) -> Y:
        if type(node) is yaml.ScalarNode:
            # Most nodes are scalars: a shared (aliased) scalar multiplies nothing, so skip the memo.
            mark = node.start_mark
            line, col = mark.line + 1, mark.column + 1
            raw = node.value
            tag = node.tag
            if tag == _STR and len(raw) <= MAX_TEXT:
                return Y(raw, line, col)
            if tag == _INT and raw.isascii() and raw.isdigit() and len(raw) <= MAX_INT_DIGITS and (
                    raw[0] != "0" or raw == "0"):
                return Y(int(raw), line, col)
            return Y(self.scalar(node, line, col), line, col)
        seen = self.memo.get(id(node))
        if seen is not None:
            self.shared = True
            return seen
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        cls = type(node)
        if depth >= MAX_DEPTH:
            y = self.nested_too_deeply(line, col)
        elif node.tag != (_SEQ if cls is yaml.SequenceNode else _MAP):
            self.check_tag(node, _SEQ if cls is yaml.SequenceNode else _MAP, line, col)
            y = Y(INVALID, line, col)  # reported; its contents would only add noise
        elif cls is yaml.SequenceNode:
            depth += 1
            y = Y([self.convert(item, depth) for item in node.value], line, col)
        else:
            y = self.mapping(node, line, col, depth + 1)
        self.memo[id(node)] = y
        return y

    def nested_too_deeply(self, line: int, col: int) -> Y:
        # Checked here, once, so that every later recursive pass stays shallow.
        if not self.too_deep:
            self.too_deep = True
            self.error(line, col, f"the spec is nested more than {MAX_DEPTH} levels deep here; "
                                  "flatten it (a template under 'blocks:' or a repeat avoids deep nesting)")
        return Y(INVALID, line, col)

    def check_tag(self, node: yaml.Node, expected: str, line: int, col: int) -> bool:
        if node.tag == expected:
            return True
        self.error(line, col, f"YAML tag '{_short(node.tag)}' is not allowed; convcost reads plain YAML only")
        return False

    def mapping(self, node: yaml.MappingNode, line: int, col: int, depth: int) -> Y:
        values: dict[str, Y] = {}
        keys: dict[str, tuple[int, int]] = {}
        for knode, vnode in node.value:
            mark = knode.start_mark
            kl, kc = mark.line + 1, mark.column + 1
            k = knode.value
            # One test for the common case (a new plain string key); the rare ones are reported below.
            if knode.tag != _STR or type(knode) is not yaml.ScalarNode or len(k) > MAX_TEXT or k in values:
                self.bad_key(knode, kl, kc, keys)
                continue
            keys[k] = (kl, kc)
            values[k] = self.convert(vnode, depth)
        return Y(values, line, col, keys)

    def bad_key(self, knode: yaml.Node, kl: int, kc: int, keys: dict[str, tuple[int, int]]) -> None:
        if knode.tag == _T + "merge":
            self.error(kl, kc, "merge keys ('<<') are not supported; write the keys out, "
                               "or use a template under 'blocks:'")
        elif not isinstance(knode, yaml.ScalarNode) or knode.tag != _STR:
            shown = _short(knode.value) if isinstance(knode, yaml.ScalarNode) else "a collection"
            self.error(kl, kc, f"a key must be a plain string, got '{shown}'; quote it if it is a name")
        elif len(knode.value) > MAX_TEXT:
            k = knode.value
            self.error(kl, kc, f"key '{_short(k)}' is {len(k):,} characters long; keys have at most {MAX_TEXT:,}")
        else:
            k = knode.value
            self.error(kl, kc, f"duplicate key '{_short(k)}' (first at line {keys[k][0]}); keep one of them")

    def scalar(self, node: yaml.ScalarNode, line: int, col: int) -> Any:
        tag, raw = node.tag, node.value
        if tag == _T + "str":
            if len(raw) > MAX_TEXT:
                self.error(line, col, f"a string of {len(raw):,} characters is too long; "
                                      f"strings have at most {MAX_TEXT:,}")
                return INVALID
            return raw
        if tag == _T + "int":
            if _INT_RE.match(raw):
                if len(raw) <= MAX_INT_DIGITS:  # the common case: short, whatever its sign
                    return int(raw.replace("_", ""))
                digits = raw.lstrip("+-").replace("_", "")
                if len(digits) > MAX_INT_DIGITS:
                    # Python refuses to convert very long digit strings; no layer needs them anyway.
                    self.error(line, col, f"integer '{_short(raw, 30)}' is too large; "
                                          f"integers have at most {MAX_INT_DIGITS} digits")
                    return INVALID
                return int(digits) * (-1 if raw.startswith("-") else 1)
            self.error(line, col, f"integer '{_short(raw)}' is ambiguous (YAML 1.1 reads it in another base); "
                                  "write it in plain decimal without leading zeros")
            return INVALID
        if tag == _T + "bool":
            if raw.lower() in ("true", "false"):
                return raw.lower() == "true"
            self.error(line, col, f"'{raw}' would be read as a boolean; write true or false "
                                  "(or quote it for a string)")
            return INVALID
        if tag == _T + "null":
            return None
        if tag == _T + "float":
            text = raw.replace("_", "").lower()
            try:
                return float(text.replace(".inf", "inf").replace(".nan", "nan"))
            except ValueError:
                self.error(line, col, f"cannot read number '{_short(raw)}'")
                return INVALID
        if tag == _T + "timestamp":
            return raw
        self.error(line, col, f"YAML tag '{_short(tag)}' is not allowed; convcost reads plain YAML only")
        return INVALID


def read_yaml(text: str, path: str, problems: list[Problem]) -> Y | None:
    """Compose YAML text into a Y tree; problems are appended, None if nothing usable."""
    return _read_yaml(text, path, problems)[0]


def _read_yaml(text: str, path: str, problems: list[Problem]) -> tuple[Y | None, bool]:
    """The Y tree (or None) and whether it uses aliases."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        if "maximum nesting depth" in what:
            # libyaml's own bound (1000 levels), met before this reader's MAX_DEPTH can be.
            problems.append(Problem(path, line, col, f"the spec is nested more than {MAX_DEPTH} levels deep "
                                                     "here; flatten it (a template under 'blocks:' or a repeat "
                                                     "avoids deep nesting)"))
            return None, False
        if exc.context and exc.context_mark and exc.problem:
            ctx = exc.context_mark
            what += f" ({exc.context} at line {ctx.line + 1}, column {ctx.column + 1})"
        problems.append(Problem(path, line, col, f"invalid YAML: {what}; check brackets, quotes and indentation"))
        return None, False
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (NUL, most control characters); libyaml counts bytes.
        data = text.encode("utf-8", "surrogatepass")
        start = data.rfind(b"\n", 0, exc.position) + 1
        line = data.count(b"\n", 0, exc.position) + 1
        col = len(data[start:exc.position].decode("utf-8", "replace")) + 1
        what = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        problems.append(Problem(path, line, col, f"invalid YAML: character {what} is not allowed in YAML "
                                                 "text; remove it (or write it as an escape in a quoted string)"))
        return None, False
    except yaml.YAMLError as exc:
        problems.append(Problem(path, 1, 1, f"invalid YAML: {exc}"))
        return None, False
    except RecursionError:
        problems.append(Problem(path, 1, 1, "the YAML is nested too deeply to read"))
        return None, False
    if node is None:
        problems.append(Problem(path, 1, 1, "the spec is empty; it needs 'input' and 'layers' (or 'models')"))
        return None, False
    reader = _YamlReader(path, problems)
    try:
        return reader.convert(node), reader.shared
    except _Abort:  # too many problems to be worth reading on
        return None, False
    except RecursionError:  # a backstop: MAX_DEPTH keeps conversion shallow
        problems.append(Problem(path, 1, 1, "the YAML is nested too deeply to read"))
        return None, False


# ---------------------------------------------------------------------------- templates


class ExprError(ValueError):
    pass


_TOKEN_RE = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z_0-9]*)|(//|[-+*()]))")
_SUBST_RE = re.compile(r"\$\{([^}]*)\}")


def _tokenize(expr: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    expr = expr.rstrip()
    while pos < len(expr):
        m = _TOKEN_RE.match(expr, pos)
        if not m or m.end() == pos:
            raise ExprError(f"cannot read '{_short(expr[pos:].strip())}' in '{_short(expr)}'; use integers, "
                            "parameter names and + - * // ( )")
        num, name, op = m.groups()
        if num and len(num) > MAX_INT_DIGITS:
            raise ExprError(f"integer '{_short(num, 30)}' is too large; integers have at most "
                            f"{MAX_INT_DIGITS} digits")
        tokens.append(("num", int(num)) if num else ("name", name) if name else ("op", op))
        pos = m.end()
    return tokens


def evaluate(expr: str, env: dict[str, Any]) -> Any:
    """Integer arithmetic (+ - * // parentheses) over named params, without eval.

    A bare parameter name yields the parameter's value whatever its type.
    """
    tokens = _tokenize(expr)
    if not tokens:
        raise ExprError("empty expression '${}'")
    if len(tokens) == 1 and tokens[0][0] == "name":
        return _lookup(tokens[0][1], env)
    pos = 0
    depth = 0  # open parentheses and unary signs: bounded so the recursion stays shallow

    def peek() -> tuple[str, Any] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, Any]:
        nonlocal pos
        tok = peek()
        if tok is None:
            raise ExprError(f"'{_short(expr)}' ends too early")
        pos += 1
        return tok

    def atom() -> int:
        nonlocal depth
        kind, val = take()
        if kind == "num":
            return val
        if kind == "name":
            v = _lookup(val, env)
            if type(v) is not int:
                raise ExprError(f"parameter '{val}' is {_describe(v)}, not an integer")
            return v
        depth += 1
        if depth > MAX_NESTING:
            raise ExprError(f"'{_short(expr)}' nests parentheses or signs more than {MAX_NESTING} deep")
        if val == "(":
            v = add()
            if peek() != ("op", ")"):
                raise ExprError(f"missing ')' in '{_short(expr)}'")
            take()
            depth -= 1
            return v
        if val in "+-":
            v = atom()
            depth -= 1
            return -v if val == "-" else v
        raise ExprError(f"unexpected '{_short(str(val))}' in '{_short(expr)}'")

    def mul() -> int:
        v = atom()
        while peek() in (("op", "*"), ("op", "//")):
            op = take()[1]
            rhs = atom()
            if op == "*":
                v = _bounded(v * rhs, expr)
            elif rhs == 0:
                raise ExprError(f"division by zero in '{_short(expr)}'")
            else:
                v //= rhs
        return v

    def add() -> int:
        v = mul()
        while peek() in (("op", "+"), ("op", "-")):
            op = take()[1]
            v = _bounded(v + mul() if op == "+" else v - mul(), expr)
        return v

    result = add()
    if pos != len(tokens):
        raise ExprError(f"unexpected '{_short(str(tokens[pos][1]))}' in '{_short(expr)}'")
    return result


def _bounded(v: int, expr: str) -> int:
    # Without a bound, templates that square a parameter at every level grow it exponentially.
    if abs(v) >= 10 ** MAX_INT_DIGITS:
        raise ExprError(f"'{_short(expr)}' is too large (10^{MAX_INT_DIGITS} or more)")
    return v


def _lookup(name: str, env: dict[str, Any]) -> Any:
    if name not in env:
        raise ExprError(f"unknown parameter '{_short(name)}'{did_you_mean(name, env)}")
    return env[name]


# ---------------------------------------------------------------------------- spec -> models


class _Abort(Exception):
    """Stop reading the file: the layer limit or the problem cap was hit (the problem is recorded)."""


class _Scope:
    """Names visible in one layer list; lookups fall back to the enclosing lists."""

    __slots__ = ("prefix", "input", "names", "counters", "parent")

    def __init__(self, prefix: str, input_node: str, parent: _Scope | None):
        self.prefix = prefix
        self.input = input_node
        self.names: dict[str, str] = {}
        self.counters: dict[str, int] = {}
        self.parent = parent

    def lookup(self, name: str) -> str | None:
        scope: _Scope | None = self
        while scope is not None:
            if name == INPUT:
                return scope.input
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None

    def visible(self) -> list[str]:
        out: list[str] = [INPUT]
        scope: _Scope | None = self
        while scope is not None:
            out.extend(scope.names)
            scope = scope.parent
        return out


class _Template:
    __slots__ = ("name", "params", "layers")

    def __init__(self, name: str, params: dict[str, Y | None], layers: Y):
        self.name = name
        self.params = params  # None: required
        self.layers = layers


class _SpecReader:
    def __init__(self, path: str, max_layers: int):
        self.path = path
        self.max_layers = max_layers
        self.problems: list[Problem] = []
        self.templates: dict[str, _Template] = {}
        self.nodes: list[Node] = []
        self.node_count = 0  # over all models of the file: the layer limit bounds the whole file
        self.models_read = 0
        self.expanding: list[str] = []
        self.nesting = 0  # layer lists being expanded inside each other
        self.shared = False  # the YAML uses aliases: lists may be expanded many times over
        self.sizes: dict[int, tuple[Y, int]] = {}  # id -> (Y kept alive so the id stays unique, size)
        self.top_input_given = False
        self.where = ""  # " (in template 'x' used at L:C)" while expanding a template

    # -- reporting and typed values

    def error(self, at: Y | tuple[int, int], message: str) -> None:
        line, col = (at.line, at.col) if isinstance(at, Y) else at
        self.problems.append(Problem(self.path, line, col, message + self.where))
        if len(self.problems) >= PROBLEM_CAP:
            raise _Abort  # e.g. an alias bomb of broken layers: more problems tell nothing new

    def key_pos(self, y: Y, key: str) -> tuple[int, int]:
        return y.keys[key] if y.keys and key in y.keys else (y.line, y.col)

    def check_keys(self, y: Y, allowed: tuple[str, ...] | list[str], what: str) -> None:
        for k in y.value:
            if k not in allowed:
                self.error(self.key_pos(y, k), f"unknown key '{_short(k)}' in {what}{did_you_mean(k, allowed)}"
                           + ("" if did_you_mean(k, allowed) else f"; allowed keys: {', '.join(allowed)}"))

    def expect_int(self, y: Y, what: str, minimum: int = 1) -> int | _Invalid:
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
        elif type(v) is int:
            hint = "" if minimum != 1 else "; sizes start at 1"
        self.error(y, f"{what} must be {need}, got {_describe(v)}{hint}")
        return INVALID

    def expect_str(self, y: Y, what: str) -> str | _Invalid:
        if isinstance(y.value, str):
            return y.value
        if y.value is not INVALID:
            self.error(y, f"{what} must be a string, got {_describe(y.value)}")
        return INVALID

    def expect_list(self, y: Y, what: str) -> list[Y] | None:
        if isinstance(y.value, list):
            return y.value
        if y.value is not INVALID:
            self.error(y, f"{what} must be a list, got {_describe(y.value)}")
        return None

    def expect_map(self, y: Y, what: str) -> dict[str, Y] | None:
        if isinstance(y.value, dict):
            return y.value
        if y.value is not INVALID:
            self.error(y, f"{what} must be a mapping, got {_describe(y.value)}")
        return None

    def pair(self, y: Y, what: str, minimum: int = 1) -> tuple[int, int] | _Invalid:
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
                              f"right], got '{_short(v)}'{did_you_mean(v, ('same', 'valid'))}")
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
                self.error(y, f"{what} must be true or false, got {_describe(v)}")
            return INVALID
        if kind == "choice":
            if isinstance(v, str) and v in choices:
                return v
            if v is not INVALID:
                self.error(y, f"{what} must be one of {', '.join(choices)}, got {_describe(v)}"
                              f"{did_you_mean(v, choices)}")
            return INVALID
        if kind == "range":
            if isinstance(v, list) and len(v) == 2:
                ends = tuple(self.expect_int(item, what, 0) for item in v)
                return INVALID if INVALID in ends else ends
            if v is not INVALID:
                self.error(y, f"{what} must be [start, stop] (channels start to stop - 1), got {_describe(v)}")
            return INVALID
        raise AssertionError(kind)

    # -- file and models

    def read(self, root: Y) -> list[Model]:
        top = self.expect_map(root, "the top level of a spec")
        if top is None:
            return []
        self.check_keys(root, TOP_KEYS, "the spec")
        stem = Path(self.path).stem if not self.path.startswith("<") else self.path.strip("<>")
        if "blocks" in top:
            self.read_templates(top["blocks"])
        self.top_input_given = "input" in top
        default_input = self.read_input(top["input"]) if self.top_input_given else None
        if "layers" in top and "models" in top:
            self.error(self.key_pos(root, "models"), "a spec has 'layers' or 'models', not both; "
                                                     "move the top-level layers into a model")
            return []
        if "models" in top:
            items = self.expect_list(top["models"], "'models'")
            if items is None:
                return []
            if not items:
                self.error(top["models"], "'models' is empty; add at least one model")
            models = []
            for i, item in enumerate(items, 1):
                if self.expect_map(item, "each model") is None:
                    continue
                self.check_keys(item, MODEL_KEYS, "a model")
                model = self.read_model(item, f"{stem}-{i}", default_input)
                if model:
                    models.append(model)
            return models
        if "layers" not in top:
            self.error(root, "the spec has no 'layers' list (or 'models' list); add one")
            return []
        model = self.read_model(root, stem, default_input, top_level=True)
        return [model] if model else []

    def read_input(self, y: Y) -> Shape | None:
        if isinstance(y.value, list):
            if len(y.value) != 3:
                self.error(y, f"input must be [height, width, channels], got a list of {len(y.value)}")
                return None
            dims = [self.expect_int(v, "each input size") for v in y.value]
        elif isinstance(y.value, dict):
            self.check_keys(y, ("height", "width", "channels"), "input")
            dims = []
            for k in ("height", "width", "channels"):
                if k not in y.value:
                    self.error(y, f"input needs '{k}'")
                    dims.append(INVALID)
                else:
                    dims.append(self.expect_int(y.value[k], f"input {k}"))
        else:
            if y.value is not INVALID:
                self.error(y, f"input must be [height, width, channels], got {_describe(y.value)}")
            return None
        if INVALID in dims:
            return None
        shape = Shape(*dims)
        if shape.elements >= MAX_ELEMENTS:
            self.error(y, f"input {shape} has 10^18 elements or more; no network needs so large an input")
            return None
        return shape

    def read_model(self, y: Y, default_name: str, default_input: Shape | None,
                   top_level: bool = False) -> Model | None:
        m = y.value
        before = len(self.problems)
        name = self.expect_str(m["name"], "'name'") if "name" in m else default_name
        description = self.expect_str(m["description"], "'description'") if "description" in m else ""
        # At the top level, 'input' was read once as the default for every model.
        shape = self.read_input(m["input"]) if "input" in m and not top_level else default_input
        if shape is None and "input" not in m and not self.top_input_given:
            self.error(y, f"model '{_short(str(name))}' has no 'input'; add input: [height, width, channels]")
        if "layers" not in m:
            self.error(y, f"model '{_short(str(name))}' has no 'layers'; add a list of layers")
            return None
        self.nodes = []
        if self.shared or self.templates:
            # Aliases and templates can describe a huge model in a few lines: refuse it before
            # expanding rather than after a million layers.
            at_least = self.size_of_list(m["layers"], 0)
            if self.node_count + at_least > self.max_layers:
                self.too_many_layers(m["layers"], "'layers'")
        scope = _Scope("", INPUT, None)
        self.expand_list(m["layers"], scope, "'layers'")
        self.models_read += 1
        if len(self.problems) > before or shape is None or name is INVALID:
            return None
        model = Model(str(name), shape, tuple(self.nodes),
                      "" if description is INVALID else str(description), self.path)
        try:
            infer_shapes(model)
        except SpecError as exc:
            self.problems.extend(exc.problems)
            return None
        return model

    def read_templates(self, y: Y) -> None:
        defs = self.expect_map(y, "'blocks'")
        if defs is None:
            return
        for tname, body in defs.items():
            at = self.key_pos(y, tname)
            if tname in LAYERS or tname in ALIASES or tname in BLOCK_TYPES:
                self.error(at, f"template name '{tname}' is a built-in layer type; choose another name")
                continue
            if len(tname) > MAX_PATH:
                self.error(at, f"template name '{_short(tname)}' is {len(tname):,} characters long; "
                               f"template names have at most {MAX_PATH}")
                continue
            if self.expect_map(body, f"template '{tname}'") is None:
                continue
            self.check_keys(body, TEMPLATE_KEYS, f"template '{tname}'")
            params: dict[str, Y | None] = {}
            if "params" in body.value:
                pmap = self.expect_map(body.value["params"], f"'params' of template '{tname}'")
                for pname, default in (pmap or {}).items():
                    params[pname] = None if default.value is None else default
            if "layers" not in body.value:
                self.error(body, f"template '{tname}' has no 'layers'")
                continue
            layers = body.value["layers"]
            if isinstance(layers.value, list) and not layers.value:
                # An empty template would expand to nothing, so using it could never reach a limit.
                self.error(layers, f"template '{tname}' has an empty 'layers' list; add its layers")
            self.templates[tname] = _Template(tname, params, layers)

    # -- layer lists

    def expand_list(self, y: Y, scope: _Scope, what: str) -> str:
        """Turn one layer list into nodes; return the node name of its output."""
        items = self.expect_list(y, what)
        if items is None:
            return scope.input
        if self.nesting >= MAX_NESTING:
            # Templates can nest without deep YAML; this keeps Python's recursion shallow.
            self.error(y, f"blocks and templates are nested more than {MAX_NESTING} deep here; "
                          "flatten the structure")
            return scope.input
        self.nesting += 1
        try:
            return self.expand_items(items, scope)
        finally:
            self.nesting -= 1

    def expand_items(self, items: list[Y], scope: _Scope) -> str:
        later: dict[str, Y] = {}
        for item in items:
            if isinstance(item.value, dict) and isinstance(item.value.get("name", Y(None, 0, 0)).value, str):
                later.setdefault(item.value["name"].value, item)
        current = scope.input
        for item in items:
            name_y = item.value.get("name") if isinstance(item.value, dict) else None
            if name_y is not None and isinstance(name_y.value, str):
                if later.get(name_y.value) is item:
                    del later[name_y.value]
            current = self.expand_item(item, scope, current, later)
        return current

    def expand_item(self, y: Y, scope: _Scope, previous: str, later: dict[str, Y]) -> str:
        if self.expect_map(y, "each layer (like {type: conv, filters: 16, kernel: 1})") is None:
            return previous
        item = y.value
        if "type" not in item:
            self.error(y, "layer has no 'type'; add one, e.g. type: conv")
            return previous
        type_name = self.expect_str(item["type"], "'type'")
        if type_name is INVALID:
            return previous
        canon = ALIASES.get(type_name, type_name)
        known = canon in LAYERS or canon in BLOCK_TYPES or canon in self.templates
        # Count every item of a type, named or not, so default names follow positions.
        n = scope.counters[canon] = scope.counters.get(canon, 0) + 1
        local = self.local_name(y, canon, n, scope)
        full = scope.prefix + local if local else ""
        if local:
            scope.names[local] = full
        if not known:
            choices = list(LAYERS) + list(ALIASES) + list(BLOCK_TYPES) + list(self.templates)
            hint = did_you_mean(type_name, choices) or "; see the layer table in the README"
            self.error(item["type"], f"unknown layer type '{_short(type_name)}'{hint}")
            return full or previous
        if len(full) > MAX_PATH:
            # Paths are stored per layer: a long name repeated a million times would fill memory.
            self.error(item.get("name", y), f"layer path '{_short(full)}' is {len(full):,} characters long "
                                            f"(at most {MAX_PATH}); use shorter names or less nesting")
            return previous
        inputs = self.read_inputs(y, scope, previous, later, full)
        if canon in LAYERS:
            self.add_layer(y, canon, full, inputs)
        elif canon == "parallel":
            self.add_parallel(y, full, inputs, scope)
        elif canon == "residual":
            self.add_residual(y, full, inputs, scope)
        elif canon == "repeat":
            out = self.add_repeat(y, full, inputs, scope)
            if local and out:
                scope.names[local] = out
            return out or full
        else:
            out = self.add_template(y, self.templates[canon], full, inputs, scope)
            if local and out:
                scope.names[local] = out
            return out or full
        return full or previous

    def local_name(self, y: Y, canon: str, n: int, scope: _Scope) -> str:
        item = y.value
        if "name" in item:
            name = self.expect_str(item["name"], "'name'")
            if name is INVALID:
                return ""
            if not _NAME_RE.match(name) or name == INPUT:
                self.error(item["name"], f"layer name '{_short(name)}' is not allowed; names are non-empty, "
                                         "without '/' or spaces, and not 'input'")
                return ""
            at = item["name"]
        else:
            name, at = f"{canon}{n}", y
        if name in scope.names:
            self.error(at, f"duplicate layer name '{_short(name)}' in this list; give each layer its own name")
            return ""
        return name

    def read_inputs(self, y: Y, scope: _Scope, previous: str, later: dict[str, Y],
                    own: str = "") -> tuple[str, ...] | None:
        if "inputs" not in y.value:
            return (previous,)
        iy = y.value["inputs"]
        raw = [iy] if isinstance(iy.value, str) else self.expect_list(iy, "'inputs'")
        if raw is None:
            return None
        if not raw:
            self.error(iy, "'inputs' is empty; name one or more earlier layers")
            return None
        out: list[str] = []
        for ref in raw:
            name = self.expect_str(ref, "each name in 'inputs'")
            if name is INVALID:
                return None
            found = scope.lookup(name)
            if found is not None and found == own:
                self.error(ref, f"'inputs' names '{_short(name)}', the layer itself; a layer can only read "
                                "earlier layers")
                return None
            if found is None:
                if name in later:
                    self.error(ref, f"'inputs' names '{_short(name)}', which comes later (line {later[name].line}); "
                                    "a layer can only read earlier layers")
                else:
                    self.error(ref, f"'inputs' names unknown layer '{_short(name)}'{did_you_mean(name, scope.visible())}")
                return None
            out.append(found)
        return tuple(out)

    def add_node(self, node: Node) -> None:
        self.node_count += 1
        if self.node_count > self.max_layers:
            what = "the model expands" if not self.models_read else "the models of this spec expand together"
            self.error((node.line, node.col), f"{what} to more than {self.max_layers:,} layers; "
                                              "reduce 'times' in repeats or raise --max-layers")
            raise _Abort
        self.nodes.append(node)

    def too_many_layers(self, at: Y, subject: str, detail: str = "") -> NoReturn:
        together = " with the models before it" if self.models_read else ""
        self.error(at, f"{subject} expands to more than {self.max_layers:,} layers{together}{detail}; reduce "
                       "'times' in repeats or the uses of templates and aliases, or raise --max-layers")
        raise _Abort

    # -- lower bounds of the size of a model, to refuse a huge one before expanding it

    def size_of_list(self, y: Y, depth: int) -> int:
        """Layers that a valid layer list makes at least; saturates just above the limit."""
        if not isinstance(y.value, list):
            return 0
        known = self.sizes.get(id(y))
        if known is not None:
            return known[1]
        total = 0
        if depth <= MAX_NESTING:  # deeper lists count 0: still a lower bound
            cap = self.max_layers + 1
            for item in y.value:
                total += self.size_of_item(item, depth)
                if total >= cap:
                    total = cap
                    break
        self.sizes[id(y)] = (y, total)
        return total

    def size_of_item(self, y: Y, depth: int) -> int:
        item = y.value
        if not isinstance(item, dict) or "type" not in item or not isinstance(item["type"].value, str):
            return 0
        canon = ALIASES.get(item["type"].value, item["type"].value)
        if canon in LAYERS:
            return 1
        depth += 1
        if canon == "parallel":
            branches = item["branches"].value if "branches" in item else None
            if not isinstance(branches, list):
                return 1
            return 1 + sum(self.size_of_list(b, depth) for b in branches)
        if canon == "residual":
            body = self.size_of_list(item["body"], depth) if "body" in item else 0
            return 1 + body + (self.size_of_list(item["shortcut"], depth) if "shortcut" in item else 0)
        if canon == "repeat":
            times = item["times"].value if "times" in item else None
            if type(times) is not int or times < 1:
                times = 1 if isinstance(times, str) and "${" in times else 0  # a template parameter
            body = self.size_of_list(item["body"], depth) if "body" in item else 0
            return min(times * body, self.max_layers + 1)
        tpl = self.templates.get(canon)
        if tpl is None or canon in self.expanding:
            return 0
        self.expanding.append(canon)  # a template that uses itself counts 0 here (it is an error)
        try:
            return self.size_of_list(tpl.layers, depth)
        finally:
            self.expanding.pop()

    def add_layer(self, y: Y, canon: str, full: str, inputs: tuple[str, ...] | None) -> None:
        cls, _ = LAYERS[canon]
        keys = spec_keys(cls)
        item = y.value
        label = f"layer '{full}' ({canon})" if full else f"a {canon} layer"
        self.check_keys(y, layer_keys(cls), label)
        values: dict[str, Any] = {}
        for k, (kind, required) in keys.items():
            if k in item:
                values[k] = self.value_of_kind(kind, item[k], k, label, key_choices(cls).get(k, ()))
            elif required:
                self.error(y, f"{label} needs '{k}'; add {k}: <{KIND_HINTS[kind]}>")
                values[k] = INVALID
        if cls.arity > 1:
            if "inputs" not in item:
                self.error(y, f"{label} needs 'inputs': a list of 2 or more earlier layers")
                return
            if inputs is not None and len(inputs) < 2:
                self.error(item["inputs"], f"{label} needs 2 or more 'inputs', got {len(inputs)}")
                return
        elif inputs is not None and len(inputs) != 1:
            self.error(item["inputs"], f"{label} takes one input, got {len(inputs)}; "
                                       "merge them first with an add or concat layer")
            return
        if inputs is None or not full or INVALID in values.values():
            return
        try:
            layer = make_layer(canon, **values)
        except LayerError as exc:  # keys that do not fit together (upsample's scale and size, say)
            self.error(y, f"{label}: {exc}")
            return
        self.add_node(Node(full, layer, inputs, y.line, y.col))

    def block_list(self, y: Y, key: str, label: str, required: bool = True) -> Y | None:
        if key not in y.value:
            if required:
                self.error(y, f"{label} needs '{key}'")
            return None
        return y.value[key]

    def single_input(self, y: Y, inputs: tuple[str, ...] | None, label: str) -> str | None:
        if inputs is None:
            return None
        if len(inputs) != 1:
            self.error(y.value["inputs"], f"{label} takes one input, got {len(inputs)}")
            return None
        return inputs[0]

    def add_parallel(self, y: Y, full: str, inputs: tuple[str, ...] | None, scope: _Scope) -> None:
        label = f"block '{full}' (parallel)"
        self.check_keys(y, COMMON_KEYS + BLOCK_KEYS["parallel"], label)
        source = self.single_input(y, inputs, label)
        merge = "concat"
        if "merge" in y.value:
            merge = self.expect_str(y.value["merge"], "'merge'")
            if merge not in ("concat", "add", INVALID):
                self.error(y.value["merge"], f"'merge' must be concat or add, got '{_short(str(merge))}'"
                                             f"{did_you_mean(merge, ('concat', 'add'))}")
                merge = INVALID
        by = self.block_list(y, "branches", label)
        branches = self.expect_list(by, "'branches'") if by is not None else None
        if branches is not None and not branches:
            self.error(by, "'branches' is empty; add one layer list per branch")
        if source is None or branches is None or not full:
            return
        outs = []
        for i, branch in enumerate(branches, 1):
            sub = _Scope(f"{full}/b{i}/", source, scope)
            outs.append(self.expand_list(branch, sub, f"branch {i} of '{full}'"))
        if merge is not INVALID and branches:
            self.add_node(Node(full, make_layer(merge), tuple(outs), y.line, y.col))

    def add_residual(self, y: Y, full: str, inputs: tuple[str, ...] | None, scope: _Scope) -> None:
        label = f"block '{full}' (residual)"
        self.check_keys(y, COMMON_KEYS + BLOCK_KEYS["residual"], label)
        source = self.single_input(y, inputs, label)
        body = self.block_list(y, "body", label)
        shortcut = self.block_list(y, "shortcut", label, required=False)
        if body is not None and isinstance(body.value, list) and not body.value:
            self.error(body, f"{label} has an empty 'body'; add its layers")
            return
        if source is None or body is None or not full:
            return
        body_out = self.expand_list(body, _Scope(f"{full}/", source, scope), f"'body' of '{full}'")
        short_out = source
        if shortcut is not None:
            short_out = self.expand_list(shortcut, _Scope(f"{full}/shortcut/", source, scope),
                                         f"'shortcut' of '{full}'")
        self.add_node(Node(full, make_layer("add"), (body_out, short_out), y.line, y.col))

    def add_repeat(self, y: Y, full: str, inputs: tuple[str, ...] | None, scope: _Scope) -> str | None:
        label = f"block '{full}' (repeat)"
        self.check_keys(y, COMMON_KEYS + BLOCK_KEYS["repeat"], label)
        source = self.single_input(y, inputs, label)
        times = self.expect_int(y.value["times"], "'times'") if "times" in y.value else None
        if times is None:
            self.error(y, f"{label} needs 'times'")
        body = self.block_list(y, "body", label)
        if body is not None and isinstance(body.value, list) and not body.value:
            self.error(body, f"{label} has an empty 'body'; add its layers")
            return None
        if source is None or body is None or times in (None, INVALID) or not full:
            return None
        at_least = self.size_of_list(body, 0)
        if self.node_count + times * at_least > self.max_layers:
            self.too_many_layers(y, label, f" ({times:,} times a body of at least {_layers(at_least)})")
        current = source
        for i in range(1, times + 1):
            before, nodes_before = len(self.problems), self.node_count
            current = self.expand_list(body, _Scope(f"{full}/{i}/", current, scope), f"'body' of '{full}'")
            if len(self.problems) > before:
                break  # the same body would report the same problems again
            made = self.node_count - nodes_before
            if made == 0:
                break  # nothing was added, so every further round would add nothing either
            if i == 1 and self.node_count + made * (times - 1) > self.max_layers:
                # Every round makes as many layers as the first: stop now, not a million layers later.
                self.too_many_layers(y, label, f" ({times:,} times a body of {_layers(made)})")
        return current

    def add_template(self, y: Y, tpl: _Template, full: str, inputs: tuple[str, ...] | None,
                     scope: _Scope) -> str | None:
        label = f"block '{full}' (template {tpl.name})"
        item = y.value
        args = {k: v for k, v in item.items() if k not in COMMON_KEYS}
        for k in args:
            if k not in tpl.params:
                hint = did_you_mean(k, tpl.params) or (
                    f"; its parameters are: {', '.join(tpl.params)}" if tpl.params else "; it takes no parameters")
                self.error(self.key_pos(y, k), f"template '{tpl.name}' has no parameter '{_short(k)}'{hint}")
        env: dict[str, Any] = {}
        for p, default in tpl.params.items():
            if p in args:
                env[p] = args[p]
            elif default is None:
                self.error(y, f"{label} needs parameter '{p}' (the template gives it no default)")
            else:
                env[p] = default
        source = self.single_input(y, inputs, label)
        if tpl.name in self.expanding:
            chain = " -> ".join(self.expanding + [tpl.name])
            self.error(y, f"template '{tpl.name}' uses itself ({chain}); a template cannot contain itself")
            return None
        if source is None or len(env) != len(tpl.params) or not full:
            return None
        if any(v.value is INVALID for v in env.values()):
            return None
        outer = self.where
        self.where = outer or f" (in template '{tpl.name}' used at line {y.line})"
        self.expanding.append(tpl.name)
        try:
            body = _Substituter(self, {k: v.value for k, v in env.items()}).subst(tpl.layers)
            return self.expand_list(body, _Scope(f"{full}/", source, scope), f"'layers' of template '{tpl.name}'")
        finally:
            self.expanding.pop()
            self.where = outer


class _Substituter:
    """Copies a template body with every ${expr} replaced; shared (aliased) values stay shared."""

    def __init__(self, reader: _SpecReader, env: dict[str, Any]):
        self.reader = reader
        self.env = env
        self.memo: dict[int, Y] = {}

    def subst(self, y: Y) -> Y:
        done = self.memo.get(id(y))
        if done is not None:
            return done
        v = y.value
        if isinstance(v, dict):
            out = Y({k: self.subst(x) for k, x in v.items()}, y.line, y.col, y.keys)
        elif isinstance(v, list):
            out = Y([self.subst(x) for x in v], y.line, y.col)
        elif isinstance(v, str) and "${" in v:
            out = Y(self.text(v, y), y.line, y.col)
        else:
            out = y
        self.memo[id(y)] = out
        return out

    def text(self, v: str, y: Y) -> Any:
        size = len(v)

        def piece(m: re.Match) -> str:
            nonlocal size
            value = evaluate(m.group(1), self.env)
            if isinstance(value, (list, dict)):
                raise ExprError(f"'${{{_short(m.group(1))}}}' inside a longer text must be a number or a "
                                f"string, not {_describe(value)}")
            out = str(value)
            size += len(out)
            if size > MAX_TEXT:  # checked piece by piece: "${p}${p}..." must not build a huge string
                raise ExprError(f"the text would be longer than {MAX_TEXT:,} characters")
            return out

        try:
            whole = _SUBST_RE.fullmatch(v)
            if whole:
                return evaluate(whole.group(1), self.env)
            return _SUBST_RE.sub(piece, v)
        except ExprError as exc:
            self.reader.error(y, f"in '{_short(v)}': {exc}")
            return INVALID


def parse_spec(text: str, path: str = "<spec>", *, max_layers: int = DEFAULT_MAX_LAYERS) -> list[Model]:
    """Read a spec from YAML text; raise SpecError with every problem found."""
    problems: list[Problem] = []
    root, shared = _read_yaml(text, path, problems)
    models: list[Model] = []
    if root is not None:
        reader = _SpecReader(path, max_layers)
        reader.problems = problems
        reader.shared = shared
        try:
            models = reader.read(root)
        except _Abort:
            pass  # the reason is among the problems
        except RecursionError:  # a backstop: the depth limits above should make it unreachable
            problems.append(Problem(path, 1, 1, "the spec is nested too deeply to read; flatten it"))
    if problems:
        # A template or alias used many times repeats the same problem: say it once.
        ordered = sorted(dict.fromkeys(problems), key=lambda p: (p.line, p.col))
        raise SpecError(ordered[:MAX_PROBLEMS], _notes(path, len(ordered), len(problems) >= PROBLEM_CAP))
    return models


def _notes(path: str, found: int, stopped: bool) -> tuple[str, ...]:
    """The line that says problems were left out, if any were."""
    more = found - MAX_PROBLEMS
    if more <= 0 and not stopped:
        return ()
    what = f"{more} more problem{'s' * (more != 1)} not shown (at most {MAX_PROBLEMS} per file)" if more > 0 else ""
    if stopped:
        what += f"{', and r' if what else 'r'}eading stopped after {PROBLEM_CAP} problems"
    return (f"{path}: note: {what}; fix these and run again",)


def load_spec(path: str | Path, *, max_layers: int = DEFAULT_MAX_LAYERS) -> list[Model]:
    """Read a spec file (UTF-8, or '-' for standard input); raise SpecError with every problem found."""
    from .sources import load_sources

    return load_sources([str(path)], max_layers)

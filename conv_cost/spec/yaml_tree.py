"""YAML text -> a tree of values with their source positions (the `Y` nodes the reader walks).

PyYAML's composer (its C version where present) gives a node tree with positions; values are
converted by hand so duplicate keys, YAML 1.1 surprises (`yes`, `017`, `1_0`) and foreign tags
are problems rather than silent guesses.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .budget import MAX_DEPTH, MAX_INT_DIGITS, MAX_TEXT
from .problems import Abort, Problems, short

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_T = "tag:yaml.org,2002:"
_STR, _INT = _T + "str", _T + "int"
_SEQ, _MAP = _T + "seq", _T + "map"
_INT_RE = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z", re.ASCII)


class Invalid:
    """A value already reported as a problem; later checks pass over it silently."""

    def __repr__(self) -> str:
        return "<invalid>"


INVALID = Invalid()


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


# ---------------------------------------------------------------------------- YAML -> Y


class YamlReader:
    def __init__(self, problems: Problems):
        self.problems = problems
        self.memo: dict[int, Y] = {}  # aliases share one converted value, so expansion stays linear
        self.shared = False  # an alias was used: the tree is a DAG that expansion may multiply
        self.too_deep = False

    def error(self, line: int, col: int, message: str) -> None:
        self.problems.add(line, col, message)

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
        self.error(line, col, f"YAML tag '{short(node.tag)}' is not allowed; convcost reads plain YAML only")
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
            shown = short(knode.value) if isinstance(knode, yaml.ScalarNode) else "a collection"
            self.error(kl, kc, f"a key must be a plain string, got '{shown}'; quote it if it is a name")
        elif len(knode.value) > MAX_TEXT:
            k = knode.value
            self.error(kl, kc, f"key '{short(k)}' is {len(k):,} characters long; keys have at most {MAX_TEXT:,}")
        else:
            k = knode.value
            self.error(kl, kc, f"duplicate key '{short(k)}' (first at line {keys[k][0]}); keep one of them")

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
                    return int(raw)
                digits = raw.lstrip("+-")
                if len(digits) > MAX_INT_DIGITS:
                    # Python refuses to convert very long digit strings; no layer needs them anyway.
                    self.error(line, col, f"integer '{short(raw, 30)}' is too large; "
                                          f"integers have at most {MAX_INT_DIGITS} digits")
                    return INVALID
                return int(digits) * (-1 if raw.startswith("-") else 1)
            self.error(line, col, f"integer '{short(raw)}' is ambiguous (YAML 1.1 reads it in another base or "
                                  "with '_' separators); write it in plain decimal, without leading zeros or '_'")
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
                self.error(line, col, f"cannot read number '{short(raw)}'")
                return INVALID
        if tag == _T + "timestamp":
            return raw
        self.error(line, col, f"YAML tag '{short(tag)}' is not allowed; convcost reads plain YAML only")
        return INVALID


def compose_tree(text: str, problems: Problems) -> tuple[Y | None, bool]:
    """The Y tree (or None) and whether it uses aliases."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        if "maximum nesting depth" in what:
            # libyaml's own bound (1000 levels), met before this reader's MAX_DEPTH can be.
            problems.add(line, col, f"the spec is nested more than {MAX_DEPTH} levels deep here; flatten it "
                                    "(a template under 'blocks:' or a repeat avoids deep nesting)")
            return None, False
        if exc.context and exc.context_mark and exc.problem:
            ctx = exc.context_mark
            what += f" ({exc.context} at line {ctx.line + 1}, column {ctx.column + 1})"
        problems.add(line, col, f"invalid YAML: {what}; check brackets, quotes and indentation")
        return None, False
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (NUL, most control characters); libyaml counts bytes.
        data = text.encode("utf-8", "surrogatepass")
        start = data.rfind(b"\n", 0, exc.position) + 1
        line = data.count(b"\n", 0, exc.position) + 1
        col = len(data[start:exc.position].decode("utf-8", "replace")) + 1
        what = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        problems.add(line, col, f"invalid YAML: character {what} is not allowed in YAML text; remove it "
                                "(or write it as an escape in a quoted string)")
        return None, False
    except yaml.YAMLError as exc:
        problems.add(1, 1, f"invalid YAML: {exc}")
        return None, False
    except RecursionError:
        problems.add(1, 1, "the YAML is nested too deeply to read")
        return None, False
    if node is None:
        problems.add(1, 1, "the spec is empty; it needs 'input' and 'layers' (or 'models')")
        return None, False
    reader = YamlReader(problems)
    try:
        return reader.convert(node), reader.shared
    except Abort:  # too many problems to be worth reading on
        return None, False
    except RecursionError:  # a backstop: MAX_DEPTH keeps conversion shallow
        problems.add(1, 1, "the YAML is nested too deeply to read")
        return None, False



"""The `${expr}` language of templates: integer arithmetic (+ - * // parentheses) over the
template's parameters, evaluated without `eval`; and the substitution of a template body."""

from __future__ import annotations

import re
from typing import Any, Callable

from ..errors import did_you_mean
from .budget import MAX_INT_DIGITS, MAX_NESTING, MAX_TEXT
from .problems import describe, short
from .yaml_tree import INVALID, Y

class ExprError(ValueError):
    pass


# ASCII only: fullwidth or Arabic-Indic digits and non-breaking spaces are not read as numbers
# and blanks, as everywhere else in a spec.
_TOKEN_RE = re.compile(r"[ \t]*(?:([0-9]+)|([A-Za-z_][A-Za-z_0-9]*)|(//|[-+*()]))", re.ASCII)
_SUBST_RE = re.compile(r"\$\{([^}]*)\}")


def tokenize(expr: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    expr = expr.rstrip(" \t")
    while pos < len(expr):
        m = _TOKEN_RE.match(expr, pos)
        if not m or m.end() == pos:
            raise ExprError(f"cannot read '{short(expr[pos:].strip())}' in '{short(expr)}'; use integers, "
                            "parameter names and + - * // ( )")
        num, name, op = m.groups()
        if num and len(num) > 1 and num[0] == "0":
            raise ExprError(f"integer '{short(num, 30)}' has a leading zero; write it in plain decimal")
        if num and len(num) > MAX_INT_DIGITS:
            raise ExprError(f"integer '{short(num, 30)}' is too large; integers have at most "
                            f"{MAX_INT_DIGITS} digits")
        tokens.append(("num", int(num)) if num else ("name", name) if name else ("op", op))
        pos = m.end()
    return tokens


def evaluate(expr: str, env: dict[str, Any]) -> Any:
    """Integer arithmetic (+ - * // parentheses) over named params, without eval.

    A bare parameter name yields the parameter's value whatever its type.
    """
    tokens = tokenize(expr)
    if not tokens:
        raise ExprError("empty expression '${}'")
    if len(tokens) == 1 and tokens[0][0] == "name":
        return lookup(tokens[0][1], env)
    pos = 0
    depth = 0  # open parentheses and unary signs: bounded so the recursion stays shallow

    def peek() -> tuple[str, Any] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, Any]:
        nonlocal pos
        tok = peek()
        if tok is None:
            raise ExprError(f"'{short(expr)}' ends too early")
        pos += 1
        return tok

    def atom() -> int:
        nonlocal depth
        kind, val = take()
        if kind == "num":
            return val
        if kind == "name":
            v = lookup(val, env)
            if type(v) is not int:
                raise ExprError(f"parameter '{val}' is {describe(v)}, not an integer")
            return v
        depth += 1
        if depth > MAX_NESTING:
            raise ExprError(f"'{short(expr)}' nests parentheses or signs more than {MAX_NESTING} deep")
        if val == "(":
            v = add()
            if peek() != ("op", ")"):
                raise ExprError(f"missing ')' in '{short(expr)}'")
            take()
            depth -= 1
            return v
        if val in "+-":
            v = atom()
            depth -= 1
            return -v if val == "-" else v
        raise ExprError(f"unexpected '{short(str(val))}' in '{short(expr)}'")

    def mul() -> int:
        v = atom()
        while peek() in (("op", "*"), ("op", "//")):
            op = take()[1]
            rhs = atom()
            if op == "*":
                v = bounded(v * rhs, expr)
            elif rhs == 0:
                raise ExprError(f"division by zero in '{short(expr)}'")
            else:
                v //= rhs
        return v

    def add() -> int:
        v = mul()
        while peek() in (("op", "+"), ("op", "-")):
            op = take()[1]
            v = bounded(v + mul() if op == "+" else v - mul(), expr)
        return v

    result = add()
    if pos != len(tokens):
        raise ExprError(f"unexpected '{short(str(tokens[pos][1]))}' in '{short(expr)}'")
    return result


def bounded(v: int, expr: str) -> int:
    # Without a bound, templates that square a parameter at every level grow it exponentially.
    if abs(v) >= 10 ** MAX_INT_DIGITS:
        raise ExprError(f"'{short(expr)}' is too large (10^{MAX_INT_DIGITS} or more)")
    return v


def lookup(name: str, env: dict[str, Any]) -> Any:
    if name not in env:
        raise ExprError(f"unknown parameter '{short(name)}'{did_you_mean(name, env)}")
    return env[name]


class Substituter:
    """Copies a template body with every ${expr} replaced; shared (aliased) values stay shared."""

    def __init__(self, error: Callable[[Y, str], None], env: dict[str, Any]):
        self.error = error  # reports a problem at a Y node
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
                raise ExprError(f"'${{{short(m.group(1))}}}' inside a longer text must be a number or a "
                                f"string, not {describe(value)}")
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
            self.error(y, f"in '{short(v)}': {exc}")
            return INVALID



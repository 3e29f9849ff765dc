"""Collecting the problems of one spec file, and quoting user text in messages."""

from __future__ import annotations

from typing import Any

from ..errors import MAX_PROBLEMS, Problem, SpecError
from .budget import PROBLEM_CAP


class Abort(Exception):
    """Stop reading the file: a limit or the problem cap was hit (the problem is recorded)."""


class Problems:
    """The problems found in one file, in the order found; Abort once there are PROBLEM_CAP."""

    __slots__ = ("path", "items")

    def __init__(self, path: str):
        self.path = path
        self.items: list[Problem] = []

    def add(self, line: int, col: int, message: str) -> None:
        self.items.append(Problem(self.path, line, col, message))
        if len(self.items) >= PROBLEM_CAP:
            raise Abort  # an alias bomb of broken layers, say: more problems tell nothing new

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self) -> None:
        """SpecError with the problems in source order, each once, at most MAX_PROBLEMS shown."""
        if not self.items:
            return
        # A template or alias used many times repeats the same problem: say it once.
        ordered = sorted(dict.fromkeys(self.items), key=lambda p: (p.line, p.col))
        raise SpecError(ordered[:MAX_PROBLEMS], _notes(self.path, len(ordered), len(self.items) >= PROBLEM_CAP))


def _notes(path: str, found: int, stopped: bool) -> tuple[str, ...]:
    """The line that says problems were left out, if any were."""
    more = found - MAX_PROBLEMS
    if more <= 0 and not stopped:
        return ()
    what = f"{more} more problem{'s' * (more != 1)} not shown (at most {MAX_PROBLEMS} per file)" if more > 0 else ""
    if stopped:
        what += f"{', and r' if what else 'r'}eading stopped after {PROBLEM_CAP} problems"
    return (f"{path}: note: {what}; fix these and run again",)


def short(text: str, limit: int = 60) -> str:
    """User text as quoted in a message: long strings cut and control characters escaped, so a
    message stays one short line."""
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def count_of_layers(n: int) -> str:
    return "1 layer" if n == 1 else f"{n:,} layers"


def describe(v: Any) -> str:
    """A value as a message names it: 'string 'x'', 'float 4.0', 'a list'."""
    if v is None:
        return "null"
    if type(v) is bool:
        return f"boolean {str(v).lower()}"
    if isinstance(v, str):
        return f"string '{short(v)}'"
    if isinstance(v, float):
        return f"float {v!r}"
    if isinstance(v, int):
        return f"{v}"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    return repr(v)

"""Spec problems with source positions, and did-you-mean hints."""

from __future__ import annotations

from typing import Iterable

from .records import record
from .text import inert

MAX_PROBLEMS = 20


@record
class Problem:
    """One thing wrong with a spec, at a 1-based line and column."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        # One problem, one line, whatever characters a quoted name or the file's name brought in.
        if self.line == 0:  # a problem of the whole file (a binary ONNX model has no lines)
            return f"{inert(self.path)}: error: {inert(self.message)}"
        return f"{inert(self.path)}:{self.line}:{self.col}: error: {inert(self.message)}"


class SpecError(Exception):
    """A spec could not be read; carries every problem found, in source order.

    notes are extra lines for the reader, such as how many problems were left out.
    """

    def __init__(self, problems: Iterable[Problem], notes: Iterable[str] = ()):
        self.problems = tuple(problems)
        self.notes = tuple(notes)
        super().__init__("\n".join([*(str(p) for p in self.problems), *self.notes]))


class LayerError(ValueError):
    """A layer cannot be applied to its inputs (shapes, groups); the message names no position."""


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """Return " (did you mean 'x'?)" for the closest choice, or "" if none is close."""
    if not isinstance(word, str) or len(word) > 100:
        return ""
    choices = list(choices)
    if len(choices) > 500:
        # difflib compares with every choice: among 100,000 layer names keep the last 500 of a
        # similar length and the same first letter (a typo rarely changes the first letter).
        choices = [c for c in choices if abs(len(c) - len(word)) <= 2 and c[:1] == word[:1]][-500:]
    import difflib  # only on the error path: not worth its start-up cost on every run

    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""

"""Renderers: Report(s) -> text. Each format is one module; FORMATS lists them for the CLI."""

from __future__ import annotations

from importlib import import_module
from typing import Callable

# format name -> module under conv_cost.render; imported only when used, to keep start-up light.
FORMATS: dict[str, str] = {
    "table": "table",
    "json": "json",
    "markdown": "markdown",
    "csv": "csv",
    "html": "html",
}

# --output file extension -> the format written when no --format is given.
EXTENSIONS: dict[str, str] = {
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
    ".txt": "table",
}


def renderer(fmt: str, kind: str) -> Callable:
    """The function rendering `kind` ("report", "explain" or "compare") in format `fmt`."""
    module = import_module(f"{__name__}.{FORMATS[fmt]}")
    return getattr(module, f"render_{kind}")


def wants_explanations(fmt: str) -> bool:
    """Whether the format prints derivations, which the command must then compute before rendering."""
    return getattr(import_module(f"{__name__}.{FORMATS[fmt]}"), "WANTS_EXPLANATIONS", False)

"""convcost: exact parameter, MAC and FLOP counts for convolutional networks from YAML specs."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_spec", "parse_spec", "parse_spec_file", "read_specs", "SpecFile", "analyze",
           "SpecError"]


def __getattr__(name: str):
    # Lazy, so `python -m conv_cost --help` and the CLI import only what a command needs.
    if name in ("load_spec", "parse_spec", "parse_spec_file", "read_specs", "SpecFile"):
        from . import spec

        return getattr(spec, name)
    if name == "analyze":
        from .cost import analyze

        return analyze
    if name == "SpecError":
        from .errors import SpecError

        return SpecError
    raise AttributeError(f"module 'conv_cost' has no attribute {name!r}")

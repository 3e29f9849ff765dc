"""The run options of section 6 as values: precision, batch, input size, a machine for the roofline,
and the lists `sweep` takes. Parsing errors are ValueErrors whose text says how to fix the option."""

from __future__ import annotations

import re

from .cost import Settings
from .layers import Shape
from .memory import DTYPES

_INT = r"[1-9][0-9]{0,8}"
_INPUT = re.compile(rf"({_INT}),({_INT})(?:,({_INT}))?", re.ASCII)
_SIZE = re.compile(rf"({_INT})(?:x({_INT}))?", re.ASCII)


def parse_input(text: str, option: str = "--input") -> tuple[int, int, int | None]:
    """'224,224' or '224,224,3' -> (H, W, C or None)."""
    m = _INPUT.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{option} takes H,W or H,W,C (positive integers), e.g. 320,320; got '{text}'")
    h, w, c = m.groups()
    return int(h), int(w), int(c) if c else None


def input_shape(given: tuple[int, int, int | None], current: Shape) -> Shape:
    """The input a model runs on with --input: its channels kept when the option gives none."""
    h, w, c = given
    return Shape(h, w, current.channels if c is None else c)


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """'160,224,320' or '224x160,320' -> [(H, W), ...]."""
    out = []
    for part in text.split(","):
        m = _SIZE.fullmatch(part.strip())
        if not m:
            raise ValueError(f"--sizes takes a comma-separated list of N (for NxN) or HxW, e.g. 160,224,320 or "
                             f"224x160; got '{part.strip() or text}'")
        h, w = m.groups()
        out.append((int(h), int(w or h)))
    return list(dict.fromkeys(out))


def parse_batches(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        if not re.fullmatch(_INT, part.strip(), re.ASCII):
            raise ValueError(f"--batches takes a comma-separated list of positive integers, e.g. 1,8,32; "
                             f"got '{part.strip() or text}'")
        out.append(int(part))
    return list(dict.fromkeys(out))


def parse_dtypes(text: str) -> list[str]:
    from .errors import did_you_mean

    out = []
    for part in text.split(","):
        name = part.strip()
        if name not in DTYPES:
            raise ValueError(f"--dtypes takes a comma-separated list of {', '.join(DTYPES)}; got '{name}'"
                             f"{did_you_mean(name, DTYPES)}")
        out.append(name)
    return list(dict.fromkeys(out))


def run_settings(dtype: str = "fp32", batch: int = 1, device: str | None = None, peak_tflops: str | None = None,
                 bandwidth_gbs: str | None = None) -> Settings:
    """Settings from the command line's options; a machine from the device table or from the two rates."""
    if dtype not in DTYPES:
        raise ValueError(f"--dtype takes one of {', '.join(DTYPES)}, not '{dtype}'")
    if type(batch) is not int or batch < 1:
        raise ValueError(f"--batch takes a positive integer, not {batch!r}")
    if device is not None and (peak_tflops is not None or bandwidth_gbs is not None):
        raise ValueError("give --device or --peak-tflops with --bandwidth-gbs, not both")
    if (peak_tflops is None) != (bandwidth_gbs is None):
        raise ValueError("--peak-tflops and --bandwidth-gbs go together: give both (or --device NAME)")
    if device is not None:
        from .devices import device as find_device

        return Settings(dtype, batch, find_device(device).roofline(dtype), device)
    if peak_tflops is not None:
        from .roofline import Roofline

        return Settings(dtype, batch, Roofline.from_units(peak_tflops, bandwidth_gbs), None)
    return Settings(dtype, batch)

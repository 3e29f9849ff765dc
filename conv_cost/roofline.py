"""The roofline: each layer's time is max(flops / peak, bytes moved / bandwidth).

Everything is exact: peaks and bandwidths are read from decimal text ("19.5" TFLOP/s, "936" GB/s)
into Fractions, times are Fractions, and a layer is `compute`-bound when flops / peak is at least
bytes / bandwidth (a tie is `compute`), compared as fractions, never as floats. The model's time is
the exact sum of the layer times; `time_s` is that Fraction rounded once to a float.
1 TFLOP/s = 10^12 FLOP/s (int8: 10^12 operations/s), 1 GB/s = 10^9 bytes/s.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Iterable

from .records import record

TERA = 10**12
GIGA = 10**9
COMPUTE = "compute"
MEMORY = "memory"
# A plain decimal: digits, an optional fraction and an optional exponent ("19.5", "936", "1e3").
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]{1,3})?|\.[0-9]+([eE][+-]?[0-9]{1,3})?")


def parse_rate(text: str | int | float, what: str) -> Fraction:
    """A positive decimal as an exact Fraction; ValueError saying what was expected."""
    if type(text) is int:
        value = Fraction(text)
    elif type(text) is float and math.isfinite(text):
        value = Fraction(repr(text))  # the decimal the float was written as: 0.1 is 1/10, not 0.1000...0555
    elif isinstance(text, str) and len(text) <= 40 and _DECIMAL.fullmatch(text.strip()):
        value = Fraction(text.strip())
    else:
        raise ValueError(f"{what} must be a positive decimal number such as 19.5, not {text!r}")
    if value <= 0:
        raise ValueError(f"{what} must be greater than 0, not {text!r}")
    return value


@record
class Roofline:
    """A machine as the roofline sees it: peak FLOP/s and memory bytes/s, exact."""

    peak_flops: Fraction
    bandwidth: Fraction

    @classmethod
    def from_units(cls, peak_tflops: str | int, bandwidth_gbs: str | int) -> Roofline:
        """From TFLOP/s (or TOPS) and GB/s given as decimal text, e.g. ("19.5", "936")."""
        return cls(parse_rate(peak_tflops, "the peak (TFLOP/s)") * TERA,
                   parse_rate(bandwidth_gbs, "the bandwidth (GB/s)") * GIGA)

    @property
    def ridge(self) -> Fraction:
        """FLOPs per byte at which compute and memory time are equal."""
        return self.peak_flops / self.bandwidth


@record
class LayerTime:
    """One layer on a machine's roofline: its FLOPs and bytes moved, which term wins (layer_time
    decides), and both times exactly."""

    flops: int
    moved_bytes: int
    roofline: Roofline
    bound: str

    @property
    def compute_s(self) -> Fraction:
        return self.flops / self.roofline.peak_flops

    @property
    def memory_s(self) -> Fraction:
        return self.moved_bytes / self.roofline.bandwidth

    def _winning_term(self) -> tuple[int, Fraction]:
        """The amount and the rate of the term that bounds the layer: (FLOPs, peak) or (bytes, bandwidth)."""
        if self.bound == COMPUTE:
            return self.flops, self.roofline.peak_flops
        return self.moved_bytes, self.roofline.bandwidth

    @property
    def time(self) -> Fraction:
        amount, rate = self._winning_term()
        return amount / rate

    @property
    def time_s(self) -> float:
        # int / int is correctly rounded, as float() of the Fraction is: the same float, no Fraction built.
        amount, rate = self._winning_term()
        return amount * rate.denominator / rate.numerator


def layer_time(flops: int, moved_bytes: int, roofline: Roofline) -> LayerTime:
    """Time of one layer that does `flops` and moves `moved_bytes` (read + write); `compute`-bound
    when flops / peak >= bytes / bandwidth."""
    for value, what in ((flops, "flops"), (moved_bytes, "bytes moved")):
        if type(value) is not int or value < 0:
            raise ValueError(f"{what} must be a non-negative integer, not {value!r}")
    # flops / (pn/pd) >= bytes / (bn/bd), multiplied out: integers, no Fraction built per layer.
    peak, bandwidth = roofline.peak_flops, roofline.bandwidth
    compute = flops * peak.denominator * bandwidth.numerator >= moved_bytes * bandwidth.denominator * peak.numerator
    return LayerTime(flops, moved_bytes, roofline, COMPUTE if compute else MEMORY)


def model_time(times: Iterable[LayerTime]) -> Fraction:
    """The model's time: the exact sum of its layers' times (float() it once to show it).

    Summed as integers per machine (the FLOPs of compute-bound layers, the bytes of memory-bound
    ones) and divided once: the same Fraction as adding every layer's, without 100,000 additions
    of Fractions."""
    sums: dict[Roofline, list[int]] = {}
    machine = flops_bytes = None
    for t in times:
        if t.roofline is not machine:  # layers share one machine: its Fractions hashed once, not per layer
            machine = t.roofline
            flops_bytes = sums.setdefault(machine, [0, 0])
        if t.bound == COMPUTE:
            flops_bytes[0] += t.flops
        else:
            flops_bytes[1] += t.moved_bytes
    return sum((f / r.peak_flops + b / r.bandwidth for r, (f, b) in sums.items()), Fraction(0))

"""Human-readable numbers for tables; JSON keeps exact integers."""

from __future__ import annotations

_UNITS = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def human(n: int) -> str:
    """160563200 -> '160.56M'; numbers under 1,000 are shown exactly."""
    for size, unit in _UNITS:
        # Compare after rounding, so 999,999 is 1.00M rather than 1000.00K.
        if abs(n) >= 1000 and round(abs(n) / size, 2) >= 1:
            return f"{n / size:.2f}{unit}"
    return str(n)


def exact(n: int) -> str:
    return f"{n:,}"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"

"""Human-readable numbers for tables; JSON keeps exact integers."""

from __future__ import annotations

_UNITS = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def human(n: int) -> str:
    """160563200 -> '160.56M'; numbers under 1,000 are shown exactly.

    Integer arithmetic throughout (a float has 16 digits: 10^36 would print as 999...222784.00T);
    hundredths are rounded half up, as by hand: 39,725 is 39.73K."""
    if -1000 < n < 1000:
        return str(n)
    sign, m = ("-", -n) if n < 0 else ("", n)
    for size, unit in _UNITS:
        hundredths = (m * 200 + size) // (2 * size)  # round(m * 100 / size), halves up
        # Compare after rounding, so 999,999 is 1.00M rather than 1000.00K.
        if hundredths >= 100:
            whole, frac = divmod(hundredths, 100)
            return f"{sign}{whole}.{frac:02d}{unit}"
    return str(n)


def exact(n: int) -> str:
    return f"{n:,}"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def ratio_phrase(r: float | None, noun: str = "") -> str:
    """A ratio to the baseline in words: '12.1x fewer MACs', '2.3x more params', '4.0% fewer', 'same'.

    Differences under 10% are given in percent, where '1.0x more' would hide them.
    """
    tail = f" {noun}" if noun else ""
    if r is None:
        return f"{noun or 'some'} where the baseline has none"
    if r == 1:
        return f"same{tail}"
    if r == 0:
        return f"no{tail}" if noun else "none"
    more = r > 1
    factor = r if more else 1 / r
    word = "more" if more else "fewer"
    if factor >= 1.1:
        return f"{factor:.1f}x {word}{tail}"
    pct = 100 * abs(r - 1)
    return f"{pct:.1f}% {word}{tail}" if pct >= 0.05 else f"<0.1% {word}{tail}"


# Cost keys as tables and sentences name them; MACs lead, as the saving people ask about.
COST_LABELS = {"macs": "MACs", "params": "params", "flops": "FLOPs", "activations": "activations",
               "buffers": "buffers"}


def summary_sentence(entry, baseline, fmt=human) -> str:
    """One line on an Entry of a Comparison against the baseline Entry, MACs first, in words."""
    parts = []
    for key, label in COST_LABELS.items():
        a, b = getattr(baseline.totals, key), getattr(entry.totals, key)
        if key == "buffers" and a == b == 0:
            continue
        r = getattr(entry.ratio, key)
        phrase = ratio_phrase(r, label)
        if key == "macs" and r is not None:
            phrase += f" {'as' if r == 1 else 'than'} {baseline.name}"
        if key in ("macs", "params"):
            phrase += f" ({fmt(a)} -> {fmt(b)})"
        parts.append(phrase)
    return f"{entry.name}: " + ", ".join(parts) + "."

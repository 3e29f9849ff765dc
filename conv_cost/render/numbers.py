"""Human-readable numbers for tables; JSON keeps exact integers."""

from __future__ import annotations

from functools import lru_cache

_UNITS = ((10**18, "E"), (10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


@lru_cache(maxsize=1 << 14)  # a long model repeats its counts: tables of 10,000 rows format 80,000
def human(n: int) -> str:
    """160563200 -> '160.56M'; numbers under 1,000 are shown exactly. Integer arithmetic throughout
    (hundredths rounded half up), so a 10^36 count is exact in its digits, never a float's."""
    if -1000 < n < 1000:
        return str(n)
    sign, m = ("-", -n) if n < 0 else ("", n)
    for size, unit in _UNITS:
        hundredths = (m * 100 + size // 2) // size
        # Compare after rounding, so 999,999 is 1.00M rather than 1000.00K.
        if hundredths >= 100:
            return f"{sign}{hundredths // 100}.{hundredths % 100:02d}{unit}"
    return str(n)


def human_bytes(n: int) -> str:
    """Bytes in decimal units, as the counts: 819328 -> '819.33KB'."""
    return f"{human(n)}B"


def exact_bytes(n: int) -> str:
    return f"{n:,}"


def seconds(t) -> str:
    """A time in seconds (a Fraction or float) with a unit: '1.23 ms', '45.60 us', '2.01 s'."""
    for scale, unit in ((1, "s"), (10**3, "ms"), (10**6, "us"), (10**9, "ns")):
        if t * scale >= 1 or unit == "ns":
            return f"{float(t * scale):.2f} {unit}"
    return "0 s"


def per_byte(x: float) -> str:
    """An arithmetic intensity, FLOPs per byte."""
    return f"{x:.1f}"


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
        return f"{noun} where the baseline has none" if noun else "baseline has none"
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
    if entry.ratio.time_s is not None:
        # Next to the MACs: fewer multiply-adds is not as much less time when bytes bound the layers.
        phrase = ratio_phrase(entry.ratio.time_s, "time").replace("fewer time", "less time")
        parts.insert(1, f"{phrase} ({seconds(baseline.report.time)} -> {seconds(entry.report.time)}; "
                        f"{bound_words(baseline.report)}, {bound_words(entry.report)})")
    return f"{entry.name}: " + ", ".join(parts) + "."


def bound_words(report) -> str:
    """'naive compute-bound' or 'bottleneck 83% memory-bound': where a model's roofline time goes."""
    share = report.memory_time / report.time if report.time else 0
    if share in (0, 1):
        return f"{report.name} {'memory' if share == 1 else 'compute'}-bound"
    main, part = ("memory", share) if share >= 0.5 else ("compute", 1 - share)
    return f"{report.name} {100 * float(part):.0f}% {main}-bound"

"""Sliding windows over H and W, shared by conv, dwconv, deconv and the pools: padding, output
size, their derivation steps and the receptive-field steps."""

from __future__ import annotations

from typing import Union

from ..errors import LayerError
from .base import ReceptiveField, Shape

Pair = tuple[int, int]
# "same", "valid", (h, w) or (top, bottom, left, right).
Padding = Union[str, tuple]


def pads(p: Padding, axis: int) -> Pair:
    """Explicit padding of one axis (0: H, 1: W) as (before, after)."""
    if p == "valid":
        return 0, 0
    if len(p) == 2:
        return p[axis], p[axis]
    return p[2 * axis], p[2 * axis + 1]


def conv_axis(size: int, k: int, s: int, p: Padding, d: int, axis: int, ceil_mode: bool = False) -> int:
    """Output length along one spatial axis (PyTorch's rule; TensorFlow's for 'same')."""
    if p == "same":
        return -(-size // s)
    before, after = pads(p, axis)
    span = size + before + after - d * (k - 1) - 1
    if span < 0:
        return 0
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    # PyTorch drops a last window that would start inside the right padding.
    if (out - 1) * s >= size + before:
        out -= 1
    return out


def spatial(what: str, x: Shape, k: Pair, s: Pair, p: Padding, d: Pair, ceil_mode: bool = False) -> Pair:
    """(Ho, Wo) of a window; LayerError when the output would be smaller than 1x1."""
    ho = conv_axis(x.height, k[0], s[0], p, d[0], 0, ceil_mode)
    wo = conv_axis(x.width, k[1], s[1], p, d[1], 1, ceil_mode)
    if ho < 1 or wo < 1:
        raise LayerError(
            f"{what} output would be {ho}x{wo}, smaller than 1x1 (input {x.height}x{x.width}, "
            f"kernel {k[0]}x{k[1]}, stride {s[0]}x{s[1]}); use a smaller kernel or stride, or padding"
        )
    return ho, wo


def pair_text(p: Pair) -> str:
    return f"{p[0]}x{p[1]}"


def step_text(p: Pair) -> str:
    """A stride or dilation: '2' when both axes agree, else '2x1'."""
    return str(p[0]) if p[0] == p[1] else pair_text(p)


def padding_text(p: Padding) -> str:
    if isinstance(p, str):
        return p
    if len(p) == 4:
        return str(p[0]) if len(set(p)) == 1 else f"[{', '.join(map(str, p))}]"
    return str(p[0]) if p[0] == p[1] else f"[{p[0]}, {p[1]}]"


def hwc(s: Shape) -> str:
    return f"{s.height}*{s.width}*{s.channels}"


def spatial_steps(d, x: Shape, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair | None,
                  ceil_mode: bool = False) -> None:
    """The Ho and Wo steps of a window (a pool passes dilation None)."""
    size = (x.height, x.width)
    dropped = [False, False]
    if ceil_mode and padding != "same":
        for a in (0, 1):
            before, after = pads(padding, a)
            out = -(-(size[a] + before + after - kernel[a]) // stride[a]) + 1
            dropped[a] = (out - 1) * stride[a] >= size[a] + before
            if dropped[a]:
                d.note(f"ceil_mode: the last window along {'HW'[a]} would start in the padding; "
                       "it is dropped (- 1), as PyTorch does.")

    def per_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
        X, k, s, dd, p = sym["X"], sym["k"], sym["s"], sym["d"], sym["p"]
        if padding == "same":
            return f"ceil({X}/{s})", f"ceil({size[a]}/{stride[a]})"
        before, after = pads(padding, a)
        if before == after:
            pad_f, pad_n = f"2*{p}", f"2*{before}"
        else:
            pad_f, pad_n = f"{p}_before + {p}_after", f"{before} + {after}"
        if dilation is None:
            span_f, span_n = f"{X} + {pad_f} - {k}", f"{size[a]} + {pad_n} - {kernel[a]}"
        else:
            span_f = f"{X} + {pad_f} - {dd}*({k}-1) - 1"
            span_n = f"{size[a]} + {pad_n} - {dilation[a]}*({kernel[a]}-1) - 1"
        rnd = "ceil" if ceil_mode else "floor"
        formula, subst = f"{rnd}(({span_f})/{s}) + 1", f"{rnd}(({span_n})/{stride[a]}) + 1"
        if dropped[a]:
            subst += " - 1"
        return formula, subst

    d.axes(("Ho", "Wo"), ("height", "width"), per_axis)
    if padding == "valid":
        d.note("padding valid: p = 0.")


def window_field_steps(d, rf: ReceptiveField, kernel: Pair, stride: Pair, dilation: Pair | None) -> None:
    """RF size and stride after a window (a pool passes dilation None)."""
    def size_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
        k, dd = sym["k"], sym["d"]
        if dilation is None:
            return f"r_in + ({k}-1)*j_in", f"{rf.size[a]} + ({kernel[a]}-1)*{rf.stride[a]}"
        return f"r_in + {dd}*({k}-1)*j_in", f"{rf.size[a]} + {dilation[a]}*({kernel[a]}-1)*{rf.stride[a]}"

    def stride_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
        return f"j_in*{sym['s']}", f"{rf.stride[a]}*{stride[a]}"

    field_steps(d, size_axis, stride_axis)


def global_field_steps(d, rf: ReceptiveField, x: Shape) -> None:
    """RF after a layer whose output reads the whole map: a window of H x W with stride H x W."""
    extent = (x.height, x.width)

    def size_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
        return f"r_in + ({sym['X']}-1)*j_in", f"{rf.size[a]} + ({extent[a]}-1)*{rf.stride[a]}"

    def stride_axis(a: int, sym: dict[str, str]) -> tuple[str, str]:
        return f"j_in*{sym['X']}", f"{rf.stride[a]}*{extent[a]}"

    d.note("Its output sees the whole input map: every output depends on every input position "
           "(the receptive field is global).")
    field_steps(d, size_axis, stride_axis)


def merged_field_steps(d, fields: tuple[ReceptiveField, ...]) -> None:
    """RF of a merge: the largest size and stride over the inputs."""
    for what in ("size", "stride"):
        def per_axis(a: int, sym: dict[str, str], what=what) -> tuple[str, str]:
            symbol = "r" if what == "size" else "j"
            if len(fields) == 1:  # a mul whose other inputs are broadcast gates
                return f"{symbol}_in of the map", str(getattr(fields[0], what)[a])
            vals = ", ".join(str(getattr(f, what)[a]) for f in fields)
            return f"max over inputs of {symbol}_in", f"max({vals})"
        d.axes((f"RF {what} h", f"RF {what} w"), (f"rf_{what}_h", f"rf_{what}_w"), per_axis, f"RF {what}")
    if any(f.whole for f in fields):
        d.note("One of its inputs depends on the whole input map, so every output does too "
               "(the receptive field is global).")


def field_steps(d, size_axis, stride_axis) -> None:
    d.axes(("RF size h", "RF size w"), ("rf_size_h", "rf_size_w"), size_axis, "RF size")
    d.axes(("RF stride h", "RF stride w"), ("rf_stride_h", "rf_stride_w"), stride_axis, "RF stride")


def same_padding(size: int, k: int, s: int, d: int = 1) -> Pair:
    """TensorFlow's 'same' padding of one axis: (before, after), the larger half after."""
    out = -(-size // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def explicit_pads(x: Shape, padding: Padding, kernel: Pair, stride: Pair, dilation: Pair) -> tuple[Pair, Pair]:
    """((top, bottom), (left, right)) that PyTorch needs for this padding."""
    if padding == "same":
        return (same_padding(x.height, kernel[0], stride[0], dilation[0]),
                same_padding(x.width, kernel[1], stride[1], dilation[1]))
    return pads(padding, 0), pads(padding, 1)

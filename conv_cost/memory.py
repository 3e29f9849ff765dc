"""Bytes moved per layer, arithmetic intensity, and the peak of live activation memory.

Plain data in, frozen dataclasses out: this module knows nothing of layer classes or specs, so a
caller feeds it counts (params, buffers, elements, flops) and the wiring (names, inputs, views).

Per layer, with b bytes per element and a batch of N images (counts are per image):
- weight_bytes = (params + buffers)·b, the same for any N;
- output_bytes = output elements·N·b; write_bytes = output_bytes;
- read_bytes = (elements of every input, an input listed twice counted twice)·N·b + weight_bytes;
- flops = flops per image·N; intensity = flops / (read_bytes + write_bytes), a float, and 0.0 when
  no byte moves (only a model with no layers gets there, and then there are no flops either).
Totals add the per-layer figures; the total intensity is total flops / total bytes moved.

The peak of live activation memory is described in `peak_activation_bytes`.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .errors import did_you_mean
from .records import record

DTYPES: dict[str, int] = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
INPUT = "input"  # the name by which layers read the model's input
BEFORE_ANY_LAYER = "before any layer"


def bytes_per_element(dtype: str) -> int:
    """Bytes per element of a dtype name; ValueError naming the choices for an unknown one."""
    try:
        return DTYPES[dtype]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}"
                         f"{did_you_mean(dtype, DTYPES)}") from None


def _count(value: object, what: str) -> int:
    # bool is an int to Python but never a count here.
    if type(value) is not int or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, not {value!r}")
    return value


def _positive(value: object, what: str) -> int:
    if type(value) is not int or value < 1:
        raise ValueError(f"{what} must be a positive integer, not {value!r}")
    return value


def intensity(flops: int, moved_bytes: int) -> float:
    """FLOPs per byte moved; 0.0 when nothing moves (0/0: no work and no traffic)."""
    if moved_bytes == 0:
        if flops:
            raise ValueError(f"{flops} FLOPs with no byte moved: every layer reads and writes something")
        return 0.0
    return flops / moved_bytes  # int / int: correctly rounded, whatever the size of the integers


@record
class LayerBytes:
    """One layer's traffic for the whole batch: FLOPs, bytes read and written, and their ratio."""

    flops: int
    weight_bytes: int
    output_bytes: int
    read_bytes: int
    write_bytes: int
    intensity: float

    @property
    def moved_bytes(self) -> int:
        return self.read_bytes + self.write_bytes


def layer_bytes(*, params: int, buffers: int, input_elements: Sequence[int], output_elements: int,
                flops: int, bytes_per_element: int, batch: int = 1) -> LayerBytes:
    """Bytes one layer moves, from its per-image counts (see the module docstring for the rule)."""
    b = _positive(bytes_per_element, "bytes per element")
    n = _positive(batch, "batch")
    weight = (_count(params, "params") + _count(buffers, "buffers")) * b
    read_elements = sum(_count(e, "input elements") for e in input_elements)
    output = _count(output_elements, "output elements") * n * b
    read = read_elements * n * b + weight
    work = _count(flops, "flops") * n
    return LayerBytes(work, weight, output, read, output, intensity(work, read + output))


def counted_bytes(params: int, buffers: int, read_elements: int, output_elements: int, flops: int,
                  bytes_per_element: int, batch: int) -> LayerBytes:
    """layer_bytes for counts the caller computed itself (cost.analyze): the same rule, without the
    checks of every value, for the hot loop over a million layers. read_elements sums every input."""
    weight = (params + buffers) * bytes_per_element
    output = output_elements * batch * bytes_per_element
    read = read_elements * batch * bytes_per_element + weight
    work = flops * batch
    moved = read + output
    return LayerBytes(work, weight, output, read, output, work / moved if moved else intensity(work, 0))


@record
class TotalBytes:
    """Sums over a model's layers; intensity is total FLOPs over total bytes moved."""

    flops: int
    weight_bytes: int
    output_bytes: int
    read_bytes: int
    write_bytes: int
    intensity: float

    @property
    def moved_bytes(self) -> int:
        return self.read_bytes + self.write_bytes


def total_bytes(layers: Iterable[LayerBytes]) -> TotalBytes:
    """Add up the per-layer figures of a model."""
    flops = weight = output = read = write = 0
    for layer in layers:
        flops += layer.flops
        weight += layer.weight_bytes
        output += layer.output_bytes
        read += layer.read_bytes
        write += layer.write_bytes
    return TotalBytes(flops, weight, output, read, write, intensity(flops, read + write))


@record
class TensorNode:
    """A layer as liveness sees it: its name, what it reads, its output elements per image, and
    whether its output is a view (shares its input's memory: flatten, identity, dropout)."""

    name: str
    inputs: tuple[str, ...]
    elements: int
    is_view: bool = False


@record
class LiveTensor:
    """A block of activation memory live at the peak: the tensor that owns it (`input` or a
    non-view layer), its bytes for the batch, and the views that share it at that point."""

    name: str
    bytes: int
    views: tuple[str, ...] = ()


@record
class Peak:
    """The largest sum of live activation bytes, the layer running then, and what is live."""

    bytes: int
    layer_index: int | None  # 0-based, in spec order; None: before any layer runs
    layer_name: str | None
    live: tuple[LiveTensor, ...]

    @property
    def where(self) -> str:
        return BEFORE_ANY_LAYER if self.layer_name is None else self.layer_name


def peak_activation_bytes(input_elements: int, nodes: Sequence[TensorNode], *,
                          bytes_per_element: int, batch: int = 1) -> Peak:
    """The peak of live activation memory, where it occurs and what is live there.

    The rule: run the layers in spec order. The points in time are "before any layer" (time 0)
    and "while layer i runs" (time i + 1); the state between two layers holds a subset of what is
    live while the next one runs, so it can never be a larger peak.
    - A block of memory is owned by the model's input or by a layer that is not a view. A view
      (flatten, identity, dropout) shares the memory of its one input; a view of a view, or of the
      model's input, shares the memory its input shares. A view adds no bytes.
    - The input's memory is live from time 0, a layer's from the time it runs, until the last
      layer that reads it has run. Reading it through any view counts as reading it, and the view
      itself reads it, so the memory lives at least until the view has run.
    - A block nobody reads (a dead output, or the input of a model with no layers) is live only at
      its own time: while its layer runs, or before any layer.
    - The model's output is the last layer's (the input for a model with no layers); the memory it
      owns or shares is live to the end, also when the output is a view.
    - A layer that lists one tensor twice (`add: [x, x]`) or two views of one memory reads one
      block: liveness counts each block once, while read_bytes counts every listed input.
    The peak is the largest sum over live blocks of elements·batch·bytes_per_element; ties go to
    the earliest time. One pass over the nodes and their inputs: O(layers + edges).
    """
    b = _positive(bytes_per_element, "bytes per element")
    n = _positive(batch, "batch")
    last = len(nodes)  # the last time point: while the last layer runs
    owner: dict[str, str] = {INPUT: INPUT}  # tensor name -> name of the block it lives in
    size: dict[str, int] = {INPUT: _count(input_elements, "input elements")}  # per block
    start: dict[str, int] = {INPUT: 0}  # per block, in creation order (dicts keep it)
    end: dict[str, int] = {INPUT: 0}  # per block: last time it is live
    name_end: dict[str, int] = {INPUT: 0}  # per tensor: its own last reader, to list live views
    views: list[tuple[int, str]] = []  # (time it is made, name)

    for index, node in enumerate(nodes):
        time = index + 1
        name = node.name
        if name in owner:
            raise ValueError(f"layer name {name!r} is used twice (or is the reserved name 'input')")
        for source in node.inputs:
            block = owner.get(source)
            if block is None:
                raise ValueError(f"layer {name!r} reads {source!r}, which is not an earlier layer or 'input'")
            end[block] = time
            name_end[source] = time
        elements = _count(node.elements, f"elements of layer {name!r}")
        if node.is_view:
            if len(node.inputs) != 1:
                raise ValueError(f"view layer {name!r} must read exactly one tensor, not {len(node.inputs)}")
            block = owner[node.inputs[0]]
            if elements != size[block]:
                raise ValueError(f"view layer {name!r} has {elements} elements but shares a block of "
                                 f"{size[block]}; a view keeps the element count")
            owner[name] = block
            views.append((time, name))
        else:
            owner[name] = name
            size[name] = elements
            start[name] = time
            end[name] = time
        name_end[name] = time

    # The output's block lives to the end. The output being the last layer, the reads above already
    # give this; kept so the rule holds should the output ever be another layer.
    output = nodes[-1].name if nodes else INPUT
    end[owner[output]] = last
    name_end[output] = last

    # Live elements at every time point: +size where a block starts, -size after it ends.
    delta = [0] * (last + 2)
    for block, first in start.items():
        delta[first] += size[block]
        delta[end[block] + 1] -= size[block]
    best_time, best, running = 0, -1, 0
    for time in range(last + 1):
        running += delta[time]
        if running > best:  # strictly larger: ties keep the earliest time
            best_time, best = time, running

    shared: dict[str, list[str]] = {}
    for time, name in views:
        if time <= best_time <= name_end[name]:
            shared.setdefault(owner[name], []).append(name)
    live = tuple(LiveTensor(block, size[block] * n * b, tuple(shared.get(block, ())))
                 for block, first in start.items() if first <= best_time <= end[block])
    index = best_time - 1 if best_time else None
    return Peak(best * n * b, index, None if index is None else nodes[index].name, live)

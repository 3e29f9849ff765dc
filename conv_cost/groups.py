"""`--depth N`: a report's rows grouped by the first N levels of their layer paths, with subtotals.

ResNet-50 at depth 1 is conv1, bn1, relu, maxpool, layer1..layer4, avgpool, fc: each group adds up
the rows whose path starts with it (`layer2/1/block/conv2` is in `layer2` at depth 1 and in
`layer2/1` at depth 2), so the groups add up to the totals. A group is where its first row is.
"""

from __future__ import annotations

from .cost import LayerRow, ModelReport
from .layers import COST_KEYS, Cost, Shape
from .memory import LayerBytes, intensity
from .receptive import ReceptiveField
from .records import record


@record
class GroupRow:
    """Rows sharing a path prefix, added up; `rows` is 1 for a layer that is a group of its own.

    output and receptive_field are those of the group's last layer; time is the sum of its layers'
    times and bound the bound of the layers that take most of it (compute on a tie)."""

    name: str
    type: str
    output: Shape
    cost: Cost
    rows: int
    receptive_field: ReceptiveField | None = None
    bytes: LayerBytes | None = None
    time_s: float | None = None
    bound: str | None = None
    role: str | None = None


def prefix(name: str, depth: int) -> str:
    return "/".join(name.split("/")[:depth])


def group_rows(report: ModelReport, depth: int) -> tuple[GroupRow, ...]:
    """The report's rows grouped by the first `depth` levels of their paths, in order of first appearance."""
    groups: dict[str, list[LayerRow]] = {}
    for row in report.layers:
        groups.setdefault(prefix(row.name, depth), []).append(row)
    return tuple(_group(name, rows) for name, rows in groups.items())


def _group(name: str, rows: list[LayerRow]) -> GroupRow:
    last = rows[-1]
    if len(rows) == 1 and last.name == name:
        time = last.time
        return GroupRow(name, last.type, last.output, last.cost, 1, last.receptive_field, last.bytes,
                        None if time is None else time.time_s, None if time is None else time.bound, last.role)
    cost = Cost(*(sum(getattr(r.cost, k) for r in rows) for k in COST_KEYS))
    moved = None
    if all(r.bytes is not None for r in rows):
        weight = sum(r.bytes.weight_bytes for r in rows)
        output = sum(r.bytes.output_bytes for r in rows)
        read = sum(r.bytes.read_bytes for r in rows)
        write = sum(r.bytes.write_bytes for r in rows)
        flops = sum(r.bytes.flops for r in rows)
        moved = LayerBytes(flops, weight, output, read, write, intensity(flops, read + write))
    time_s = bound = None
    if all(r.time is not None for r in rows):
        from .roofline import COMPUTE, MEMORY, model_time

        compute = model_time(r.time for r in rows if r.time.bound == COMPUTE)
        memory = model_time(r.time for r in rows if r.time.bound == MEMORY)
        time_s = float(compute + memory)
        bound = COMPUTE if compute >= memory else MEMORY
    kind = f"{len(rows)} layers" if len(rows) > 1 else last.type
    return GroupRow(name, kind, last.output, cost, len(rows), last.receptive_field, moved, time_s, bound)

"""Counterfactual rewrites: pure functions Model -> new Model; the input model is never changed.

The exact rule of each transform is written in docs/compare.md. Rewritten layers keep their
names (so `compare --by-layer` lines them up with the original); inserted layers are named
after the layer they serve and take its source position. TRANSFORMS lists them in CLI order.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from .errors import SpecError
from .graph import INPUT, Model, Node, consumers, shapes_of, validate
from .layers import make_layer
from .records import record

DEFAULT_REDUCE = 4


@record
class Bottleneck:
    """A 1x1 reduction (`reduce`), the bn/activations right after it, and the larger conv it feeds."""

    reduce: str
    between: tuple[str, ...]
    conv: str


def _is_norm_or_activation(layer) -> bool:
    return "batchnorm" in layer.traits or "activation" in layer.traits


def _is_view(layer) -> bool:
    return "view" in layer.traits


def _is_larger_conv(layer) -> bool:
    """A `conv` whose kernel covers more than one pixel (3x3, 5x5, but also 1x7)."""
    return "conv" in layer.traits and layer.kernel[0] * layer.kernel[1] > 1


def _is_plain_pointwise(layer) -> bool:
    return "conv" in layer.traits and layer.kernel == (1, 1) and layer.stride == (1, 1) and layer.groups == 1


def _follow(start: str, nodes: dict[str, Node], users: dict[str, list[str]],
            may_pass: Callable[[object], bool], is_end: Callable[[object], bool]) -> tuple[tuple[str, ...], Node] | None:
    """From `start`, walk single-consumer links through layers `may_pass` accepts to a layer `is_end` accepts.

    Returns (the names passed through, the end node), or None if a link forks or another layer is met.
    """
    between: list[str] = []
    current = start
    while True:
        readers = users[current]
        if len(readers) != 1:
            return None
        nxt = nodes[readers[0]]
        if is_end(nxt.layer):
            return tuple(between), nxt
        if not may_pass(nxt.layer):
            return None
        between.append(nxt.name)
        current = nxt.name


def _keeps_spatial(shapes: dict, node: Node) -> bool:
    x, y = shapes[node.inputs[0]], shapes[node.name]
    return (x.height, x.width) == (y.height, y.width)


def find_bottlenecks(model: Model) -> tuple[Bottleneck, ...]:
    """Every 1x1 bottleneck of a model, in layer order (the contract's definition, section 4)."""
    shapes = shapes_of(model)
    users = consumers(model)
    nodes = {n.name: n for n in model.nodes}
    found = []
    for node in model.nodes:
        layer = node.layer
        if not _is_plain_pointwise(layer) or layer.filters >= shapes[node.inputs[0]].channels:
            continue
        # Explicit padding on a 1x1 grows the map; dropping such a layer would change shapes downstream.
        if not _keeps_spatial(shapes, node):
            continue
        path = _follow(node.name, nodes, users, _is_norm_or_activation, _is_larger_conv)
        if path is not None:
            found.append(Bottleneck(node.name, path[0], path[1].name))
    return tuple(found)


def _rewritten(model: Model, nodes: tuple[Node, ...], what: str) -> Model:
    """The model with these nodes, validated (shapes inferred once; the model itself when nothing changed);
    SpecError naming each layer that does not fit."""
    if nodes == model.nodes:
        return model
    try:
        return validate(replace(model, nodes=nodes, shapes=None))
    except SpecError as exc:
        raise SpecError(replace(p, message=f"{p.message} (in model '{model.name}' {what})")
                        for p in exc.problems) from None


def _fresh(name: str, taken: set[str]) -> str:
    """`name`, or `name2`, `name3`... whichever is not taken yet; the result is then taken."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}{n}"
    taken.add(candidate)
    return candidate


def remove_bottlenecks(model: Model) -> Model:
    """Drop every bottleneck and the bn/activations after it; the larger conv reads the bottleneck's input."""
    found = find_bottlenecks(model)
    nodes = {n.name: n for n in model.nodes}
    dropped: set[str] = set()
    rewired: dict[str, str] = {}
    for b in found:
        dropped.add(b.reduce)
        dropped.update(b.between)
        rewired[b.conv] = nodes[b.reduce].inputs[0]
    kept = tuple(replace(n, inputs=(rewired[n.name],)) if n.name in rewired else n
                 for n in model.nodes if n.name not in dropped)
    return _rewritten(model, kept, "without its 1x1 bottlenecks")


def add_bottlenecks(model: Model, reduce: int = DEFAULT_REDUCE, reduce_to: int | None = None) -> Model:
    """Insert a 1x1 conv to C // reduce (or reduce_to) channels before every larger groups-1 conv without one."""
    if reduce_to is None and reduce < 1:
        raise ValueError(f"reduce must be at least 1, got {reduce}")
    if reduce_to is not None and reduce_to < 1:
        raise ValueError(f"reduce_to must be at least 1, got {reduce_to}")
    shapes = shapes_of(model)
    served = {b.conv for b in find_bottlenecks(model)}
    taken = {n.name for n in model.nodes} | {INPUT}
    out: list[Node] = []
    for node in model.nodes:
        layer = node.layer
        if _is_larger_conv(layer) and layer.groups == 1 and node.name not in served:
            c = shapes[node.inputs[0]].channels
            n = reduce_to if reduce_to is not None else c // reduce
            if 1 <= n < c:
                name = _fresh(f"{node.name}_reduce", taken)
                out.append(Node(name, make_layer("conv", filters=n, kernel=(1, 1)), node.inputs, node.line,
                                node.col))
                node = replace(node, inputs=(name,))
        out.append(node)
    return _rewritten(model, tuple(out), "with 1x1 bottlenecks added")


def standard_conv(model: Model) -> Model:
    """Fuse each `dwconv` (+ bn/activations) + 1x1 `conv` into one full conv, as MobileNet compares them.

    The full conv keeps the pointwise conv's name, filters and bias, and takes the depthwise conv's
    kernel, stride, padding, dilation and input.
    """
    shapes = shapes_of(model)
    users = consumers(model)
    nodes = {n.name: n for n in model.nodes}
    dropped: set[str] = set()
    fused: dict[str, Node] = {}
    for node in model.nodes:
        dw = node.layer
        if "depthwise" not in dw.traits:
            continue
        path = _follow(node.name, nodes, users, _is_norm_or_activation, _is_plain_pointwise)
        if path is None or not _keeps_spatial(shapes, path[1]):
            continue
        between, pw_node = path
        pw = pw_node.layer
        full = make_layer("conv", filters=pw.filters, kernel=dw.kernel, stride=dw.stride, padding=dw.padding,
                          dilation=dw.dilation, groups=1, bias=pw.bias)
        dropped.add(node.name)
        dropped.update(between)
        fused[pw_node.name] = replace(pw_node, layer=full, inputs=node.inputs)
    kept = tuple(fused.get(n.name, n) for n in model.nodes if n.name not in dropped)
    return _rewritten(model, kept, "with standard convs")


def _is_global_average(node: Node, shapes: dict) -> bool:
    """A gap, or an average pool whose window is its whole unpadded input (GoogLeNet's paper head)."""
    layer = node.layer
    if "global_pool" in layer.traits:
        return "averaging" in layer.traits
    return "averaging" in layer.traits and layer.covers_whole_input(shapes[node.inputs[0]])


def _head_end(start: str, nodes: dict[str, Node], users: dict[str, list[str]], output: str) -> tuple[
        tuple[str, ...], Node | None] | None:
    """If the pool `start` begins a classifier head, (the views between it and the first fc, that fc), or (the
    layers after it, None) when no fc follows. A head is a chain of single-input layers (views, activations,
    fc, normalizations) from the pool to the model's output; a fork or a merge on the way (an SE squeeze's
    gate meets its map in a mul) means it is no head."""
    chain: list[Node] = []
    current = start
    while users[current]:
        readers = users[current]
        if len(readers) != 1:
            return None
        nxt = nodes[readers[0]]
        t = nxt.layer.traits
        if len(nxt.inputs) != 1 or not ("view" in t or "activation" in t or "linear" in t or "normalization" in t):
            return None
        chain.append(nxt)
        current = nxt.name
    if current != output:
        return None
    fcs = [i for i, n in enumerate(chain) if "linear" in n.layer.traits]
    if not fcs:
        if all(_is_view(n.layer) or "activation" in n.layer.traits for n in chain):
            return tuple(n.name for n in chain), None
        return None
    between = chain[:fcs[0]]
    if not all(_is_view(n.layer) for n in between):
        return None  # a norm or an activation would then work on the whole map, not on C values
    return tuple(n.name for n in between), chain[fcs[0]]


def fc_head(model: Model) -> Model:
    """Replace the global average pool of a classifier head by fully connected weights (Network-in-Network's
    comparison): a pool feeding an fc becomes a `flatten` (the fc then reads every pixel); a pool that ends the
    network becomes a `flatten` and an fc to as many units as it had channels.

    The new layers are named `<pool>_flatten` and `<pool>_fc`; a flatten already on the path makes a new one
    unnecessary, so then the pool is just dropped.
    """
    shapes = shapes_of(model)
    users = consumers(model)
    nodes = {n.name: n for n in model.nodes}
    taken = {n.name for n in model.nodes} | {INPUT}
    replaced: dict[str, tuple[Node, ...]] = {}
    rewired: dict[str, str] = {}
    for node in model.nodes:
        if not _is_global_average(node, shapes):
            continue
        head = _head_end(node.name, nodes, users, model.output_node)
        if head is None:
            continue
        between, fc = head
        first = (between or (fc.name,))[0] if fc is not None else (between[0] if between else None)
        if fc is not None and any("flattens" in nodes[b].layer.traits for b in between):
            replaced[node.name] = ()
            rewired[first] = node.inputs[0]
            continue
        flat = Node(_fresh(f"{node.name}_flatten", taken), make_layer("flatten"), node.inputs, node.line, node.col)
        if fc is not None:
            replaced[node.name] = (flat,)
            rewired[first] = flat.name
            continue
        units = shapes[node.name].channels
        dense = Node(_fresh(f"{node.name}_fc", taken), make_layer("fc", units=units), (flat.name,), node.line,
                     node.col)
        replaced[node.name] = (flat, dense)
        if first is not None:
            rewired[first] = dense.name
    out: list[Node] = []
    for node in model.nodes:
        if node.name in replaced:
            out.extend(replaced[node.name])
            continue
        out.append(replace(node, inputs=(rewired[node.name],)) if node.name in rewired else node)
    return _rewritten(model, tuple(out), "with an fc head")


@record
class Transform:
    """A registered rewrite: its CLI flag, the words appended to a variant's name, and what it does."""

    flag: str
    label: str
    rewrite: Callable[..., Model]
    help: str
    options: tuple[str, ...] = ()  # keyword options the rewrite takes


# In the order compare adds the variants after each model.
TRANSFORMS: dict[str, Transform] = {
    "remove_bottlenecks": Transform(
        "--without-bottlenecks", "without bottlenecks", remove_bottlenecks,
        "Add each model without its 1x1 bottlenecks (and their bn/activations)."),
    "add_bottlenecks": Transform(
        "--with-bottlenecks", "with bottlenecks", add_bottlenecks,
        "Add each model with a 1x1 conv to C // R channels (--reduce R, default 4) or N (--reduce-to N) "
        "before every larger conv that has none.",
        ("reduce", "reduce_to")),
    "standard_conv": Transform(
        "--standard-conv", "with standard convs", standard_conv,
        "Add each model with every dwconv + 1x1 conv fused into one full conv (MobileNet's comparison)."),
    "fc_head": Transform(
        "--fc-head", "with an fc head", fc_head,
        "Add each model with its head's global average pool replaced by fc weights: a flatten before an fc, "
        "or a flatten and an fc where the pool ends the network (Network-in-Network's comparison)."),
}


def apply(key: str, model: Model, **options) -> Model:
    """Run TRANSFORMS[key] on a model and name the result after it ("naive with bottlenecks")."""
    t = TRANSFORMS[key]
    new = t.rewrite(model, **{k: v for k, v in options.items() if k in t.options})
    return replace(new, name=f"{model.name} {t.label}")

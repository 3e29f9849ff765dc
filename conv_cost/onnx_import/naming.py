"""Layer names from ONNX node names: PyTorch's module paths, made valid and unique.

PyTorch names a node after the modules it ran in and its op: `/layer1/layer1.0/conv1/Conv` is
op Conv in module `layer1.0.conv1`. A layer takes its module's path; an op written in a parent
module's forward (the residual Add of a block) takes the parent's path and its layer type
(`layer1.0.add`). Other exporters' names are kept as they are, with invalid characters replaced.
"""

from __future__ import annotations

import re

import yaml

_INVALID = re.compile(r"[^A-Za-z0-9_.\-]+")
MAX_NAME = 120
RESERVED = ("input",)  # a spec's name for the model's input


def module_path(node_name: str) -> str | None:
    """`/layer1/layer1.0/conv1/Conv` -> `layer1.0.conv1`; None if the name is not a scope path."""
    if "/" not in node_name:
        return None
    segments = [s for s in node_name.split("/") if s][:-1]  # the last one names the op
    path: list[str] = []
    for seg in segments:
        # PyTorch repeats the parent's path in a child's segment: /layer1/layer1.0/...
        if path and seg.startswith(path[-1] + "."):
            path[-1] = seg
        else:
            path.append(seg)
    return ".".join(path)


_RESOLVER = yaml.resolver.Resolver()  # stateless for resolve(): one is enough


def plain_scalar(text: str) -> bool:
    """True if YAML reads `text`, unquoted, as this string (not a number, boolean or null)."""
    return _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"


class Namer:
    """Unique, valid layer names for one graph."""

    def __init__(self, node_names: list[str]):
        self.parents: set[str] = set()
        for name in node_names:
            path = module_path(name)
            if path:
                parts = path.split(".")
                self.parents.update(".".join(parts[:i]) for i in range(1, len(parts)))
        self.taken: set[str] = set(RESERVED)

    def base(self, node_name: str, layer_type: str, weight: str = "") -> str:
        path = module_path(node_name)
        if path is None:
            if weight.endswith(".weight") and not node_name.startswith("/"):
                return weight[:-len(".weight")]  # exporters that name nodes by op: the module's weight
            return node_name or layer_type
        if not path:
            return layer_type  # an op at the top level of forward()
        return f"{path}.{layer_type}" if path in self.parents else path

    def name(self, node_name: str, layer_type: str, weight: str = "") -> str:
        base = _INVALID.sub("_", self.base(node_name, layer_type, weight)).strip("._-")[:MAX_NAME] or layer_type
        candidates = [base, f"{base}.{layer_type}"] if not base.endswith(layer_type) else [base]
        for candidate in candidates:
            if candidate not in self.taken:
                break
        else:
            k = 2
            while f"{base}_{k}" in self.taken:
                k += 1
            candidate = f"{base}_{k}"
        self.taken.add(candidate)
        return candidate

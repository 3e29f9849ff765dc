"""Layers -> spec text: a header naming the file and its producer, then one line per layer."""

from __future__ import annotations

import json
import os

from .mapping import Layer
from .naming import plain_scalar
from .reader import OnnxFile, short


def scalar(value) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    text = str(value)
    if text and plain_scalar(text) and all(c.isalnum() or c in "_.-" for c in text):
        return text
    return json.dumps(text)  # a YAML double-quoted string


def layer_line(layer: Layer, previous: str) -> str:
    parts = [f"type: {layer.type}", f"name: {scalar(layer.name)}"]
    if layer.inputs != (previous,):
        ins = layer.inputs
        parts.append(f"inputs: {scalar(ins[0]) if len(ins) == 1 else scalar(list(ins))}")
    parts.extend(f"{key}: {scalar(value)}" for key, value in layer.keys.items())
    return "  - {" + ", ".join(parts) + "}"


def spec_text(f: OnnxFile, layers: list[Layer]) -> str:
    model = f.model
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p) or "an unnamed producer"
    stem = os.path.splitext(os.path.basename(f.path))[0]
    n, c, h, w = f.input_dims
    lines = [
        f"# convcost spec imported from {short(os.path.basename(f.path), 200)} by convcost import",
        f"# producer: {short(producer, 120)}; ONNX IR version {model.ir_version}, opset {f.opset}; "
        f"{len(f.nodes):,} node{'s' * (len(f.nodes) != 1)} -> {len(layers):,} layer{'s' * (len(layers) != 1)}",
        f"name: {scalar(stem)}",
        f"input: [{h}, {w}, {c}]",
        "layers:",
    ]
    previous = "input"
    for layer in layers:
        lines.append(layer_line(layer, previous))
        previous = layer.name
    return "\n".join(lines) + "\n"


HEADER_LINES = 5  # the lines before the first layer

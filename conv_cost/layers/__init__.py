"""The layer types, one module each, and the registry that maps spec type names to them.

A new type is one module here (its dataclass and `TYPES`/`ALIASES`) plus one entry in MODULES;
tests/test_layer_registry.py fails when a registered type lacks any piece of the protocol.
"""

from __future__ import annotations

from . import conv, deconv, elementwise, linear, merge, norm, pool, reshape, upsample
from .base import (COST_KEYS, PIECES, TRAITS, Cost, Layer, LayerEntry, ReceptiveField, Shape, key, missing_pieces,
                   spec_keys)
from .conv import Conv2d, DepthwiseConv2d, channel_role
from .deconv import ConvTranspose2d
from .elementwise import ACTIVATIONS, PASSTHROUGH, Elementwise, Scale
from .linear import Linear
from .merge import Add, Concat, Mul
from .norm import BatchNorm, LayerNorm
from .pool import GlobalPool, Pool2d
from .reshape import Flatten, Shuffle, Slice
from .upsample import Upsample
from .window import Padding, conv_axis

MODULES = (conv, deconv, linear, pool, norm, elementwise, merge, reshape, upsample)

# spec type name -> (class, fixed constructor arguments); aliases -> canonical names.
LAYERS: dict[str, LayerEntry] = {name: entry for m in MODULES for name, entry in m.TYPES.items()}
ALIASES: dict[str, str] = {alias: name for m in MODULES for alias, name in m.ALIASES.items()}


def canonical(type_name: str) -> str:
    return ALIASES.get(type_name, type_name)


def make_layer(type_name: str, **values) -> Layer:
    """Build a layer from its spec type name (or alias) and already-validated key values."""
    cls, fixed = LAYERS[canonical(type_name)]
    return cls(**fixed, **values)


__all__ = [
    "ACTIVATIONS", "ALIASES", "COST_KEYS", "LAYERS", "MODULES", "PASSTHROUGH", "PIECES", "TRAITS", "Add",
    "BatchNorm", "Concat", "Conv2d", "ConvTranspose2d", "Cost", "DepthwiseConv2d", "Elementwise", "Flatten",
    "GlobalPool", "Layer", "LayerEntry", "LayerNorm", "Linear", "Mul", "Padding", "Pool2d", "ReceptiveField",
    "Scale", "Shape", "Shuffle", "Slice", "Upsample", "canonical", "conv_axis", "key", "make_layer",
    "missing_pieces", "channel_role", "spec_keys",
]

"""The structure of a spec file, as one table that the reader, its size estimates and the JSON
Schema all follow: the keys of the top level, of a model and of a template, and the blocks."""

from __future__ import annotations

from ..records import record


COMMON_KEYS = ("type", "name", "inputs")  # of every layer, block and template use
TOP_KEYS = ("name", "description", "input", "layers", "models", "blocks")
MODEL_KEYS = ("name", "description", "input", "layers")
TEMPLATE_KEYS = ("params", "layers", "description")


@record
class BlockKey:
    """One key of a block. kind: `layers` (one layer list), `branches` (a list of layer lists),
    `count` (a positive int) or `choice` (one of `choices`)."""

    name: str
    kind: str
    required: bool = False
    non_empty: bool = False  # a layer list that may not be []
    choices: tuple[str, ...] = ()
    default: str | None = None
    description: str = ""


@record
class Block:
    """A block type: its keys; whether it ends in a merge node named after the block; which count
    key, if any, repeats its lists."""

    name: str
    keys: tuple[BlockKey, ...]
    merges: bool
    times: str | None = None
    description: str = ""

    @property
    def key_names(self) -> tuple[str, ...]:
        return COMMON_KEYS + tuple(k.name for k in self.keys)


BLOCKS: dict[str, Block] = {
    "parallel": Block("parallel", (
        BlockKey("branches", "branches", required=True, description="one layer list per branch ([] is the identity)"),
        BlockKey("merge", "choice", choices=("concat", "add"), default="concat"),
    ), merges=True, description="branches fed with the block's input, merged"),
    "residual": Block("residual", (
        BlockKey("body", "layers", required=True, non_empty=True),
        BlockKey("shortcut", "layers", description="no shortcut is the identity"),
    ), merges=True, description="add(body(x), shortcut(x))"),
    "repeat": Block("repeat", (
        BlockKey("times", "count", required=True),
        BlockKey("body", "layers", required=True, non_empty=True),
    ), merges=False, times="times", description="the body `times` times in sequence"),
}
BLOCK_TYPES = tuple(BLOCKS)

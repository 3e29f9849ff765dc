"""The bounds that keep any input, however hostile, to bounded time and memory (docs/limits.md).

Each is far above what a real network needs; what passes one is refused with a clear problem
before the work it would cause is done.
"""

from __future__ import annotations

DEFAULT_MAX_LAYERS = 1_000_000  # layers after expansion, all models of a file together (--max-layers)
DEFAULT_MAX_BYTES = 8 * 1024 * 1024  # a spec file (--max-bytes); reading YAML takes ~150 bytes a byte
MAX_DEPTH = 100  # YAML nesting levels; Python recursion stays far below its limit
MAX_NESTING = 50  # blocks and templates inside each other
MAX_INT_DIGITS = 18  # integers below 10**18: exact counts stay small enough to print
MAX_TEXT = 10_000  # characters in one string or key
MAX_PATH = 256  # characters in a layer's full path ("stage/2/res/conv1")
PROBLEM_CAP = 200  # stop reading a file after this many problems (only MAX_PROBLEMS are shown)

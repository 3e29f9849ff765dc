"""Text from a spec or the command line made inert for display: control characters escaped.

Names, descriptions and paths come from whoever wrote the spec or named the file. Shown raw,
an escape sequence (ESC [2J, ESC ]0;title BEL) drives the reader's terminal, a newline splits
one line of output into two and a bidi override reorders what the reader sees.
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL, lone surrogates (not encodable), the line and paragraph separators,
# and the bidirectional controls (U+061C, U+200E/F, U+202A-E, U+2066-9). Zero-width joiners and
# other format characters stay: emoji and scripts need them.
_OTHER_CONTROLS = "\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
# Compiled on first use by re's own cache: most runs never meet a control character, and
# compiling the classes costs a millisecond of start-up.
_UNSAFE = f"[\x00-\x1f{_OTHER_CONTROLS}]"
_UNSAFE_BUT_LINES = f"[\x00-\x08\x0b-\x1f{_OTHER_CONTROLS}]"  # keeps \t and \n
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escaped(char: str) -> str:
    """One character as Python writes it in a string literal: \\n, \\x1b, \\u202e."""
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def _escape(match: re.Match) -> str:
    return escaped(match.group())


def inert(text: str) -> str:
    """`text` with every control character escaped (\\x1b, \\n): safe on one line of a terminal.

    A backslash is left as it is, so the result is for reading, not for copying back."""
    # Every character escaped here is one that str.isprintable rejects: the common case is one C call.
    return text if text.isprintable() else re.sub(_UNSAFE, _escape, text)


def inert_lines(text: str) -> str:
    """Like inert, but line breaks and tabs stay: for descriptions and listings shown as several lines."""
    return text if text.isprintable() else re.sub(_UNSAFE_BUT_LINES, _escape, text)

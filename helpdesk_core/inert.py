"""Untrusted text made inert before it reaches a terminal.

Subjects, priority names, logins and error messages quote what clients and other admins
wrote. A terminal obeys ESC/CSI/OSC sequences (clear the screen, recolour, set the window
title, plant a hyperlink) and C1 controls, and bidi overrides reorder what is shown; so
every such character is shown as a visible escape instead: ``\\x1b[2J`` prints as
``␛[2J``, U+202E as ``<U+202E>``. Newlines and tabs stay (tables and messages use them).
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls; bidi embeddings, overrides,
# isolates and marks; line/paragraph separators a terminal may treat as breaks.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Control Pictures: ␛ for ESC, ␍ for CR, ␇ for BEL
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def inert(text: str) -> str:
    """`text` with every control and bidi character replaced by a visible, harmless stand-in."""
    return _UNSAFE.sub(_visible, text)


# json.dumps escapes C0 itself; DEL, C1 and bidi characters it leaves raw (valid in strings).
_JSON_RAW = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def inert_json(document: str) -> str:
    """A JSON text with those characters written as \\uXXXX: the same data, inert on a terminal."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", document)

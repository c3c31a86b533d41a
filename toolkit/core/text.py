"""The one text cleaner: what a file stored, as the text a person typed and any later writer can carry.

Excel escapes characters XML cannot hold as `_xHHHH_`; undoing that can yield control characters or
a lone surrogate (`_xD800_`), which JSON encoders, XML writers and terminals all refuse. So every
text read from a file passes through here once: escapes undone, line ends unified, and whatever
XML 1.0 cannot carry dropped.
"""

from __future__ import annotations

import re

_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text without the characters XML 1.0 forbids (Word refuses the file otherwise); nothing else changes."""
    return _ILLEGAL.sub("", text)


def clean_text(text: str) -> str:
    """Cell or field text as typed: `_xHHHH_` undone (once), CR LF and CR as LF, then made xml_safe."""
    text = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
    return xml_safe(text.replace("\r\n", "\n").replace("\r", "\n"))

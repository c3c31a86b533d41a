"""The one text cleaner: what a file stored, as the text a person typed and any later writer can carry.

Excel escapes characters XML cannot hold as `_xHHHH_`; undoing that can yield control characters or
a lone surrogate (`_xD800_`), which JSON encoders, XML writers and terminals all refuse. So every
text read from a file passes through here once, where it is read: escapes undone, line ends unified,
and whatever no later reader should get dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

from toolkit.core.errors import UserError

_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
# What no message, JSON, terminal, workbook or Word document should carry: the characters XML 1.0
# forbids (C0 controls but tab and line ends, lone surrogates, U+FFFE/U+FFFF); DEL and the C1 controls,
# which XML allows but terminals obey (U+009B is CSI, as ESC [); and the bidirectional marks, embeddings,
# overrides and isolates, which make a message show its text in another order than it was written.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text without the characters above (XML 1.0 forbids some, terminals obey others); nothing else changes.

    Idempotent, so any writer may apply it again to text that has been cleaned already."""
    return _UNSAFE.sub("", text)


def plain(text: str) -> str:
    """Text that is no typed text (a stored number, a formula, an address): CR LF and CR as LF, made xml_safe.

    No escape is undone (Excel escapes only text); idempotent, like xml_safe."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return xml_safe(text)


def clean_text(text: str) -> str:
    """Cell or field text as typed: `_xHHHH_` undone (exactly once), CR LF and CR as LF, then made xml_safe.

    Not idempotent (Excel writes a typed "_x0041_" as "_x005F_x0041_"): apply it once, where text is read."""
    if "_x" in text:
        text = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
    return plain(text)


def decode_text(raw: bytes, path: str | Path) -> str:
    """A text file as offices save it: UTF-8 (with or without BOM) or GB18030; UserError naming the file otherwise."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UserError(f"{path}：无法识别文件编码（请另存为 UTF-8）")

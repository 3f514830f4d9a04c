"""Neutralising untrusted text from marketplaces before it is stored or shown."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# CSI / OSC / other escape sequences, then any remaining C0/C1 control or format character.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")


def _neutralise(text: str) -> str:
    text = _ESCAPES.sub("", text)
    out = []
    for ch in text:
        if ch in "\t\n\r":
            out.append(" ")
        elif unicodedata.category(ch) == "Cf":
            continue  # zero-width and bidi-override characters: invisible, and able to reorder text
        elif unicodedata.category(ch) in ("Cc", "Cs", "Co"):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out).strip()


def clean_text(value: object, max_length: int | None = None) -> str:
    """Printable text: escape sequences removed, control characters replaced, length bounded.

    Tabs and newlines become spaces: every stored field is shown on one line.
    """
    if type(value) is str and (max_length is None or len(value) <= max_length) and value.isprintable():
        return value.strip()  # the common case, in one test (an import calls this ~40 times per order)
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if max_length is not None and len(text) > max_length * 4:
        text = text[: max_length * 4]  # bound the work on hostile huge strings before scanning
    if text.isprintable():
        # The common case, checked in C: no control, format, escape or unassigned character to treat
        # (isprintable is False for every Cc, Cf, Cs, Co and Cn character and for separators but space).
        text = text.strip()
    else:
        text = _neutralise(text)
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1] + "…"
    return text


def clean_texts(values: Sequence[object], max_length: int) -> list[str]:
    """``clean_text`` of each value; one C-speed check for the common case where all are printable
    and short (an order's party fields, a line's fields: dozens of calls per imported order)."""
    texts = [v if type(v) is str else "" if v is None else str(v) for v in values]
    if texts and max(map(len, texts)) <= max_length and "".join(texts).isprintable():
        return [t.strip() for t in texts]
    return [clean_text(t, max_length) for t in texts]

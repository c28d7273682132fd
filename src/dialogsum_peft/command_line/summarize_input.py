"""The dialogues ``summarize`` reads: JSON Lines with a ``"dialogue"`` field, or plain-text
dialogues separated by blank lines, from a file or standard input.

Why: a stray array on one line, a file with Windows line endings or a blank line made of
invisible characters must read the same way the user sees it, or fail in one line that names
the place (:class:`~dialogsum_peft.errors.DataError`), before any model is loaded.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..errors import DataError
from ..inputs import (
    NOTHING_VISIBLE,
    decode_utf8,
    has_visible_text,
    is_blank_line,
    json_lines,
    read_text,
)

STDIN = "-"


def plain_text_blocks(text: str) -> list[str]:
    """The blank-line-separated blocks of ``text``, each stripped.

    Lines end at any line break Python knows (``str.splitlines``: LF, CRLF, CR, U+2028 ...), so
    Windows and old Mac files split like Unix ones; a line is blank by :func:`is_blank_line`.
    """
    blocks, current = [], []
    for line in text.splitlines():
        if is_blank_line(line):
            if current:
                blocks.append("\n".join(current).strip())
            current = []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current).strip())
    return [b for b in blocks if b]


def read_dialogues(text: str, source: str = "input") -> tuple[list[dict[str, Any]], bool]:
    """Dialogues to summarize, from JSON Lines or from blank-line-separated plain text.

    The input is JSON Lines when its first non-blank line starts with ``{``; then every line must
    be an object with a non-empty ``"dialogue"`` string (a stray array or plain line is an error,
    not silently summarized as text). Otherwise each block between whitespace-only lines
    (:func:`plain_text_blocks`: any Unicode whitespace, any line-ending convention) is one dialogue.
    Lines with nothing visible on them (:func:`is_blank_line`) are blank in both formats.
    Returns the records (each with a ``"dialogue"``, other fields kept) and whether the input was
    JSON Lines. ``source`` names the input in messages. No dialogue at all is a DataError.
    """
    text = text.removeprefix("\ufeff")
    first = next((line for line in text.split("\n") if not is_blank_line(line)), "")
    if NOTHING_VISIBLE.sub("", first).startswith("{"):
        records = []
        for lineno, record in json_lines(text, source, 'a "dialogue" field'):
            dialogue = record.get("dialogue")
            if not isinstance(dialogue, str) or not has_visible_text(dialogue):
                raise DataError(f'{source}: line {lineno} has no non-empty "dialogue" string field')
            records.append(record)
        return records, True
    blocks = plain_text_blocks(text)
    if not blocks:
        raise DataError(
            f'{source}: no dialogues (give JSON Lines with a "dialogue" field, or '
            f"plain-text dialogues separated by blank lines)"
        )
    return [{"dialogue": b} for b in blocks], False


def read_dialogue_file(path: str | os.PathLike) -> tuple[list[dict[str, Any]], bool]:
    """:func:`read_dialogues` on a file (``"-"``: standard input), decoded by :func:`read_input`."""
    source = "<stdin>" if str(path) == STDIN else str(path)
    return read_dialogues(read_input(path), source=source)


def read_input(path: str | os.PathLike) -> str:
    """The UTF-8 text of the file ``path`` (:func:`~dialogsum_peft.inputs.read_text`), or with
    ``"-"`` of standard input, decoded alike (a leading BOM dropped, a bad byte named)."""
    if str(path) != STDIN:
        return read_text(path)
    buffer = getattr(sys.stdin, "buffer", None)  # a StringIO stdin (tests, notebooks) has none
    if buffer is None:
        return sys.stdin.read().removeprefix("\ufeff")
    return decode_utf8(buffer.read(), "<stdin>")

"""Reading local input files: text decoding, JSON Lines, and what counts as visible text.

Why this module exists: a stray Latin-1 byte, a BOM written by a Windows editor, a JSON array on
one line or a folder given where a file was expected used to end in a traceback from deep inside
``codecs``, ``json`` or ``datasets``. Every reader here raises :class:`DataError` with one line
that names the file and the place (byte offset or line number), before anything is loaded.
The data loader (:mod:`dialogsum_peft.data`) and the command line's ``summarize`` input
(:mod:`dialogsum_peft.command_line.summarize_input`) read through these, so they accept and
refuse the same bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import regex

from .errors import DataError

# How JSON calls the Python types json.loads returns, for "line 3 is a JSON array".
_JSON_KINDS = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def decode_utf8(data: bytes, source: str | os.PathLike) -> str:
    """``data`` as UTF-8 text, a leading BOM dropped; a bad byte names its offset in the file."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        # utf-8-sig reports positions after the BOM it stripped; count from the file's start.
        offset = err.start + len(data) - len(err.object)
        raise DataError(
            f"{source}: not UTF-8 text (byte 0x{data[offset]:02x} at offset {offset}); "
            f"save the file as UTF-8"
        ) from None


def read_text(path: str | os.PathLike) -> str:
    """The UTF-8 text of the file ``path``; any failure is one DataError line."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied (the file cannot be read)") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror or err})") from None
    return decode_utf8(data, path)


def json_lines(text: str, source: str | os.PathLike, expected: str) -> list[tuple[int, dict]]:
    """``(line number, object)`` for every non-blank line of JSON Lines ``text``.

    ``expected`` completes the message for a line that is valid JSON but not an object, e.g.
    ``'"dialogue" and "summary" fields'``. Lines are split on ``\\n`` only: JSON strings may hold
    raw U+2028 and friends, which ``str.splitlines`` would wrongly break on.
    """
    out = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if is_blank_line(line):
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{source}: line {lineno} is not valid JSON ({err.msg})") from None
        if not isinstance(value, dict):
            kind = _JSON_KINDS.get(type(value), type(value).__name__)
            raise DataError(
                f"{source}: line {lineno} is a JSON {kind}, not an object with {expected}"
            )
        out.append((lineno, value))
    return out


# What a line may hold and still show nothing: Unicode whitespace (U+00A0, U+3000, tabs ...),
# default-ignorable code points (zero-width spaces and joiners, U+200E/U+200F direction marks,
# bidirectional controls, variation selectors, Hangul fillers, the BOM: Unicode's
# Default_Ignorable_Code_Point, which renderers draw as nothing), control and format characters,
# and U+2800 (the blank Braille pattern), all of which text copied from web pages, chat apps and
# word processors holds. Matched with the ``regex`` package's Unicode properties (a dependency
# of transformers' tokenizers), not a hand-kept list.
NOTHING_VISIBLE = regex.compile(
    r"[\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}\u2800]*"
)


def is_blank_line(line: str) -> bool:
    """True for a line with nothing visible on it: only whitespace, invisible (default-ignorable,
    control or format) characters or the blank Braille pattern, in any mix (see
    ``NOTHING_VISIBLE``). Such a line separates plain-text dialogues and is skipped in JSON Lines."""
    return NOTHING_VISIBLE.fullmatch(line) is not None


def has_visible_text(text: str) -> bool:
    """False for a text (a dialogue, a field) with nothing visible in it (:func:`is_blank_line`)."""
    return not is_blank_line(text)

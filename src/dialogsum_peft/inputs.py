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


# ------------------------------------------------------------------ a DialogSum folder
# File names of the two local formats we read.
HUB_EXPORT_FILES = {"train": "train.jsonl", "validation": "validation.jsonl", "test": "test.jsonl"}
ORIGINAL_FILES = {
    "train": "dialogsum.train.jsonl",
    "validation": "dialogsum.dev.jsonl",
    "test": "dialogsum.test.jsonl",
}


def read_split_file(path: Path) -> tuple[list[dict], list[str]]:
    """The objects of one split file and where each is (``"FILE, line N"``); bad bytes, bad
    lines or no lines at all are a DataError."""
    lines = json_lines(read_text(path), path, '"dialogue" and "summary" fields')
    if not lines:
        raise DataError(f"{path}: no JSON lines (the file is empty; expected one object per line)")
    return [row for _, row in lines], [f"{path}, line {n}" for n, _ in lines]


def split_files(folder: Path) -> dict[str, Path]:
    """Each split's file in ``folder``, in either naming (:data:`HUB_EXPORT_FILES`,
    :data:`ORIGINAL_FILES`, which may be mixed); two files for one split are a DataError."""
    found: dict[str, Path] = {}
    for names in (HUB_EXPORT_FILES, ORIGINAL_FILES):
        for split, name in names.items():
            # exists(), not is_file(): a folder named train.jsonl is an error, not a missing split
            if (folder / name).exists():
                if split in found:
                    raise DataError(
                        f"{folder} holds two files for the '{split}' split "
                        f"({found[split].name} and {name}): keep one"
                    )
                found[split] = folder / name
    if not found:
        expected = ", ".join(list(HUB_EXPORT_FILES.values()) + list(ORIGINAL_FILES.values()))
        raise DataError(f"no DialogSum files in {folder} (expected some of: {expected})")
    return found


def missing_split_message(source, name: str, have) -> str:
    """What to say when the data read from ``source`` (a folder, a Hub id, ``None``: unknown)
    has no ``name`` split (``have``: the splits it has): for a folder, which files would hold
    the split, what the folder holds and what to add."""
    folder = Path(source).expanduser() if source is not None else None
    if folder is None or not folder.is_dir():
        where = f"the dataset {source}" if source is not None else "the dataset"
        return f"{where} has no {name!r} split (it has: {', '.join(have) or 'none'})"
    try:
        holds = ", ".join(sorted(p.name for p in split_files(folder).values()))
    except DataError:
        holds = "no split file"
    files = [f for f in (HUB_EXPORT_FILES.get(name), ORIGINAL_FILES.get(name)) if f]
    if not files:  # not a split name this loader knows
        return f"{source} has no {name!r} split (it has: {', '.join(have) or 'none'}; {holds})"
    return (
        f"{source} has no {name} split: it holds {holds}; add {' or '.join(files)} (one JSON "
        'object per line, with "dialogue" and "summary")'
    )

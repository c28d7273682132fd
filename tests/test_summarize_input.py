"""summarize's input: JSON Lines or blank-line-separated plain text, from a file or stdin; every
way a line can be blank; one DataError line for what cannot be read."""

import io
import sys

import pytest

from dialogsum_peft.command_line.summarize_input import read_dialogue_file, read_dialogues
from test_inputs import BOM, GOOD, error_of, jsonl_bytes


def test_stdin_bytes_are_decoded_like_files(monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(BOM + jsonl_bytes(GOOD)), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    records, is_jsonl = read_dialogue_file("-")
    assert is_jsonl and records[0]["id"] == "t0"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a: caf\xe9\n")))
    assert error_of(read_dialogue_file, "-") == (
        "<stdin>: not UTF-8 text (byte 0xe9 at offset 6); save the file as UTF-8"
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO("\ufeffa: 1\n\nb: 2\n"))  # no .buffer
    assert read_dialogue_file("-") == ([{"dialogue": "a: 1"}, {"dialogue": "b: 2"}], False)


def test_read_dialogues_formats():
    records, is_jsonl = read_dialogues(
        '{"id": "a", "dialogue": "x: hi"}\n\n{"dialogue": "y: yo"}\n'
    )
    assert is_jsonl and records == [{"id": "a", "dialogue": "x: hi"}, {"dialogue": "y: yo"}]
    records, is_jsonl = read_dialogues("a: 1\nb: 2\r\n \r\nc: 3\n")
    assert not is_jsonl and [r["dialogue"] for r in records] == ["a: 1\nb: 2", "c: 3"]
    # a dialogue may start with "[" (e.g. "[Person1]"): only a leading "{" means JSON Lines
    records, is_jsonl = read_dialogues("[A]: hi\n[B]: yo\n")
    assert not is_jsonl and records == [{"dialogue": "[A]: hi\n[B]: yo"}]
    assert error_of(read_dialogues, " \n\n") == (
        'input: no dialogues (give JSON Lines with a "dialogue" field, or plain-text dialogues '
        "separated by blank lines)"
    )


# Issue 17: a whitespace-only line separates dialogues, whatever the whitespace and line endings.
# Before the fix the U+00A0 case failed `assert texts == ["#Person1#: hi\n#Person2#: yo", ...]`
# (one dialogue came back: only spaces/tabs between "\n"s counted as a blank line).
BLANKS = {
    "nbsp": "\u00a0",
    "ideographic space": "\u3000",
    "em space": "\u2003",
    "tab and nbsp": "\t\u00a0 ",
    "zero-width space": "\u200b",
    "BOM": "\ufeff",
    "narrow nbsp": "\u202f",
    "empty": "",
    # Issue 32 (9): nothing visible, yet not whitespace; before the fix each case came back
    # as one merged dialogue
    "left-to-right mark": "\u200e",
    "right-to-left mark": "\u200f",
    "isolate marks": "\u2066\u2069",
    "Arabic letter mark": "\u061c",
    "soft hyphen": "\u00ad",
    "word joiner and space": "\u2060 ",
    "Hangul filler": "\u3164",
    "variation selector": "\ufe0f",
    "blank Braille pattern": "\u2800",
}
ENDINGS = {"LF": "\n", "CRLF": "\r\n", "CR": "\r", "U+2028": "\u2028"}


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize("blank", list(BLANKS))
def test_a_whitespace_only_line_separates_dialogues(tmp_path, blank, ending):
    nl = ENDINGS[ending]
    text = nl.join(
        ["#Person1#: hi", "#Person2#: yo", BLANKS[blank], "#Person1#: bye", "#Person2#: ok", ""]
    )
    path = tmp_path / "in.txt"
    path.write_bytes(text.encode("utf-8"))
    records, is_jsonl = read_dialogue_file(path)
    texts = [r["dialogue"] for r in records]
    assert not is_jsonl
    assert texts == ["#Person1#: hi\n#Person2#: yo", "#Person1#: bye\n#Person2#: ok"]


def test_whitespace_inside_a_dialogue_line_does_not_split_it():
    records, _ = read_dialogues("#Person1#: 10\u00a0kg please\n#Person2#: sure\u3000ok\n")
    assert [r["dialogue"] for r in records] == [
        "#Person1#: 10\u00a0kg please\n#Person2#: sure\u3000ok"
    ]


# Issue 32 (9): JSON Lines skip a line with nothing visible, as they skip an empty one, and a
# "dialogue" of invisible characters is empty. Before the fix both were errors of another kind
# ("line 2 is not valid JSON") or accepted.
def test_json_lines_skip_invisible_lines_and_refuse_invisible_dialogues():
    text = '{"dialogue": "x: hi"}\n\u200e\n\u2066 \u2069\n{"dialogue": "y: yo"}\n'
    records, is_jsonl = read_dialogues(text)
    assert is_jsonl and [r["dialogue"] for r in records] == ["x: hi", "y: yo"]
    records, is_jsonl = read_dialogues('\u200e\n{"dialogue": "x: hi"}\n')
    assert is_jsonl and records == [{"dialogue": "x: hi"}]
    assert error_of(read_dialogues, '{"dialogue": "\u200e\u00a0"}\n') == (
        'input: line 1 has no non-empty "dialogue" string field'
    )
    assert error_of(read_dialogues, "\u200e\n\u2800\n").startswith("input: no dialogues")


def test_a_visible_character_keeps_a_line():
    records, _ = read_dialogues("#Person1#: hi\n\u200e.\n#Person2#: yo\n")
    assert [r["dialogue"] for r in records] == ["#Person1#: hi\n\u200e.\n#Person2#: yo"]

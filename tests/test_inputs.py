"""Bad local input files end in one DataError line naming the file and the place, never a traceback."""

import json
from pathlib import Path

import pytest

from dialogsum_peft.command_line.summarize_input import read_dialogue_file
from dialogsum_peft.data import DataError, load_dialogsum

GOOD = {"id": "t0", "dialogue": "#Person1#: Hi.\n#Person2#: Hello.", "summary": "They greet."}
BOM = b"\xef\xbb\xbf"


def jsonl_bytes(*values) -> bytes:
    return "".join(json.dumps(v) + "\n" for v in values).encode()


def error_of(fn, *args) -> str:
    with pytest.raises(DataError) as err:
        fn(*args)
    msg = str(err.value)
    assert "\n" not in msg, msg
    return msg


@pytest.mark.parametrize("bom", [b"", BOM])
def test_non_utf8_byte_names_file_and_offset(tmp_path, bom):
    head = bom + jsonl_bytes(GOOD) + b'{"id": "t1", "dialogue": "caf'
    data = head + b'\xe9", "summary": "s"}\n'  # Latin-1 e-acute, as a Windows editor writes it
    (tmp_path / "train.jsonl").write_bytes(data)
    msg = error_of(load_dialogsum, tmp_path)
    assert str(tmp_path / "train.jsonl") in msg
    assert f"not UTF-8 text (byte 0xe9 at offset {len(head)})" in msg
    assert data[len(head)] == 0xE9
    msg = error_of(read_dialogue_file, tmp_path / "train.jsonl")
    assert str(tmp_path / "train.jsonl") in msg and f"offset {len(head)}" in msg


def test_bom_jsonl_is_read_as_json_lines(tmp_path):
    (tmp_path / "train.jsonl").write_bytes(BOM + jsonl_bytes(GOOD, {**GOOD, "id": "t1"}))
    assert load_dialogsum(tmp_path)["train"]["id"] == ["t0", "t1"]
    records, is_jsonl = read_dialogue_file(tmp_path / "train.jsonl")
    assert is_jsonl and [r["id"] for r in records] == ["t0", "t1"]
    assert records[0]["dialogue"] == GOOD["dialogue"]


@pytest.mark.parametrize(
    "value, kind", [([1, 2], "array"), (42, "number"), ("hi", "string"), (None, "null")]
)
def test_json_line_that_is_not_an_object_names_file_and_line(tmp_path, value, kind):
    path = tmp_path / "train.jsonl"
    path.write_bytes(jsonl_bytes(GOOD) + b"\n" + jsonl_bytes(value))  # line 2 blank: line 3 is bad
    msg = error_of(load_dialogsum, tmp_path)
    assert msg == (
        f'{path}: line 3 is a JSON {kind}, not an object with "dialogue" and "summary" fields'
    )
    msg = error_of(read_dialogue_file, path)
    assert msg == f'{path}: line 3 is a JSON {kind}, not an object with a "dialogue" field'


def test_invalid_json_and_missing_dialogue_name_the_real_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"dialogue": "a: hi"}\n\n#Person1#: plain text\n')
    assert error_of(read_dialogue_file, path).startswith(f"{path}: line 3 is not valid JSON (")
    path.write_text('{"dialogue": "a: hi"}\n{"text": "b: yo"}\n')
    assert error_of(read_dialogue_file, path) == (
        f'{path}: line 2 has no non-empty "dialogue" string field'
    )


@pytest.mark.parametrize("content", [b"", b"\n  \n", BOM])
def test_empty_files(tmp_path, content):
    (tmp_path / "train.jsonl").write_bytes(content)
    msg = error_of(load_dialogsum, tmp_path)
    assert msg.startswith(f"{tmp_path / 'train.jsonl'}: no JSON lines")
    (tmp_path / "in.txt").write_bytes(content)
    assert error_of(read_dialogue_file, tmp_path / "in.txt").startswith(
        f"{tmp_path / 'in.txt'}: no dialogues"
    )


def test_folder_missing_and_unreadable_files(tmp_path, monkeypatch):
    (tmp_path / "train.jsonl").mkdir()
    assert (
        error_of(load_dialogsum, tmp_path) == f"{tmp_path / 'train.jsonl'}: is a folder, not a file"
    )
    assert error_of(read_dialogue_file, tmp_path) == f"{tmp_path}: is a folder, not a file"
    assert (
        error_of(read_dialogue_file, tmp_path / "nope.txt")
        == f"{tmp_path / 'nope.txt'}: file not found"
    )

    def denied(self):  # chmod cannot lock root (CI) out of a file, so simulate the OS answer
        raise PermissionError(13, "Permission denied", str(self))

    path = tmp_path / "in.txt"
    path.write_text("a: hi\n")
    monkeypatch.setattr(Path, "read_bytes", denied)
    assert (
        error_of(read_dialogue_file, path) == f"{path}: permission denied (the file cannot be read)"
    )

import json

import pytest

from dialogsum_peft.data import (
    COLUMNS, DataError, LoadReport, build_prompt, load_dialogsum, require_split,
    tokenize_for_training, tokenize_split, truncation_counts, truncation_warning,
)
import logging
import re


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_prompt_wraps_dialogue_with_instruction():
    prompt = build_prompt("#Person1#: Hi.\n#Person2#: Hello.")
    assert prompt.startswith("Summarize the following conversation.")
    assert "#Person1#: Hi.\n#Person2#: Hello." in prompt
    assert prompt.rstrip().endswith("Summary:")
    with pytest.raises(TypeError):
        build_prompt(None)


# Issue 32: U+001E (and U+001C/1D, U+2028, CR ...) between two turns is a line break: Flan-T5's
# tokenizer deletes U+001E, so before the fix the turns reached the model glued
# ("hi.#Person2#"), in prompts and training summaries alike.
SEPARATORS = ["\x1e", "\x1c", "\x1d", "\x85", "\u2028", "\u2029", "\r", "\r\n", "\x0b", "\x0c"]


@pytest.mark.parametrize("sep", SEPARATORS)
def test_every_line_separator_reaches_the_model_as_a_line_break(tiny, sep):
    _, tok = tiny
    lines = "#Person1#: Hi.\n#Person2#: Hello."
    assert build_prompt(lines.replace("\n", sep)) == build_prompt(lines)
    glued = {"dialogue": [lines.replace("\n", sep)], "summary": [f"One greets.{sep}Two greets."]}
    plain = {"dialogue": [lines], "summary": ["One greets.\nTwo greets."]}
    lengths = dict(max_source_length=512, max_target_length=128)
    assert tokenize_for_training(glued, tok, **lengths) == tokenize_for_training(plain, tok, **lengths)


def test_turns_separated_by_u001e_stay_apart_for_flan_t5():
    from pathlib import Path

    from transformers import AutoTokenizer

    path = Path(__file__).resolve().parents[2] / "shared" / "flan-t5-tokenizer"
    if not path.is_dir():
        from conftest import needs_shared

        pytest.skip(needs_shared("flan-t5-tokenizer"))
    tok = AutoTokenizer.from_pretrained(path)
    tokens = tok.tokenize(build_prompt("#Person1#: hi\x1e#Person2#: yo"))
    assert tokens[tokens.index("▁hi") + 1] == "▁#"  # a space, as after "\n"; not "hi#" glued


def test_shipped_sample_has_all_splits_and_columns(sample):
    assert set(sample) == {"train", "validation", "test"}
    assert (len(sample["train"]), len(sample["validation"]), len(sample["test"])) == (40, 10, 10)
    for split in sample.values():
        assert tuple(split.column_names) == COLUMNS
        for row in split:
            assert row["summary"] == row["references"][0]
    # the Hub-format test file repeats dialogues once per reference: grouped here
    assert sorted(len(r) for r in sample["test"]["references"]) == [2, 2, 2] + [3] * 7
    assert sample["test"][0]["id"] == "test_0"


def test_hub_export_format_groups_repeated_test_dialogues(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [
        {"id": "train_0", "dialogue": "#Person1#: A", "summary": "s0", "topic": "t"},
        {"id": "train_1", "dialogue": "#Person1#: A", "summary": "s1", "topic": "t"},
    ])
    write_jsonl(tmp_path / "test.jsonl", [
        {"id": "test_0_1", "dialogue": "#Person1#: X", "summary": "x1", "topic": "a"},
        {"id": "test_1_1", "dialogue": "#Person1#: Y", "summary": "y1", "topic": "b"},
        {"id": "test_0_2", "dialogue": "#Person1#: X", "summary": "x2", "topic": "a2"},
        {"id": "test_0_3", "dialogue": "#Person1#: X", "summary": "x3", "topic": "a3"},
    ])
    ds = load_dialogsum(tmp_path)
    assert set(ds) == {"train", "test"}  # absent validation file: absent split
    assert len(ds["train"]) == 2  # training pairs are never merged
    assert ds["test"]["id"] == ["test_0", "test_1"]
    assert ds["test"]["references"] == [["x1", "x2", "x3"], ["y1"]]
    assert ds["test"]["summary"] == ["x1", "y1"]
    assert ds["test"]["topic"] == ["a", "b"]


def test_original_format_with_numbered_summaries(tmp_path):
    write_jsonl(tmp_path / "dialogsum.dev.jsonl", [
        {"fname": "dev_1", "dialogue": "#Person1#: D", "summary": "d", "topic": "x"},
    ])
    write_jsonl(tmp_path / "dialogsum.test.jsonl", [
        {"fname": "test_1", "dialogue": "#Person1#: T", "summary1": "a", "summary2": "b",
         "summary3": "c", "topic1": "t1", "topic2": "t2", "topic3": "t3"},
    ])
    ds = load_dialogsum(tmp_path)
    assert set(ds) == {"validation", "test"}
    assert ds["validation"][0] == {"id": "dev_1", "dialogue": "#Person1#: D", "summary": "d",
                                   "references": ["d"], "topic": "x"}
    assert ds["test"][0]["references"] == ["a", "b", "c"]
    assert ds["test"][0]["topic"] == "t1"


@pytest.mark.parametrize("row, field, words", [
    ({"id": "r1", "dialogue": "", "summary": "s"}, "dialogue", "empty"),
    ({"id": "r1", "summary": "s"}, "dialogue", "missing"),
    ({"id": "r1", "dialogue": "d", "summary": 3}, "summary", "must be a string"),
    ({"id": "r1", "dialogue": "d", "summary": "   "}, "summary", "empty"),
])
def test_bad_rows_raise_naming_split_row_and_field(tmp_path, row, field, words):
    write_jsonl(tmp_path / "train.jsonl", [{"id": "ok", "dialogue": "d", "summary": "s"}, row])
    with pytest.raises(DataError) as err:
        load_dialogsum(tmp_path)
    msg = str(err.value)
    assert "'train'" in msg and "'r1'" in msg and f"'{field}'" in msg and words in msg


def test_bad_rows_can_be_skipped_and_counted(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [
        {"id": "ok", "dialogue": "d", "summary": "s"},
        {"id": "bad", "dialogue": None, "summary": "s"},
    ])
    report = LoadReport()
    ds = load_dialogsum(tmp_path, skip_invalid=True, report=report)
    assert ds["train"]["id"] == ["ok"]
    assert report.n_skipped == 1 and "'bad'" in report.skipped["train"][0]


def test_missing_folder_and_missing_split_are_clear(tmp_path, sample):
    with pytest.raises(DataError, match="no DialogSum files"):
        load_dialogsum(tmp_path)
    with pytest.raises(DataError, match="not found"):
        load_dialogsum(tmp_path / "nope")
    with pytest.raises(DataError, match="no 'dev' split .*train, validation, test"):
        require_split(sample, "dev")


def test_tokenize_uses_prompt_and_text_target_labels(tiny):
    _, tok = tiny
    batch = {"dialogue": ["#Person1#: Hi there.\n#Person2#: Hello."], "summary": ["They greet."]}
    out = tokenize_for_training(batch, tok, max_source_length=512, max_target_length=128)
    assert out["input_ids"][0] == tok(build_prompt(batch["dialogue"][0]))["input_ids"]
    assert out["labels"][0] == tok(text_target="They greet.")["input_ids"]
    assert out["labels"][0][-1] == tok.eos_token_id
    assert out["source_truncated"] == [False] and out["target_truncated"] == [False]


def test_truncation_is_counted_and_keeps_eos(tiny, sample):
    _, tok = tiny
    tokenized = tokenize_split(sample["train"], tok, max_source_length=256, max_target_length=16)
    counts = truncation_counts(tokenized)
    full = [len(tok(build_prompt(d))["input_ids"]) for d in sample["train"]["dialogue"]]
    assert counts["source"] == sum(n > 256 for n in full) >= 2  # the long sample dialogues
    assert counts["target"] > 0 and counts["total"] == 40
    assert max(len(x) for x in tokenized["input_ids"]) == 256
    assert all(x[-1] == tok.eos_token_id for x in tokenized["input_ids"])
    assert all(len(x) <= 16 and x[-1] == tok.eos_token_id for x in tokenized["labels"])


def test_truncation_warning_says_what_was_cut():
    counts = {"source": 3, "target": 1, "total": 40}
    assert truncation_warning(counts, 512, 128, "train") == (
        "warning: 3 of 40 train dialogues (longer than 512 tokens) and 1 of 40 train summaries "
        "(longer than 128 tokens) were truncated; raise max_source_length / max_target_length "
        "to keep them whole")
    assert truncation_warning({**counts, "source": 0}, 512, 128, "validation") == (
        "warning: 1 of 40 validation summaries (longer than 128 tokens) was truncated; "
        "raise max_target_length to keep them whole")  # issue 32 (11): one was, not were
    assert truncation_warning({"source": 0, "target": 0, "total": 40}, 512, 128) is None


def test_truncation_warning_is_printed_only_when_something_was_cut(tiny, sample, capsys):
    """The training data preparation prints one warning line per split that lost tokens."""
    from dialogsum_peft.config import TrainConfig
    from dialogsum_peft.trainer import prepare_datasets

    _, tok = tiny
    prepare_datasets(sample, tok, TrainConfig.smoke(max_source_length=256, max_target_length=16))
    err = capsys.readouterr().err
    assert "warning: " in err and "train dialogues (longer than 256 tokens)" in err
    assert "train summaries (longer than 16 tokens) were truncated" in err
    prepare_datasets(sample, tok, TrainConfig.smoke(max_source_length=4096, max_target_length=512))
    assert "warning" not in capsys.readouterr().err


def test_malformed_json_line_names_file_and_line(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"id": "a", "dialogue": "d", "summary": "s"}\n'
                                          '{"id": "b", "dialogue": "d", "summ\n')
    with pytest.raises(DataError, match=r"train\.jsonl: line 2 is not valid JSON"):
        load_dialogsum(tmp_path)


@pytest.mark.parametrize("rows, file, message", [
    ([{"id": "r7", "dialogue": 12, "summary": "s"}], "train.jsonl",
     r"split 'train', row 'r7': field 'dialogue' must be a string, got int"),
    ([{"id": "r8", "dialogue": ["#Person1#: hi"], "summary": "s"}], "train.jsonl",
     r"split 'train', row 'r8': field 'dialogue' must be a string, got list"),
    ([{"fname": "test_9", "dialogue": "d", "summary1": "a", "summary2": " ", "summary3": "c"}],
     "dialogsum.test.jsonl", r"split 'test', row 'test_9': field 'summary2' is empty"),
])
def test_more_bad_rows_name_split_row_and_field(tmp_path, rows, file, message):
    write_jsonl(tmp_path / file, rows)
    with pytest.raises(DataError, match=message):
        load_dialogsum(tmp_path)


def test_skipped_rows_are_counted_and_logged(tmp_path, caplog):
    write_jsonl(tmp_path / "train.jsonl", [
        {"id": "ok", "dialogue": "d", "summary": "s"},
        {"id": "no-summary", "dialogue": "d"},
        {"id": "empty", "dialogue": "  ", "summary": "s"},
    ])
    report = LoadReport()
    with caplog.at_level(logging.WARNING, logger="dialogsum_peft.data"):
        ds = load_dialogsum(tmp_path, skip_invalid=True, report=report)
    assert ds["train"]["id"] == ["ok"] and report.n_skipped == 2
    assert "'no-summary'" in caplog.text and "'empty'" in caplog.text
    write_jsonl(tmp_path / "train.jsonl", [{"id": "x", "dialogue": "", "summary": "s"}])
    with pytest.raises(DataError, match="split 'train' has no usable rows"):
        load_dialogsum(tmp_path, skip_invalid=True)


def test_truncation_count_is_logged(tiny, sample, caplog):
    _, tok = tiny
    with caplog.at_level(logging.INFO, logger="dialogsum_peft.data"):
        tokenize_split(sample["train"], tok, max_source_length=256, max_target_length=16,
                       desc="tokenizing train")
    line = next(r.getMessage() for r in caplog.records if "truncated" in r.getMessage())
    m = re.search(r"tokenizing train: (\d+) of 40 dialogues truncated to 256 tokens, "
                  r"(\d+) of 40 summaries to 16 tokens", line)
    assert m, line
    n_long = sum(len(tok(build_prompt(d))["input_ids"]) > 256 for d in sample["train"]["dialogue"])
    n_long_sum = sum(len(tok(text_target=s)["input_ids"]) > 16 for s in sample["train"]["summary"])
    assert (int(m.group(1)), int(m.group(2))) == (n_long, n_long_sum)
    assert n_long >= 1 and n_long_sum >= 1


# Issue 32, fault 7: one rule for the target and references, every other row one line naming
# file and line; a file given for the folder, and folders mixing the two layouts.
@pytest.mark.parametrize("row, words", [
    ({"id": "r2", "dialogue": "d", "summary": "s", "summary2": "t"},
     'holds both "summary" and "summary2"'),
    ({"id": "r2", "dialogue": "d", "summary1": "s", "summary3": "t"}, "without gaps"),
    ({"id": "r2", "dialogue": "d", "summary0": "s"}, "without gaps"),
    ({"id": "r2", "dialogue": "d", "Summary": "s"}, "field 'summary' is missing (the row has "
                                                    "'id', 'dialogue', 'Summary')"),
])
@pytest.mark.parametrize("file", ["train.jsonl", "test.jsonl", "dialogsum.dev.jsonl"])
def test_rows_outside_the_reference_rule_are_refused_naming_file_and_line(tmp_path, row, words,
                                                                           file):
    # Before the fix: summary + summary2 trained on summary2; a row without "summary" was
    # "field 'summary1' is missing"; no message named the file or the line.
    write_jsonl(tmp_path / file, [{"id": "ok", "dialogue": "d", "summary": "s"}, row])
    with pytest.raises(DataError) as err:
        load_dialogsum(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / file}, line 2: ") and "row 'r2'" in message
    assert words in message and 'or several as "summary1", "summary2", ...' in message


def test_the_first_reference_is_the_training_target(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [
        {"id": "a", "dialogue": "d1", "summary1": "first", "summary2": "second"},
        {"id": "b", "dialogue": "d2", "summary": "only"}])
    train = load_dialogsum(tmp_path)["train"]
    assert train["summary"] == ["first", "only"]
    assert train["references"] == [["first", "second"], ["only"]]


def test_a_file_given_for_the_dataset_folder_says_so(tmp_path):
    # Before the fix: "dataset folder not found: .../data.csv"
    for name in ("data.csv", "train.jsonl"):
        (tmp_path / name).write_text('{"dialogue": "d", "summary": "s"}\n')
        with pytest.raises(DataError, match=f"{name} is a file, not a folder: .*train.jsonl"):
            load_dialogsum(tmp_path / name)


def test_a_folder_mixing_the_two_layouts_uses_every_split_file(tmp_path):
    # Before the fix: train.jsonl was read and dialogsum.test.jsonl silently ignored.
    write_jsonl(tmp_path / "train.jsonl", [{"id": "a", "dialogue": "d", "summary": "s"}])
    write_jsonl(tmp_path / "dialogsum.test.jsonl",
                [{"fname": "t", "dialogue": "e", "summary1": "x", "summary2": "y"}])
    ds = load_dialogsum(tmp_path)
    assert set(ds) == {"train", "test"} and ds["test"]["references"] == [["x", "y"]]
    write_jsonl(tmp_path / "test.jsonl", [{"id": "t", "dialogue": "e", "summary": "x"}])
    with pytest.raises(DataError, match=r"two files for the 'test' split \(test.jsonl and "
                                        r"dialogsum.test.jsonl\): keep one"):
        load_dialogsum(tmp_path)

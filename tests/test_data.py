import json
import warnings

import datasets
import pytest

from dialogsum_peft.data import (
    COLUMNS,
    DataError,
    build_prompt,
    load_dialogsum,
    require_split,
    tokenize_split,
)
from dialogsum_peft.tokenization import InputLossWarning

LENGTHS = dict(max_source_length=512, max_target_length=128)


def warned(category, sample, tok, config) -> list[str]:
    """The messages of the ``category`` warnings ``prepare_datasets`` gives for ``config``."""
    from dialogsum_peft.data import prepare_datasets

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepare_datasets(sample, tok, config)
    return [str(w.message) for w in caught if issubclass(w.category, category)]


def tokenized(batch, tok, **lengths):
    """``tokenize_split`` of the rows ``batch`` holds (columns of lists): its ids and reports."""
    return tokenize_split(datasets.Dataset.from_dict(batch), tok, **(lengths or LENGTHS))


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
    assert tokenized(glued, tok)[0].to_dict() == tokenized(plain, tok)[0].to_dict()


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
    write_jsonl(
        tmp_path / "train.jsonl",
        [
            {"id": "train_0", "dialogue": "#Person1#: A", "summary": "s0", "topic": "t"},
            {"id": "train_1", "dialogue": "#Person1#: A", "summary": "s1", "topic": "t"},
        ],
    )
    write_jsonl(
        tmp_path / "test.jsonl",
        [
            {"id": "test_0_1", "dialogue": "#Person1#: X", "summary": "x1", "topic": "a"},
            {"id": "test_1_1", "dialogue": "#Person1#: Y", "summary": "y1", "topic": "b"},
            {"id": "test_0_2", "dialogue": "#Person1#: X", "summary": "x2", "topic": "a2"},
            {"id": "test_0_3", "dialogue": "#Person1#: X", "summary": "x3", "topic": "a3"},
        ],
    )
    ds = load_dialogsum(tmp_path)
    assert set(ds) == {"train", "test"}  # absent validation file: absent split
    assert len(ds["train"]) == 2  # training pairs are never merged
    assert ds["test"]["id"] == ["test_0", "test_1"]
    assert ds["test"]["references"] == [["x1", "x2", "x3"], ["y1"]]
    assert ds["test"]["summary"] == ["x1", "y1"]
    assert ds["test"]["topic"] == ["a", "b"]


def test_original_format_with_numbered_summaries(tmp_path):
    write_jsonl(
        tmp_path / "dialogsum.dev.jsonl",
        [
            {"fname": "dev_1", "dialogue": "#Person1#: D", "summary": "d", "topic": "x"},
        ],
    )
    write_jsonl(
        tmp_path / "dialogsum.test.jsonl",
        [
            {
                "fname": "test_1",
                "dialogue": "#Person1#: T",
                "summary1": "a",
                "summary2": "b",
                "summary3": "c",
                "topic1": "t1",
                "topic2": "t2",
                "topic3": "t3",
            },
        ],
    )
    ds = load_dialogsum(tmp_path)
    assert set(ds) == {"validation", "test"}
    assert ds["validation"][0] == {
        "id": "dev_1",
        "dialogue": "#Person1#: D",
        "summary": "d",
        "references": ["d"],
        "topic": "x",
    }
    assert ds["test"][0]["references"] == ["a", "b", "c"]
    assert ds["test"][0]["topic"] == "t1"


@pytest.mark.parametrize(
    "row, field, words",
    [
        ({"id": "r1", "dialogue": "", "summary": "s"}, "dialogue", "empty"),
        ({"id": "r1", "summary": "s"}, "dialogue", "missing"),
        ({"id": "r1", "dialogue": "d", "summary": 3}, "summary", "must be a string"),
        ({"id": "r1", "dialogue": "d", "summary": "   "}, "summary", "empty"),
    ],
)
def test_bad_rows_raise_naming_split_row_and_field(tmp_path, row, field, words):
    write_jsonl(tmp_path / "train.jsonl", [{"id": "ok", "dialogue": "d", "summary": "s"}, row])
    with pytest.raises(DataError) as err:
        load_dialogsum(tmp_path)
    msg = str(err.value)
    assert "'train'" in msg and "'r1'" in msg and f"'{field}'" in msg and words in msg


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
    out, reports = tokenized(batch, tok)
    assert out.column_names == ["input_ids", "attention_mask", "labels"]
    assert out["input_ids"][0] == tok(build_prompt(batch["dialogue"][0]))["input_ids"]
    assert out["labels"][0] == tok(text_target="They greet.")["input_ids"]
    assert out["labels"][0][-1] == tok.eos_token_id
    assert reports["dialogues"].truncated == reports["summaries"].truncated == 0


def test_truncation_is_measured_in_the_same_pass_and_keeps_eos(tiny, sample):
    """One pass gives the ids and what the cut took: before, truncation was counted in one
    tokenization and <unk> measured in a second one of the same texts."""
    _, tok = tiny
    out, reports = tokenize_split(sample["train"], tok, max_source_length=256, max_target_length=16)
    full = [len(tok(build_prompt(d))["input_ids"]) for d in sample["train"]["dialogue"]]
    sources, summaries = reports["dialogues"], reports["summaries"]
    assert sources.lengths == full and sources.max_length == 256 and not sources.target
    assert sources.truncated == sum(n > 256 for n in full) >= 2  # the long sample dialogues
    assert sources.tokens_cut == sum(n - 256 for n in full if n > 256)
    assert summaries.truncated > 0 and summaries.target and summaries.dialogues == 40
    assert max(len(x) for x in out["input_ids"]) == 256
    assert all(x[-1] == tok.eos_token_id for x in out["input_ids"])
    assert all(len(x) <= 16 and x[-1] == tok.eos_token_id for x in out["labels"])


def test_training_splits_say_what_was_cut_through_the_evaluation_channel(tiny, sample):
    """prepare_datasets says what truncation took from each split's dialogues and summaries as
    an InputLossWarning, the warning evaluation gives (before: a printed line of its own)."""
    from dialogsum_peft.config import TrainConfig

    _, tok = tiny
    messages = warned(
        InputLossWarning,
        sample,
        tok,
        TrainConfig.smoke(max_source_length=256, max_target_length=16),
    )
    assert any(
        m.startswith("2 of 40 train dialogues are longer than max_source_length=256")
        or " train dialogues are longer than max_source_length=256" in m
        for m in messages
    )
    assert any(
        " train summaries are longer than max_target_length=16 " in m
        and "never learned by the model (raise max_target_length" in m
        for m in messages
    )
    assert any(" validation summaries " in m for m in messages)
    assert (
        warned(
            InputLossWarning,
            sample,
            tok,
            TrainConfig.smoke(max_source_length=4096, max_target_length=512),
        )
        == []
    )


def test_malformed_json_line_names_file_and_line(tmp_path):
    (tmp_path / "train.jsonl").write_text(
        '{"id": "a", "dialogue": "d", "summary": "s"}\n{"id": "b", "dialogue": "d", "summ\n'
    )
    with pytest.raises(DataError, match=r"train\.jsonl: line 2 is not valid JSON"):
        load_dialogsum(tmp_path)


@pytest.mark.parametrize(
    "rows, file, message",
    [
        (
            [{"id": "r7", "dialogue": 12, "summary": "s"}],
            "train.jsonl",
            r"split 'train', row 'r7': field 'dialogue' must be a string, got int",
        ),
        (
            [{"id": "r8", "dialogue": ["#Person1#: hi"], "summary": "s"}],
            "train.jsonl",
            r"split 'train', row 'r8': field 'dialogue' must be a string, got list",
        ),
        (
            [
                {
                    "fname": "test_9",
                    "dialogue": "d",
                    "summary1": "a",
                    "summary2": " ",
                    "summary3": "c",
                }
            ],
            "dialogsum.test.jsonl",
            r"split 'test', row 'test_9': field 'summary2' is empty",
        ),
    ],
)
def test_more_bad_rows_name_split_row_and_field(tmp_path, rows, file, message):
    write_jsonl(tmp_path / file, rows)
    with pytest.raises(DataError, match=message):
        load_dialogsum(tmp_path)


# Issue 32, fault 7: one rule for the target and references, every other row one line naming
# file and line; a file given for the folder, and folders mixing the two layouts.
@pytest.mark.parametrize(
    "row, words",
    [
        (
            {"id": "r2", "dialogue": "d", "summary": "s", "summary2": "t"},
            'holds both "summary" and "summary2"',
        ),
        ({"id": "r2", "dialogue": "d", "summary1": "s", "summary3": "t"}, "without gaps"),
        ({"id": "r2", "dialogue": "d", "summary0": "s"}, "without gaps"),
        (
            {"id": "r2", "dialogue": "d", "Summary": "s"},
            "field 'summary' is missing (the row has 'id', 'dialogue', 'Summary')",
        ),
    ],
)
@pytest.mark.parametrize("file", ["train.jsonl", "test.jsonl", "dialogsum.dev.jsonl"])
def test_rows_outside_the_reference_rule_are_refused_naming_file_and_line(
    tmp_path, row, words, file
):
    # Before the fix: summary + summary2 trained on summary2; a row without "summary" was
    # "field 'summary1' is missing"; no message named the file or the line.
    write_jsonl(tmp_path / file, [{"id": "ok", "dialogue": "d", "summary": "s"}, row])
    with pytest.raises(DataError) as err:
        load_dialogsum(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / file}, line 2: ") and "row 'r2'" in message
    assert words in message and 'or several as "summary1", "summary2", ...' in message


def test_the_first_reference_is_the_training_target(tmp_path):
    write_jsonl(
        tmp_path / "train.jsonl",
        [
            {"id": "a", "dialogue": "d1", "summary1": "first", "summary2": "second"},
            {"id": "b", "dialogue": "d2", "summary": "only"},
        ],
    )
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
    write_jsonl(
        tmp_path / "dialogsum.test.jsonl",
        [{"fname": "t", "dialogue": "e", "summary1": "x", "summary2": "y"}],
    )
    ds = load_dialogsum(tmp_path)
    assert set(ds) == {"train", "test"} and ds["test"]["references"] == [["x", "y"]]
    write_jsonl(tmp_path / "test.jsonl", [{"id": "t", "dialogue": "e", "summary": "x"}])
    with pytest.raises(
        DataError,
        match=r"two files for the 'test' split \(test.jsonl and "
        r"dialogsum.test.jsonl\): keep one",
    ):
        load_dialogsum(tmp_path)


def test_prepare_datasets_warns_of_many_epochs_except_for_the_smoke_sample(sample, tiny):
    """The smoke preset's 30 steps x 8 pass 6 times over the shipped sample's 40 dialogues by
    design: no warning. The same schedule over 20 of them (12 epochs) warns, naming the epochs."""
    from dialogsum_peft.config import TrainConfig
    from dialogsum_peft.recipes import ScheduleWarning

    _, tokenizer = tiny
    config = TrainConfig.smoke()
    assert warned(ScheduleWarning, sample, tokenizer, config) == []
    assert config.max_steps * config.effective_batch / len(sample["train"]) > 5
    (message,) = warned(
        ScheduleWarning,
        sample,
        tokenizer,
        TrainConfig.smoke(train_limit=20, dataset_source="elsewhere"),
    )
    assert "is 12.0 epochs over 20 training dialogues" in message


def test_a_missing_split_names_the_folder_the_file_to_add_and_what_the_folder_holds(tmp_path):
    """Review item 13: ``train --dataset folder_with_only_test.jsonl`` said "the dataset has no
    'train' split (available: test)", naming neither the folder nor the file it expected; in a
    notebook ``ds["train"]`` of such a folder was a bare KeyError traceback. Every way to ask for
    the split (``ds[...]``, ``require_split``, the command line) says the same line."""
    import pickle
    import shutil

    from dialogsum_peft.errors import SplitMissingError
    from dialogsum_peft.offline import sample_data_dir

    own = tmp_path / "my_data"
    own.mkdir()
    shutil.copy(sample_data_dir() / "test.jsonl", own / "test.jsonl")
    ds = load_dialogsum(own)
    expected = (
        f"{own} has no train split: it holds test.jsonl; add train.jsonl or "
        'dialogsum.train.jsonl (one JSON object per line, with "dialogue" and "summary")'
    )
    for ask in (lambda: ds["train"], lambda: require_split(ds, "train")):
        with pytest.raises(SplitMissingError) as err:
            ask()
        assert str(err.value) == expected
        assert isinstance(err.value, DataError) and isinstance(err.value, KeyError)
        assert err.value._render_traceback_() == [f"SplitMissingError: {expected}"]
    assert "train" not in ds and ds.get("train") is None and list(ds) == ["test"]
    assert len(ds["test"]) == 10 and ds.source == str(own)
    assert list(pickle.loads(pickle.dumps(ds))) == ["test"]  # pickles as a plain DatasetDict
    with pytest.raises(SplitMissingError, match="has no validation split: it holds test.jsonl"):
        ds["validation"]

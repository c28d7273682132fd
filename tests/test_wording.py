"""Counts in words: one rule for every warning, caption and table."""

from dialogsum_peft.wording import counted, share_of, singular, verb


def test_counted_uses_the_noun_in_the_right_number():
    assert counted(1, "dialogue") == "1 dialogue"
    assert counted(0, "dialogue") == "0 dialogues"
    assert counted(1500, "dialogue") == "1,500 dialogues"
    assert counted(2, "summary", "summaries") == "2 summaries"


def test_one_text_is_the_text_never_one_of_one():
    assert share_of(2, 10, "dialogues") == "2 of 10 dialogues"
    assert share_of(1, 1, "dialogues") == "the dialogue"
    assert share_of(1, 1, "train summaries") == "the train summary"
    assert share_of(1, 1, "references") == "the reference"
    assert share_of(1, 2, "predictions") == "1 of 2 predictions"
    assert share_of(3, 1500, "dialogues") == "3 of 1,500 dialogues"


def test_singular_and_verb():
    assert singular("validation summaries") == "validation summary"
    assert singular("dialogues") == "dialogue"
    assert (verb(1, "is", "are"), verb(2, "is", "are"), verb(0, "is", "are")) == (
        "is",
        "are",
        "are",
    )

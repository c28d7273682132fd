"""ROUGE checked against rouge_score itself, under every multi-reference protocol."""

import json
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

from conftest import needs_shared
from dialogsum_peft.data import load_dialogsum
from dialogsum_peft.evaluation import compute_rouge
from dialogsum_peft.metrics import (
    MULTI_REF_PROTOCOLS,
    ROUGE_TYPES,
    UnscorableTextWarning,
    aggregate,
    aggregate_by_protocol,
    dropped_characters,
    per_example,
    score_pairs,
    split_sentences,
)
from dialogsum_peft.offline import sample_data_dir


def _per_example(predictions, references, multi_ref="mean", tokenizer=None):
    """Each example's scores under one protocol, from one scoring pass (metrics' own functions)."""
    return per_example(score_pairs(predictions, references, tokenizer=tokenizer), multi_ref)


def _by_protocol(predictions, references, tokenizer=None):
    return aggregate_by_protocol(score_pairs(predictions, references, tokenizer=tokenizer))


SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "dialogsum"

PREDS = [
    "Person1 asks for the way to the station. Person2 says take bus 12.",
    "They plan a birthday party for Sam on Friday.",
    "The customer returns shoes that were too small.",
]
REFS = [
    "#Person1# asks #Person2# how to get to the train station. #Person2# suggests bus 12.",
    "#Person1# and #Person2# are planning Sam's birthday party on Friday evening.",
    "#Person1# wants to return a pair of shoes because they are too small.",
]
MULTI = [
    [REFS[0], "Someone asks where the station is; the answer is bus 12."],
    [REFS[1]],
    ["A shop assistant helps with a refund.", REFS[2], "#Person1# returns shoes."],
]

SCORER = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def direct(ref: str, pred: str) -> dict[str, float]:
    """rouge_score's own F-measures, sentences newline-split for rougeLsum."""
    scores = SCORER.score(split_sentences(ref), split_sentences(pred))
    return {k: scores[k].fmeasure for k in ROUGE_TYPES}


def average(rows) -> dict[str, float]:
    rows = list(rows)
    return {k: sum(r[k] for r in rows) / len(rows) for k in ROUGE_TYPES}


def assert_close(ours, expected, tol=1e-12):
    assert set(ours) == set(ROUGE_TYPES)
    for k in ROUGE_TYPES:
        assert ours[k] == pytest.approx(expected[k], abs=tol), k


def first_utterance(dialogue: str) -> str:
    """A real-ish prediction: the dialogue's first line without its speaker tag."""
    return dialogue.strip().split("\n")[0].split(": ", 1)[-1]


@pytest.mark.parametrize("multi_ref", MULTI_REF_PROTOCOLS)
def test_single_reference_matches_rouge_score_under_every_protocol(multi_ref):
    ours = compute_rouge(PREDS, REFS, multi_ref=multi_ref)
    assert_close(ours, average(direct(r, p) for p, r in zip(PREDS, REFS)))
    assert all(0.0 < v < 1.0 for v in ours.values())


def test_each_multi_reference_protocol_matches_rouge_score():
    pairs = [[direct(r, p) for r in group] for p, group in zip(PREDS, MULTI)]
    by_protocol = _by_protocol(PREDS, MULTI)
    assert list(by_protocol) == list(MULTI_REF_PROTOCOLS)
    assert_close(by_protocol["mean"], average(s for group in pairs for s in group))
    assert_close(by_protocol["first"], average(group[0] for group in pairs))
    multi = [
        SCORER.score_multi([split_sentences(r) for r in group], split_sentences(p))
        for p, group in zip(PREDS, MULTI)
    ]
    assert_close(
        by_protocol["best"], average({k: m[k].fmeasure for k in ROUGE_TYPES} for m in multi)
    )
    for protocol, scores in by_protocol.items():
        assert_close(compute_rouge(PREDS, MULTI, multi_ref=protocol), scores)
    assert by_protocol["best"]["rouge1"] > by_protocol["mean"]["rouge1"]
    # Per example: "best" is score_multi, "first" the first reference, "mean" the dialogue's mean.
    best = _per_example(PREDS, MULTI, multi_ref="best")
    assert [b["rouge1"] for b in best] == [m["rouge1"].fmeasure for m in multi]
    assert _per_example(PREDS, MULTI, multi_ref="first") == [g[0] for g in pairs]
    assert_close(_per_example(PREDS, MULTI)[2], average(pairs[2]))


def test_pair_scores_are_scored_once_and_aggregate_to_every_protocol():
    pairs = score_pairs(PREDS, MULTI)
    assert [len(g) for g in pairs] == [2, 1, 3]
    assert_close(pairs[2][1], direct(MULTI[2][1], PREDS[2]))
    for protocol in MULTI_REF_PROTOCOLS:
        assert aggregate(pairs, protocol) == compute_rouge(PREDS, MULTI, multi_ref=protocol)
        assert per_example(pairs, protocol) == _per_example(PREDS, MULTI, multi_ref=protocol)
    # Unequal reference counts: the pair mean weighs dialogues by their number of references.
    assert aggregate(pairs)["rouge1"] != pytest.approx(average(per_example(pairs))["rouge1"])


def hub_rows_mean(rows, prediction_of) -> dict[str, float]:
    """The course lab's method: score each Hub-format row (one per reference) alone, average."""
    return average(direct(row["summary"], prediction_of[row["dialogue"].strip()]) for row in rows)


def check_row_by_row_equals_mean(hub_rows, grouped):
    preds = [first_utterance(d) for d in grouped["dialogue"]]
    prediction_of = dict(zip(grouped["dialogue"], preds))
    assert len(prediction_of) == len(grouped)  # no two grouped rows share a dialogue
    assert sum(map(len, grouped["references"])) == len(hub_rows)
    pairs = score_pairs(preds, grouped["references"])
    row_by_row = hub_rows_mean(hub_rows, prediction_of)  # scored once: 1500 pairs on the full split
    assert_close(aggregate(pairs, "mean"), row_by_row)
    return preds, pairs, row_by_row


def test_mean_protocol_equals_scoring_the_hub_test_split_row_by_row(sample):
    raw = [
        json.loads(line)
        for line in (sample_data_dir() / "test.jsonl").read_text().splitlines()
        if line.strip()
    ]
    assert len(raw) == 27 and raw[0]["id"] == "test_0_1"  # Hub format: one row per reference
    assert len(sample["test"]) == 10
    preds, _, row_by_row = check_row_by_row_equals_mean(raw, sample["test"])
    # the public function is that aggregate of those pairs (on the full split it would score
    # the 1500 pairs a third time)
    assert_close(compute_rouge(preds, sample["test"]["references"], multi_ref="mean"), row_by_row)


@pytest.mark.skipif(
    not (SHARED / "dialogsum.test.jsonl").is_file(),
    reason=needs_shared("dialogsum/dialogsum.test.jsonl"),
)
def test_mean_protocol_equals_row_by_row_on_the_full_test_split():
    original = [
        json.loads(line)
        for line in (SHARED / "dialogsum.test.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    hub_rows = [
        {"id": f"{row['fname']}_{j}", "dialogue": row["dialogue"], "summary": row[f"summary{j}"]}
        for row in original
        for j in (1, 2, 3)
    ]
    test = load_dialogsum(SHARED)["test"]
    assert (len(hub_rows), len(test)) == (1500, 500)
    _, pairs, _ = check_row_by_row_equals_mean(hub_rows, test)
    # Three references for every dialogue: the pair mean is also the mean of per-dialogue means.
    assert_close(aggregate(pairs, "mean"), average(per_example(pairs, "mean")))


def test_prediction_equal_to_reference_scores_one_under_every_protocol():
    for protocol in MULTI_REF_PROTOCOLS:
        assert all(v == pytest.approx(1.0) for v in compute_rouge(REFS, REFS, protocol).values())
        assert all(
            v == pytest.approx(1.0)
            for v in compute_rouge(REFS, [[r, r] for r in REFS], protocol).values()
        )
    assert all(v == 0.0 for v in compute_rouge(["alpha beta"], ["gamma delta"]).values())
    # Equal to one of two references: "best" is perfect, "first" and "mean" are not.
    scores = _by_protocol(["the cat sat on the mat"], [["a dog barked", "the cat sat on the mat"]])
    assert scores["best"]["rouge1"] == pytest.approx(1.0)
    assert scores["first"]["rouge1"] == 0.0 and scores["mean"]["rouge1"] == pytest.approx(0.5)


def test_word_level_not_character_level():
    # Character-level scoring (the seed defect) would find overlap between these two.
    assert compute_rouge(["stations"], ["nation"])["rouge1"] == 0.0


def test_rougelsum_uses_sentence_split():
    pred = "the cat sat. the dog ran."
    ref = "the dog ran. the cat sat."
    scores = compute_rouge([pred], [ref])
    assert scores["rougeLsum"] == pytest.approx(1.0)
    assert scores["rougeL"] < 1.0  # summary-level LCS differs from plain LCS here


@pytest.mark.parametrize(
    "call",
    [
        lambda: compute_rouge(PREDS, REFS, multi_ref="max"),
        lambda: _per_example(PREDS, REFS, multi_ref="avg"),
        lambda: aggregate(score_pairs(PREDS, REFS), "all"),
    ],
)
def test_unknown_protocol_lists_the_choices(call):
    with pytest.raises(ValueError, match="mean, best, first"):
        call()


@pytest.mark.parametrize(
    "preds, refs, message",
    [
        ("a string", ["ref"], "single string"),
        (["a"], "ref", "single string"),
        (["a", "b"], ["ref"], "2 predictions but 1 references"),
        ([], [], "empty"),
        ([None], ["ref"], "not a string"),
        (["a"], [[]], "empty list"),
        (["a"], [[1]], "not a string"),
    ],
)
def test_clear_errors(preds, refs, message):
    with pytest.raises(ValueError, match=message):
        compute_rouge(preds, refs)


# ------------------------------------------------------------------ issue 16: sentences, alphabets
@pytest.mark.parametrize(
    "sentence",
    [
        "#Person1# tells Mr. Smith that Ms. Dawson will arrive at 3 p.m. tomorrow.",
        "Dr. Brown sees #Person2# at 10 a.m. and buys apples, pears, etc. for the party.",
        "#Person2# asks Mrs. Lee whether the U.S. office pays $3.50 per hour.",
    ],
)
def test_abbreviations_stay_inside_their_sentence(sentence):
    assert split_sentences(sentence) == sentence
    assert split_sentences(f"{sentence} They agree! Is it late? No.").split("\n") == [
        sentence,
        "They agree!",
        "Is it late?",
        "No.",
    ]


def test_rougelsum_is_not_moved_by_abbreviations():
    """The same words, one sentence: rougeLsum equals rougeL (a split after "Mr." made them differ)."""
    ref = "#Person1# tells Mr. Smith that Ms. Dawson will arrive at 3 p.m. tomorrow."
    pred = "Mr. Smith tells #Person1# that Dawson will arrive at 3 tomorrow."
    scores = compute_rouge([pred], [ref])
    assert scores["rougeLsum"] == pytest.approx(scores["rougeL"])


class WhitespaceTokenizer:
    """Lowercased words split on spaces and punctuation, any alphabet (for rouge_score's tokenizer=)."""

    def tokenize(self, text):
        import re

        return re.findall(r"\w+", text.lower())


def test_text_the_scorer_drops_warns_and_a_tokenizer_scores_it():
    text = ["Пётр купил новую машину."]
    with pytest.warns(
        UnscorableTextWarning, match="the prediction .*, the reference .* hold letters"
    ):
        silent_zero = compute_rouge(text, [text])
    assert silent_zero == dict.fromkeys(ROUGE_TYPES, 0.0)  # why it must not be silent
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compute_rouge(text, [text], tokenizer=WhitespaceTokenizer()) == dict.fromkeys(
            ROUGE_TYPES, 1.0
        )
        assert _by_protocol(text, [text], tokenizer=WhitespaceTokenizer())["best"]["rouge1"] == 1.0
        compute_rouge(PREDS, MULTI)  # English text, punctuation and #Person1# tags: no warning


def test_dropped_characters_counts_letters_not_punctuation():
    assert dropped_characters("#Person1#: Hello, world! (3 p.m.) -- ok?") == 0
    assert dropped_characters("Café in München") == 2
    assert dropped_characters("Пётр") == 4
    with pytest.warns(UnscorableTextWarning, match="1 of 2 references"):
        _per_example(["a cafe", "b"], [["the café"], ["b"]])


def test_unscorable_note_counts_texts_in_words():
    from dialogsum_peft.metrics import unscorable_note

    assert unscorable_note({"predictions": ["plain words"]}) is None
    one = unscorable_note({"predictions": ["café"], "references": ["cafe"]})
    assert one.startswith("ROUGE: the prediction (1 letter) holds letters outside a-z")
    many = unscorable_note({"references": ["Пётр", "ok", "ß"]})
    assert many.startswith("ROUGE: 2 of 3 references (5 letters) hold letters")

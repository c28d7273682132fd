import pytest
from rouge_score import rouge_scorer

from dialogsum_peft.metrics import ROUGE_TYPES, compute_rouge, rouge_per_example, split_sentences

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


def reference_scores(preds, refs):
    """Mean F-measure straight from rouge_score, sentences newline-split for rougeLsum."""
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    rows = [scorer.score(split_sentences(r), split_sentences(p)) for p, r in zip(preds, refs)]
    return {k: sum(r[k].fmeasure for r in rows) / len(rows) for k in ROUGE_TYPES}


def test_matches_rouge_score_directly():
    ours = compute_rouge(PREDS, REFS)
    expected = reference_scores(PREDS, REFS)
    assert set(ours) == set(ROUGE_TYPES)
    for k in ROUGE_TYPES:
        assert ours[k] == pytest.approx(expected[k], abs=1e-12)
        assert 0.0 < ours[k] < 1.0


def test_identical_texts_score_one_and_disjoint_zero():
    assert all(v == pytest.approx(1.0) for v in compute_rouge(REFS, REFS).values())
    assert all(v == 0.0 for v in compute_rouge(["alpha beta"], ["gamma delta"]).values())


def test_word_level_not_character_level():
    # Character-level scoring (the seed defect) would find overlap between these two.
    assert compute_rouge(["stations"], ["nation"])["rouge1"] == 0.0


def test_rougelsum_uses_sentence_split():
    pred = "the cat sat. the dog ran."
    ref = "the dog ran. the cat sat."
    scores = compute_rouge([pred], [ref])
    assert scores["rougeLsum"] == pytest.approx(1.0)
    assert scores["rougeL"] < 1.0  # summary-level LCS differs from plain LCS here


def test_multi_reference_takes_best_per_example():
    refs = [[REFS[0], "completely unrelated words here"], [REFS[1]], ["nothing alike", REFS[2]]]
    multi = compute_rouge(PREDS, refs)
    single = compute_rouge(PREDS, REFS)
    for k in ROUGE_TYPES:
        assert multi[k] == pytest.approx(single[k])
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    best = scorer.score_multi(refs[0], PREDS[0])["rouge1"].fmeasure
    assert rouge_per_example(PREDS[:1], refs[:1])[0]["rouge1"] == pytest.approx(best)


@pytest.mark.parametrize("preds, refs, message", [
    ("a string", ["ref"], "single string"),
    (["a"], "ref", "single string"),
    (["a", "b"], ["ref"], "2 predictions but 1 references"),
    ([], [], "empty"),
    ([None], ["ref"], "not a string"),
    (["a"], [[]], "empty list"),
    (["a"], [[1]], "not a string"),
])
def test_clear_errors(preds, refs, message):
    with pytest.raises(ValueError, match=message):
        compute_rouge(preds, refs)

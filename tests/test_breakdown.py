"""Where a model fails: subset scores equal the corpus score of the subset, bins and topics."""

from __future__ import annotations

import matplotlib
import pytest

from dialogsum_peft.breakdown import (largest_losses, plot_rouge_by_length, rouge_by_length,
                                      rouge_by_topic)
from dialogsum_peft.metrics import EvalResult
from dialogsum_peft.metrics import compute_rouge, score_pairs
from dialogsum_peft.reporting import SMOKE_NOTE

matplotlib.use("Agg")


@pytest.fixture()
def two_models(sample):
    test = sample["test"]
    refs = list(test["references"])
    zero = [d.split("\n")[0] for d in test["dialogue"]]  # a "model": the first turn
    tuned = [r[0] for r in refs]  # a "model" that copies the first reference
    tuned[2] = "nothing useful"  # ... except once
    return test, {"zero-shot": EvalResult(zero, score_pairs(zero, refs)),
                  "LoRA": EvalResult(tuned, score_pairs(tuned, refs))}


def test_length_bins_hold_every_dialogue_and_score_like_the_corpus(two_models):
    test, results = two_models
    lengths = [100, 200, 300, 600] * (len(test) // 4) + [50] * (len(test) % 4)
    table = rouge_by_length(results, lengths, protocol="mean")
    assert table["dialogues"].sum() == len(test)
    assert list(table.index) == ["0-127", "128-255", "256-383", ">= 512 (cut)"]
    long = [i for i, n in enumerate(lengths) if n >= 512]
    expected = compute_rouge([results["LoRA"].predictions[i] for i in long],
                             [test["references"][i] for i in long])["rouge1"]
    assert table.loc[">= 512 (cut)", "LoRA"] == pytest.approx(expected, abs=1e-4)
    assert "protocol: mean" in table.index.name
    with pytest.raises(ValueError, match="lengths"):
        rouge_by_length(results, lengths[:-1])
    assert SMOKE_NOTE not in plot_rouge_by_length(table).axes[0].get_title()
    smoke = {n: EvalResult(r.predictions, r.pair_scores, smoke=True) for n, r in results.items()}
    marked = rouge_by_length(smoke, lengths)
    assert SMOKE_NOTE in marked.to_string() and SMOKE_NOTE in rouge_by_topic(smoke, ["t"] * len(test)).to_string()
    assert SMOKE_NOTE in plot_rouge_by_length(marked).axes[0].get_title()  # from the results
    matplotlib.pyplot.close("all")


def test_topics_most_frequent_first(two_models):
    test, results = two_models
    topics = ["shopping"] * 3 + ["travel"] * 2 + [""] * (len(test) - 5)
    table = rouge_by_topic(results, topics, protocol="best")
    assert list(table.index) == ["shopping", "travel"] and list(table["dialogues"]) == [3, 2]


def test_largest_losses_are_the_dialogues_the_tuned_model_lost(two_models):
    _, results = two_models
    losses = largest_losses(results["zero-shot"], results["LoRA"], k=3)
    assert losses and all(delta < 0 for _, delta in losses) and 2 in dict(losses)
    assert [i for i, _ in losses] == sorted((i for i, _ in losses), key=dict(losses).get)
    assert largest_losses(results["LoRA"], results["LoRA"]) == []

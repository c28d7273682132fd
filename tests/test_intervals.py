"""Bootstrap intervals: scipy's resampling around exactly the corpus score the tables show."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap

from dialogsum_peft.intervals import difference_intervals, rouge_intervals
from dialogsum_peft.metrics import ROUGE_TYPES, aggregate, per_example


def fake_pairs(rng, n, refs=3, shift=0.0):
    """Pair scores of ``n`` dialogues, ``refs`` references each (a list for unequal counts)."""
    counts = refs if isinstance(refs, list) else [refs] * n
    return [[{k: float(np.clip(rng.normal(0.35 + shift, 0.1), 0, 1)) for k in ROUGE_TYPES}
             for _ in range(c)] for c in counts]


def test_equal_reference_counts_give_scipys_interval_of_the_per_dialogue_means():
    rng = np.random.default_rng(1)
    pairs = fake_pairs(rng, 60)
    ours = rouge_intervals(pairs, "mean", n_resamples=500, seed=3)["rouge1"]
    means = np.array([s["rouge1"] for s in per_example(pairs, "mean")])
    ref = bootstrap((means,), np.mean, n_resamples=500, method="percentile",
                    rng=np.random.default_rng(3)).confidence_interval
    assert ours == pytest.approx((ref.low, ref.high), abs=1e-12)


@pytest.mark.parametrize("protocol", ["mean", "best", "first"])
def test_the_interval_surrounds_the_corpus_score_of_its_protocol(protocol):
    rng = np.random.default_rng(2)
    pairs = fake_pairs(rng, 40, refs=[1, 2, 3, 4] * 10)  # unequal counts: "mean" is a ratio
    corpus = aggregate(pairs, protocol)
    for k, (low, high) in rouge_intervals(pairs, protocol, n_resamples=300).items():
        assert low < corpus[k] < high and high - low < 0.2


def test_paired_difference_resolves_a_real_gain_and_not_noise():
    rng = np.random.default_rng(4)
    base = fake_pairs(rng, 100)
    better = [[{k: min(1.0, p[k] + 0.05) for k in p} for p in pairs] for pairs in base]
    d = difference_intervals(base, better, n_resamples=300)["rouge1"]
    assert d["difference"] == pytest.approx(aggregate(better)["rouge1"] - aggregate(base)["rouge1"])
    assert 0 < d["ci95"][0] <= d["difference"] <= d["ci95"][1]
    noise = fake_pairs(rng, 100)  # another model of the same quality
    low, high = difference_intervals(base, noise, n_resamples=300)["rouge1"]["ci95"]
    assert low < 0 < high
    same = difference_intervals(base, base, n_resamples=300)["rouge2"]
    assert same["difference"] == 0 and same["ci95"] == (0.0, 0.0)


def test_mismatched_evaluations_are_refused():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="same dialogues"):
        difference_intervals(fake_pairs(rng, 5), fake_pairs(rng, 6))
    with pytest.raises(ValueError, match="unknown multi_ref"):
        rouge_intervals(fake_pairs(rng, 5), "median")


def test_format_interval_as_the_tables_show_it():
    from dialogsum_peft.intervals import format_interval

    assert format_interval((0.41234, 0.4371)) == "0.412 to 0.437"
    assert format_interval([-0.0104, 0.0312], signed=True) == "-0.010 to +0.031"

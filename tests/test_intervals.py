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
    return [
        [
            {k: float(np.clip(rng.normal(0.35 + shift, 0.1), 0, 1)) for k in ROUGE_TYPES}
            for _ in range(c)
        ]
        for c in counts
    ]


def test_equal_reference_counts_give_scipys_interval_of_the_per_dialogue_means():
    rng = np.random.default_rng(1)
    pairs = fake_pairs(rng, 60)
    ours = rouge_intervals(pairs, "mean", n_resamples=500, seed=3)["rouge1"]
    means = np.array([s["rouge1"] for s in per_example(pairs, "mean")])
    ref = bootstrap(
        (means,), np.mean, n_resamples=500, method="percentile", rng=np.random.default_rng(3)
    ).confidence_interval
    assert (ours.low, ours.high) == pytest.approx((ref.low, ref.high), abs=1e-12)


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
    better = [
        [{k: min(1.0, p[k] + 0.05 + rng.normal(0, 0.02)) for k in p} for p in pairs]
        for pairs in base
    ]  # a gain that varies (a constant one has no spread: see below)
    d = difference_intervals(base, better, n_resamples=300)["rouge1"]
    assert d["difference"] == pytest.approx(aggregate(better)["rouge1"] - aggregate(base)["rouge1"])
    assert 0 < d["ci95"][0] <= d["difference"] <= d["ci95"][1]
    noise = fake_pairs(rng, 100)  # another model of the same quality
    low, high = difference_intervals(base, noise, n_resamples=300)["rouge1"]["ci95"]
    assert low < 0 < high
    same = difference_intervals(base, base, n_resamples=300)["rouge2"]
    assert same["difference"] == 0 and not same["ci95"].estimable  # see the degenerate cases


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


# Issue 32 (10): an interval that cannot be estimated is not shown as a 95% interval. Before the
# fix one dialogue gave (score, score) and a model that scores the same everywhere (the smoke
# model's ROUGE-2 of 0) a zero-width "interval".
def test_degenerate_intervals_say_why_instead_of_a_zero_width_interval():
    from dialogsum_peft.intervals import MIN_DIALOGUES, Interval, format_interval

    rng = np.random.default_rng(6)
    for n in (1, 2, MIN_DIALOGUES - 1):
        pairs = fake_pairs(rng, n)
        for ci in [
            *rouge_intervals(pairs).values(),
            difference_intervals(pairs, fake_pairs(rng, n))["rouge1"]["ci95"],
        ]:
            assert not ci.estimable and (ci.low, ci.high) == (None, None) and ci.to_json() is None
            assert ci.reason == (
                f"{n} dialogue{'s' * (n > 1)}; at least {MIN_DIALOGUES} are needed"
            )
            with pytest.raises(ValueError, match="no interval"):
                low, high = ci  # never read as bounds
    flat = [
        [{k: 0.0 if k == "rouge2" else float(rng.random()) for k in ROUGE_TYPES}] * 2
        for _ in range(MIN_DIALOGUES + 5)
    ]
    cis = rouge_intervals(flat, "best")
    assert cis["rouge2"] == Interval(reason="no spread: every resample gives 0.000")
    assert cis["rouge1"].estimable and cis["rouge1"].high > cis["rouge1"].low
    shifted = [[{**p, "rouge1": p["rouge1"] + 0.1} for p in pairs] for pairs in flat]
    assert difference_intervals(flat, shifted)["rouge1"]["ci95"].reason == (
        "no spread: every resample gives 0.100"
    )  # the same gain on every dialogue
    shifted = [[{**p, "rouge1": p["rouge1"] + 0.1 * rng.random()} for p in pairs] for pairs in flat]
    same_gain = difference_intervals(
        flat, [[{**p, "rouge1": p["rouge1"]} for p in pairs] for pairs in flat]
    )["rouge1"]["ci95"]
    assert same_gain.reason == "no spread: every resample gives 0.000"
    gain = difference_intervals(flat, shifted)["rouge1"]
    assert gain["ci95"].estimable and gain["ci95"][0] <= gain["difference"] <= gain["ci95"][1]
    assert format_interval(cis["rouge2"]) == "not estimable: no spread: every resample gives 0.000"
    assert format_interval(Interval(0.1, 0.2)) == "0.100 to 0.200"

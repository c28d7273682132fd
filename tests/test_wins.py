"""On how many dialogues: per-dialogue ROUGE counted higher / equal / lower, Wilson intervals,
scores.json's "wins", and the tutorial's win table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dialogsum_peft.intervals import rouge_intervals
from dialogsum_peft.metrics import (
    MULTI_REF_PROTOCOLS,
    ROUGE_TYPES,
    EvalResult,
    per_example,
    score_pairs,
)
from dialogsum_peft.wins import OUTCOMES, proportion_interval, win_shares, wins_json


def summaries_of(test, shift: int, smoke: bool = False) -> EvalResult:
    """A real EvalResult without a model: each dialogue "summarized" by a human summary, its own
    (shift 0) or another dialogue's."""
    preds = [test["summary"][(i + shift) % len(test)] for i in range(len(test))]
    return EvalResult(preds, score_pairs(preds, list(test["references"])), smoke=smoke)


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's score interval written out (Wilson 1927; Brown, Cai & DasGupta 2001, eq. 4)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("protocol", MULTI_REF_PROTOCOLS)
def test_counts_follow_the_per_dialogue_scores_of_the_protocol(sample, protocol):
    test = sample["test"]
    other, own = summaries_of(test, 1), summaries_of(test, 0)
    for k in ROUGE_TYPES:
        shares = win_shares(other, own, protocol, k)
        refs = list(test["references"])  # each dialogue scored on its own, from scratch
        a = [s[k] for s in per_example(score_pairs(other.predictions, refs), protocol)]
        b = [s[k] for s in per_example(score_pairs(own.predictions, refs), protocol)]
        assert shares["higher"].dialogues == sum(y > x for x, y in zip(a, b))
        assert shares["lower"].dialogues == sum(y < x for x, y in zip(a, b))
        assert sum(s.dialogues for s in shares.values()) == len(test) == 10
        assert all(s.total == 10 and s.share == s.dialogues / 10 for s in shares.values())
    # a dialogue's own human summary beats another dialogue's on most dialogues
    assert win_shares(other, own, protocol)["higher"].dialogues > 5
    # the mirror image: what is higher one way is lower the other
    back = win_shares(own, other, protocol)
    assert back["lower"].dialogues == win_shares(other, own, protocol)["higher"].dialogues


def test_the_same_summaries_are_equal_on_every_dialogue(sample):
    result = summaries_of(sample["test"], 2)
    shares = win_shares(result, summaries_of(sample["test"], 2))
    assert (shares["equal"].dialogues, shares["higher"].dialogues, shares["lower"].dialogues) == (
        10,
        0,
        0,
    )
    # a share of 10 of 10 still has an interval: Wilson's stays inside [0, 1]
    low, high = shares["equal"].ci95
    assert (low, high) == pytest.approx(wilson(10, 10)) and high == pytest.approx(1.0)
    assert (
        shares["higher"].ci95.low == pytest.approx(0.0, abs=1e-12)
        and shares["higher"].ci95.high > 0.2
    )


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (7, 12), (310, 500), (500, 500)])
def test_the_interval_is_wilsons(k, n):
    ci = proportion_interval(k, n)
    assert (ci.low, ci.high) == pytest.approx(wilson(k, n), abs=1e-9)
    wald = 1.96 * math.sqrt(k / n * (1 - k / n) / n)
    if 0 < k < n:  # Wilson's is pulled towards 1/2, unlike p ± 1.96 se
        assert ci.low != pytest.approx(k / n - wald, abs=1e-4)


def test_too_few_dialogues_have_no_interval_and_say_so_as_the_bootstrap_does(sample):
    test = sample["test"].select(range(4))
    shares = win_shares(summaries_of(test, 1), summaries_of(test, 0))
    bootstrap = rouge_intervals(summaries_of(test, 0).pair_scores)["rouge1"]
    for s in shares.values():
        assert not s.ci95.estimable and s.ci95.reason == bootstrap.reason
        assert s.to_json()["ci95"] is None
    with pytest.raises(ValueError, match="no interval"):
        tuple(shares["higher"].ci95)  # never read as a zero-width interval
    assert "not estimable: 4 dialogues; at least 10 are needed" in str(shares["higher"])


def test_refuses_what_cannot_be_compared(sample):
    test = sample["test"]
    a, b = summaries_of(test, 0), summaries_of(test.select(range(5)), 0)
    with pytest.raises(ValueError, match="same dialogues"):
        win_shares(a, b)
    with pytest.raises(ValueError, match="unknown ROUGE type"):
        win_shares(a, a, rouge_type="rouge3")
    with pytest.raises(ValueError, match="mean, best, first"):
        win_shares(a, a, protocol="max")
    with pytest.raises(ValueError, match="between 0 and the total"):
        proportion_interval(11, 10)


def test_wins_json_holds_every_protocol_and_type_for_each_model_against_the_base(sample):
    test = sample["test"]
    results = {"base": summaries_of(test, 1), "lora": summaries_of(test, 0)}
    wins = wins_json(results)
    assert list(wins) == ["lora vs base"]
    entry = wins["lora vs base"]
    assert list(entry) == list(MULTI_REF_PROTOCOLS)
    for protocol, by_type in entry.items():
        assert list(by_type) == list(ROUGE_TYPES)
        for k, outcomes in by_type.items():
            expected = win_shares(results["base"], results["lora"], protocol, k)
            assert list(outcomes) == list(OUTCOMES)  # all estimable on 10 dialogues
            for outcome, value in outcomes.items():
                assert value == expected[outcome].to_json()
                low, high = value["ci95"]
                assert low <= value["share"] <= high
    assert wins_json({"lora": results["lora"]}) == {}  # no base, nothing to count against
    few = {name: EvalResult(r.predictions[:3], r.pair_scores[:3]) for name, r in results.items()}
    assert wins_json(few)["lora vs base"]["mean"]["rouge1"]["ci95_not_estimable"] == (
        "3 dialogues; at least 10 are needed"
    )


def test_win_table_counts_shares_and_marks_smoke_results(sample):
    from dialogsum_peft.display import SMOKE_NOTE
    from dialogsum_peft.reporting import win_table

    test = sample["test"]
    results = {"zero-shot": summaries_of(test, 1), "LoRA": summaries_of(test, 0)}
    table = win_table(results, baseline="zero-shot", improved="LoRA")
    shares = win_shares(results["zero-shot"], results["LoRA"])
    assert list(table.index) == ["rouge1"] and "protocol: mean" in table.index.name
    h = shares["higher"]
    assert table.loc["rouge1", "higher"] == f"{h.dialogues} of 10 ({h.share:.0%})"
    assert table.loc["rouge1", "higher 95% CI"] == f"{h.ci95.low:.0%} to {h.ci95.high:.0%}"
    assert "Wilson" in table.caption and SMOKE_NOTE not in table.to_string()
    assert list(win_table(results, "zero-shot", "LoRA", rouge_types="all").index) == list(
        ROUGE_TYPES
    )
    best = win_table(results, "zero-shot", "LoRA", protocol="best")
    assert best.loc["rouge1", "higher"].startswith(
        f"{win_shares(results['zero-shot'], results['LoRA'], 'best')['higher'].dialogues} of 10"
    )
    smoke = {
        name: EvalResult(r.predictions, r.pair_scores, smoke=True) for name, r in results.items()
    }
    assert SMOKE_NOTE in win_table(smoke, "zero-shot", "LoRA").to_string()
    with pytest.raises(TypeError, match="not an EvalResult"):
        win_table({"zero-shot": {"rouge1": 0.3}, "LoRA": results["LoRA"]}, "zero-shot", "LoRA")


def test_a_tie_is_a_tie_to_float_rounding_not_to_rouge():
    """Two F-measures that differ in the last bits are equal; any ROUGE difference is not."""
    pairs = [[{k: 0.3 for k in ROUGE_TYPES}]] * 10
    nudged = [[{k: np.nextafter(0.3, 1.0) for k in ROUGE_TYPES}]] * 10
    one_word = [[{k: 0.3 + 1 / 1000 for k in ROUGE_TYPES}]] * 10
    a = EvalResult(["x"] * 10, pairs)
    assert win_shares(a, EvalResult(["x"] * 10, nudged))["equal"].dialogues == 10
    assert win_shares(a, EvalResult(["x"] * 10, one_word))["higher"].dialogues == 10

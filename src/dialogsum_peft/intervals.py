"""Confidence intervals for ROUGE scores and for differences between two models.

Why: 500 test dialogues are a sample. A ROUGE-1 of 0.41 against 0.40 may be a real gain or the
luck of which dialogues are in the test set; an interval says which. Dialogues are resampled
with replacement (a bootstrap over test dialogues, Efron & Tibshirani 1993), the same resample
for both models when they are compared (a *paired* bootstrap, Koehn 2004 for MT, Dror et al.
2018 for NLP), and the 2.5th and 97.5th percentiles of the resampled statistic are the 95%
interval. The resampling is ``scipy.stats.bootstrap`` itself (``paired=True``, percentile
method: BCa needs a non-degenerate jackknife, which a smoke run's all-zero ROUGE-2 is not).

The statistic is the corpus score under the chosen protocol, so an interval is always around
the number the table shows: under "mean" each dialogue contributes the sum of its pair scores
and its number of references (a ratio of sums, exactly :func:`dialogsum_peft.metrics.aggregate`
on the resample); under "best" and "first" each dialogue contributes one score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .metrics import ROUGE_TYPES, check_protocol, per_example

N_RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 0


def _sums_and_counts(pair_scores, protocol: str, rouge_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Per dialogue: (the sum its score contributes, how many pairs it counts as)."""
    if protocol == "mean":
        sums = [sum(p[rouge_type] for p in pairs) for pairs in pair_scores]
        counts = [len(pairs) for pairs in pair_scores]
    else:
        sums = [s[rouge_type] for s in per_example(pair_scores, protocol)]
        counts = [1] * len(sums)
    return np.asarray(sums, dtype=float), np.asarray(counts, dtype=float)


def _ratio(sums, counts, axis=-1):
    return np.sum(sums, axis=axis) / np.sum(counts, axis=axis)


def _difference(sums_a, sums_b, counts, axis=-1):
    return (np.sum(sums_b, axis=axis) - np.sum(sums_a, axis=axis)) / np.sum(counts, axis=axis)


def _bootstrap(data: tuple, statistic, n_resamples: int, confidence: float,
               seed: int) -> tuple[float, float]:
    from scipy.stats import bootstrap

    if len(data[0]) < 2:
        value = float(statistic(*data))
        return value, value  # one dialogue: nothing to resample
    result = bootstrap(data, statistic, paired=True, vectorized=True, n_resamples=n_resamples,
                       confidence_level=confidence, method="percentile",
                       rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def rouge_intervals(pair_scores: Sequence[Sequence[dict[str, float]]], protocol: str = "mean",
                    n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE,
                    seed: int = SEED) -> dict[str, tuple[float, float]]:
    """``{rouge_type: (low, high)}``: the bootstrap interval of each corpus ROUGE F-measure.

    ``pair_scores`` is :attr:`dialogsum_peft.metrics.EvalResult.pair_scores` (one list per
    dialogue, one dict per reference). Fractions in [0, 1]. Raises ValueError for an unknown
    protocol or no dialogues.
    """
    check_protocol(protocol)
    if not pair_scores:
        raise ValueError("no dialogues to resample")
    return {k: _bootstrap(_sums_and_counts(pair_scores, protocol, k), _ratio, n_resamples,
                          confidence, seed) for k in ROUGE_TYPES}


def difference_intervals(baseline_pairs, other_pairs, protocol: str = "mean",
                         n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE,
                         seed: int = SEED) -> dict[str, dict[str, float | tuple[float, float]]]:
    """``{rouge_type: {"difference": other - baseline, "ci95": (low, high)}}``, paired.

    Both arguments are pair scores of the same dialogues in the same order (two models'
    ``EvalResult.pair_scores``); each resample draws the same dialogues for both. An interval
    that contains 0 means the test set cannot tell the two models apart at this confidence.
    Raises ValueError when the two do not cover the same dialogues and references.
    """
    check_protocol(protocol)
    if [len(p) for p in baseline_pairs] != [len(p) for p in other_pairs] or not baseline_pairs:
        raise ValueError("the two evaluations must score the same dialogues with the same "
                         "references, in the same order")
    out = {}
    for k in ROUGE_TYPES:
        sums_a, counts = _sums_and_counts(baseline_pairs, protocol, k)
        sums_b, _ = _sums_and_counts(other_pairs, protocol, k)
        out[k] = {"difference": float(_difference(sums_a, sums_b, counts)),
                  "ci95": _bootstrap((sums_a, sums_b, counts), _difference, n_resamples,
                                     confidence, seed)}
    return out


def format_interval(ci: Sequence[float], signed: bool = False) -> str:
    """An interval as tables show it: ``"0.412 to 0.437"``, or with ``signed`` (a difference)
    ``"+0.012 to +0.031"``, three decimals (ROUGE F-measures are fractions)."""
    sign = "+" if signed else ""
    return f"{ci[0]:{sign}.3f} to {ci[1]:{sign}.3f}"

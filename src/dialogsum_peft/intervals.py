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

Some intervals cannot be estimated, and are then not shown as 95% intervals at all: an
:class:`Interval` without bounds, with its reason, that every table, plot, ``scores.json`` and
command line message reports as "not estimable". Two cases: fewer than :data:`MIN_DIALOGUES`
dialogues (one cannot be resampled; with a few, the resampled means take a handful of values and
the percentile interval of a mean covers well under 95%: about 85% at 5 dialogues, 90% at 10,
from the ratio of the percentile bootstrap's half-width, ``1.96 * sqrt((n-1)/n)``, to Student's
``t``), and no spread (every resample gives the same value: every dialogue scores the same, or
two models differ by the same on every dialogue), where a zero-width "interval" would claim
certainty that a sample of dialogues cannot give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .metrics import ROUGE_TYPES, check_protocol, per_example
from .wording import counted, not_estimable

N_RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 0
MIN_DIALOGUES = 10  # fewer: no interval is estimated (see the module's docstring)


@dataclass(frozen=True)
class Interval:
    """A bootstrap confidence interval, ``low`` to ``high`` (fractions, as the scores), or, when
    it cannot be estimated, no bounds and the ``reason`` (e.g. ``"1 dialogue; at least 10 are
    needed"``, ``"no spread: every resample gives 0.000"``).

    ``low, high = interval`` (and ``interval[0]``) reads an estimable interval and raises
    ValueError, naming the reason, for one that is not: a caller cannot take a missing interval
    for a zero-width one.
    """

    low: float | None = None
    high: float | None = None
    reason: str | None = None

    @property
    def estimable(self) -> bool:
        return self.reason is None

    def __iter__(self):
        if not self.estimable:
            raise ValueError(f"no interval: {self.reason}")
        return iter((self.low, self.high))

    def __getitem__(self, i: int) -> float:  # interval[0], interval[1], as for a (low, high) pair
        return tuple(self)[i]

    def to_json(self) -> list[float] | None:
        """``[low, high]``, or ``None`` when the interval cannot be estimated."""
        return [self.low, self.high] if self.estimable else None


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


def too_few(n: int) -> Interval | None:
    """The not-estimable :class:`Interval` of ``n`` dialogues below :data:`MIN_DIALOGUES` (the
    module's docstring says why), or ``None`` when there are enough: one rule and one reason for
    the bootstrap's intervals and the win shares' Wilson intervals."""
    if n < MIN_DIALOGUES:
        return Interval(reason=f"{counted(n, 'dialogue')}; at least {MIN_DIALOGUES} are needed")
    return None


def _bootstrap(data: tuple, statistic, n_resamples: int, confidence: float, seed: int) -> Interval:
    from scipy.stats import bootstrap

    n = len(data[0])
    if (few := too_few(n)) is not None:
        return few
    no_spread = Interval(reason=f"no spread: every resample gives {float(statistic(*data)):.3f}")
    each = np.array([statistic(*(d[i : i + 1] for d in data)) for i in range(n)])
    if np.ptp(each) <= 1e-12:  # every dialogue alike: so is every resample (scipy would warn)
        return no_spread
    result = bootstrap(
        data,
        statistic,
        paired=True,
        vectorized=True,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (np.isfinite(low) and np.isfinite(high)) or high - low <= 1e-12:
        return no_spread
    return Interval(low, high)


def rouge_intervals(
    pair_scores: Sequence[Sequence[dict[str, float]]],
    protocol: str = "mean",
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> dict[str, Interval]:
    """``{rouge_type: Interval}``: the bootstrap interval of each corpus ROUGE F-measure, or one
    that says why it cannot be estimated (:class:`Interval`).

    ``pair_scores`` is :attr:`dialogsum_peft.metrics.EvalResult.pair_scores` (one list per
    dialogue, one dict per reference). Fractions in [0, 1]. Raises ValueError for an unknown
    protocol or no dialogues.
    """
    check_protocol(protocol)
    if not pair_scores:
        raise ValueError("no dialogues to resample")
    return {
        k: _bootstrap(
            _sums_and_counts(pair_scores, protocol, k), _ratio, n_resamples, confidence, seed
        )
        for k in ROUGE_TYPES
    }


def difference_intervals(
    baseline_pairs,
    other_pairs,
    protocol: str = "mean",
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> dict[str, dict[str, float | Interval]]:
    """``{rouge_type: {"difference": other - baseline, "ci95": Interval}}``, paired.

    Both arguments are pair scores of the same dialogues in the same order (two models'
    ``EvalResult.pair_scores``); each resample draws the same dialogues for both. An interval
    that contains 0 means the test set cannot tell the two models apart at this confidence.
    Raises ValueError when the two do not cover the same dialogues and references.
    """
    check_protocol(protocol)
    if [len(p) for p in baseline_pairs] != [len(p) for p in other_pairs] or not baseline_pairs:
        raise ValueError(
            "the two evaluations must score the same dialogues with the same "
            "references, in the same order"
        )
    out = {}
    for k in ROUGE_TYPES:
        sums_a, counts = _sums_and_counts(baseline_pairs, protocol, k)
        sums_b, _ = _sums_and_counts(other_pairs, protocol, k)
        out[k] = {
            "difference": float(_difference(sums_a, sums_b, counts)),
            "ci95": _bootstrap(
                (sums_a, sums_b, counts), _difference, n_resamples, confidence, seed
            ),
        }
    return out


def wilson_interval(right: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """The Wilson score interval of a share of ``right`` out of ``n`` (fractions in [0, 1]), from
    ``scipy.stats.binomtest(...).proportion_ci(method="wilson")``: unlike the Wald interval it
    stays inside [0, 1] and keeps close to its coverage near 0 and 1 (Brown, Cai & DasGupta 2001).
    Raises ValueError for ``n < 1`` or ``right`` outside 0..n."""
    from scipy.stats import binomtest

    if n < 1 or not 0 <= right <= n:
        raise ValueError(f"a share needs 0 <= right <= n and n >= 1, got {right} of {n}")
    ci = binomtest(right, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Interval(float(ci.low), float(ci.high))


def format_interval(ci: Interval | Sequence[float], signed: bool = False) -> str:
    """An interval as tables show it: ``"0.412 to 0.437"``, or with ``signed`` (a difference)
    ``"+0.012 to +0.031"``, three decimals (ROUGE F-measures are fractions); an interval that
    cannot be estimated as ``"not estimable: <reason>"``."""
    if isinstance(ci, Interval) and not ci.estimable:
        return not_estimable(ci.reason)
    low, high = ci
    sign = "+" if signed else ""
    return f"{low:{sign}.3f} to {high:{sign}.3f}"

"""On how many test dialogues is one model better than another: the shares of dialogues whose
ROUGE is higher, equal and lower, each with a 95% interval.

Why: a corpus score and its interval say how much better a model is *on average*. An average
gain of 4 points can come from most dialogues a little better, or from a third of them much
better and the rest worse; a learner who reads summaries meets the second kind as "it got worse
here". Counting, dialogue by dialogue, where the fine-tuned summary scores higher than the
zero-shot one, equal to it and lower says which (the sign test's view of a comparison).

The per-dialogue scores are those of :func:`dialogsum_peft.metrics.per_example` under the
chosen protocol (under "mean" a dialogue's score is the average over its references, as in the
predictions files), so a share is about the same numbers as the tables. "Equal" means equal to
within :data:`TIE_TOLERANCE` (the same summary, or two that score alike, e.g. both 0).

Each share is a proportion of the test dialogues, with a 95% Wilson score interval
(``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``): unlike the textbook
``p ± 1.96·sqrt(p(1-p)/n)`` (Wald) interval it stays inside [0, 1] and keeps close to 95%
coverage for shares near 0 or 1 and for small samples (Brown, Cai & DasGupta 2001), and a share
of 0 of n still gets an upper bound. With fewer than
:data:`~dialogsum_peft.intervals.MIN_DIALOGUES` dialogues the interval is reported as not
estimable, with the same reason as the bootstrap intervals beside it, so that a table never shows
an interval for one number and none for its neighbour on the same dialogues.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigError, DataError
from .intervals import CONFIDENCE, Interval, too_few, wilson_interval
from .metrics import MULTI_REF_PROTOCOLS, ROUGE_TYPES, EvalResult, check_protocol
from .wording import counted, not_estimable

OUTCOMES = ("higher", "equal", "lower")  # the other model's score against the baseline's
TIE_TOLERANCE = 1e-9  # two F-measures closer than this are equal (float rounding, not ROUGE)


@dataclass(frozen=True)
class Share:
    """``dialogues`` of ``total`` test dialogues (``share`` = dialogues / total, a fraction in
    [0, 1]) and its 95% Wilson interval, or an :class:`~dialogsum_peft.intervals.Interval` that
    says why there is none."""

    dialogues: int
    total: int
    ci95: Interval

    @property
    def share(self) -> float:
        return self.dialogues / self.total

    def to_json(self) -> dict:
        """``{"dialogues": k, "share": k/n, "ci95": [low, high] or None}``."""
        return {"dialogues": self.dialogues, "share": self.share, "ci95": self.ci95.to_json()}

    def __str__(self) -> str:
        """``"6 of 10 dialogues (60%; 95% CI 31% to 83%)"``, or ``"... (60%; 95% CI not
        estimable: <reason>)"``."""
        return (
            f"{self.dialogues} of {counted(self.total, 'dialogue')} ({self.share:.0%}; "
            f"95% CI {format_share_ci(self.ci95)})"
        )


def format_share_ci(ci: Interval) -> str:
    """A share's interval in whole percents, ``"31% to 83%"``, or ``"not estimable: <reason>"``."""
    if not ci.estimable:
        return not_estimable(ci.reason)
    return f"{ci.low:.0%} to {ci.high:.0%}"


def proportion_interval(k: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """The Wilson score interval of ``k`` successes in ``n`` trials (fractions,
    :func:`~dialogsum_peft.intervals.wilson_interval`); not estimable below
    :data:`~dialogsum_peft.intervals.MIN_DIALOGUES` trials (the module's docstring says why).
    Raises ValueError for ``k`` outside 0..n."""
    if not 0 <= k <= n:
        raise ValueError(f"{k} of {n}: a count must be between 0 and the total")
    return too_few(n) or wilson_interval(k, n, confidence)


def win_shares(
    baseline: EvalResult, other: EvalResult, protocol: str = "mean", rouge_type: str = "rouge1"
) -> dict[str, Share]:
    """``{"higher": Share, "equal": Share, "lower": Share}``: the test dialogues on which
    ``other``'s ``rouge_type`` F-measure under ``protocol`` is higher than, equal to (within
    :data:`TIE_TOLERANCE`) and lower than ``baseline``'s. The three counts add up to the number
    of dialogues.

    Both are :class:`~dialogsum_peft.metrics.EvalResult` of the same dialogues in the same
    order. Raises ValueError for an unknown protocol or ROUGE type, or for results that do not
    score the same dialogues with the same references.
    """
    check_protocol(protocol)
    if rouge_type not in ROUGE_TYPES:
        raise ConfigError(
            f"unknown ROUGE type {rouge_type!r}; choose one of {', '.join(ROUGE_TYPES)}"
        )
    if [len(p) for p in baseline.pair_scores] != [
        len(p) for p in other.pair_scores
    ] or not baseline.pair_scores:
        raise DataError(
            "the two evaluations must score the same dialogues with the same "
            "references, in the same order"
        )
    counts = dict.fromkeys(OUTCOMES, 0)
    for a, b in zip(baseline.per_example(protocol), other.per_example(protocol)):
        if math.isclose(a[rouge_type], b[rouge_type], rel_tol=0.0, abs_tol=TIE_TOLERANCE):
            counts["equal"] += 1
        else:
            counts["higher" if b[rouge_type] > a[rouge_type] else "lower"] += 1
    n = len(baseline.pair_scores)
    return {outcome: Share(k, n, proportion_interval(k, n)) for outcome, k in counts.items()}


def wins_json(results: Mapping[str, EvalResult], baseline: str = "base") -> dict:
    """``{"<model> vs <baseline>": {protocol: {rouge_type: {"higher": {"dialogues", "share",
    "ci95"}, "equal": ..., "lower": ...}}}}`` for every model of ``results`` beside ``baseline``,
    under every protocol and ROUGE type (``scores.json``'s ``"wins"``); empty without the
    baseline. Where the intervals cannot be estimated, ``"ci95_not_estimable"`` beside the three
    says why (as for the scores' intervals)."""
    if baseline not in results:
        return {}
    out = {}
    for name, result in results.items():
        if name == baseline:
            continue
        by_protocol = {}
        for protocol in MULTI_REF_PROTOCOLS:
            by_type = {}
            for k in ROUGE_TYPES:
                shares = win_shares(results[baseline], result, protocol, k)
                entry = {outcome: s.to_json() for outcome, s in shares.items()}
                reason = shares["higher"].ci95.reason
                by_type[k] = {**entry, "ci95_not_estimable": reason} if reason else entry
            by_protocol[protocol] = by_type
        out[f"{name} vs {baseline}"] = by_protocol
    return out


def describe_wins(
    shares: Mapping[str, Share],
    improved: str,
    baseline: str,
    rouge_type: str = "rouge1",
    protocol: str = "mean",
) -> str:
    """One sentence for a reader: ``"LoRA's rouge1 (protocol mean) is higher than zero-shot's
    on 6 of 10 dialogues (60%; 95% CI 31% to 83%), equal on ... and lower on ...."``."""
    return (
        f"{improved}'s {rouge_type} (protocol {protocol}) is higher than {baseline}'s on "
        f"{shares['higher']}, equal on {shares['equal']} and lower on {shares['lower']}."
    )

"""ROUGE computed correctly, offline, with Google's ``rouge_score``, under each published protocol.

Why: the original tutorial passed strings where lists were expected, so ROUGE ran over
characters, and it used ``evaluate.load("rouge")``, which needs the Hub. Here inputs are checked
(a bare string is an error, not a silent character-level score), scores are word level with
Porter stemming, and rougeLsum gets the newline-separated sentences it expects.

Published DialogSum figures combine a dialogue's several references in different ways, and the
choice moves ROUGE-1 by several points, so a number is only comparable under the same protocol.
Every (prediction, reference) pair is scored once (:func:`score_pairs`); each protocol is then an
aggregation of those pair scores (:func:`aggregate`), so all protocols come from one scoring pass.
:class:`EvalResult` holds a model's predictions with their pair scores; it lives here, below
both evaluation (which fills it) and reporting (which reads it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .errors import ConfigError, DataError, DialogSumWarning, warn
from .tokenization import InputReport
from .wording import counted, share_of, verb

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")

# How several references per dialogue become one score:
#   "mean":  the average over every (dialogue, reference) pair. Exactly what scoring each row of
#            the Hub-format test split on its own (one row per reference: 1,500 rows for 500
#            dialogues) and averaging gives: the course lab's method, and our default. DialogSum's
#            test split has 3 references for every dialogue, so there it also equals the mean of
#            the per-dialogue means; with unequal counts, dialogues with more references weigh more.
#   "best":  per dialogue and per metric, the best-matching reference, as rouge_score's
#            ``score_multi``; the most flattering of the three.
#   "first": the first reference only, as in the DialogSum paper's baseline table.
MULTI_REF_PROTOCOLS = ("mean", "best", "first")


class UnscorableTextWarning(DialogSumWarning):
    """Text holds letters that ``rouge_score``'s default tokenizer drops (see :func:`dropped_characters`)."""


_MAYBE_TWO_SENTENCES = re.compile(r"[.!?\n\r\u2026]")  # pysbd never splits text without these


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


@lru_cache(maxsize=16384)  # the same references are split once per model scored
def split_sentences(text: str) -> str:
    """``text`` with one sentence per line, as rougeLsum expects.

    Sentences are found by ``pysbd`` (English rules, shipped in the package: no download), which
    keeps abbreviations such as "Mr.", "Ms.", "Dr.", "p.m." and "etc." inside their sentence; a
    regex split on ". " broke a sentence after each of them. Text with no sentence mark before
    its last character is one sentence and skips the (slower) segmenter.
    """
    text = text.strip()
    if not _MAYBE_TWO_SENTENCES.search(text[:-1]):
        return text
    return "\n".join(s.strip() for s in _segmenter().segment(text) if s.strip())


def dropped_characters(text: str) -> int:
    """How many letters and digits of ``text`` ``rouge_score``'s default tokenizer drops.

    That tokenizer lowercases, then keeps only ``a-z`` and ``0-9`` (rouge_score/tokenize.py), so
    "é", "ß", Cyrillic, Greek or CJK letters vanish and their words score as missing or empty.
    Punctuation and spaces are not counted: dropping them is intended.
    """
    return sum(1 for c in text.lower() if c.isalnum() and not ("a" <= c <= "z" or "0" <= c <= "9"))


def unscorable_note(texts: dict[str, Sequence[str]]) -> str | None:
    """One sentence saying which of ``texts`` (``{"references": [...], ...}``) lose letters to
    ``rouge_score``'s default tokenizer, or ``None`` when none does."""
    parts, texts_with_loss = [], 0
    for name, group in texts.items():
        counts = [dropped_characters(t) for t in group]
        if any(counts):
            with_loss = sum(1 for c in counts if c)
            texts_with_loss += with_loss
            parts.append(
                f"{share_of(with_loss, len(counts), name)} ({counted(sum(counts), 'letter')})"
            )
    if not parts:
        return None
    return (
        f"ROUGE: {', '.join(parts)} {verb(texts_with_loss, 'holds', 'hold')} letters outside "
        "a-z that rouge_score's default "
        "tokenizer drops, so their words count as missing: scores are for English text "
        "(docs/rouge.md)"
    )


def _as_list(value, name: str) -> list:
    if isinstance(value, str):
        raise DataError(
            f"{name} must be a list of strings, got a single string; scoring a string directly "
            "would compare characters, not words. Wrap it: [text]"
        )
    if not isinstance(value, Sequence) and not hasattr(value, "__iter__"):
        raise DataError(f"{name} must be a list, got {type(value).__name__}")
    return list(value)


def _normalize_references(references) -> list[list[str]]:
    refs = _as_list(references, "references")
    out = []
    for i, r in enumerate(refs):
        group = [r] if isinstance(r, str) else _as_list(r, f"references[{i}]")
        if not group:
            raise DataError(f"references[{i}] is an empty list; each example needs a reference")
        for j, text in enumerate(group):
            if not isinstance(text, str):
                raise DataError(f"references[{i}][{j}] is a {type(text).__name__}, not a string")
        out.append(group)
    return out


def check_protocol(multi_ref: str) -> None:
    """Raise :class:`~dialogsum_peft.errors.ConfigError` (a ValueError), listing the choices, for
    a name not in ``MULTI_REF_PROTOCOLS``."""
    if multi_ref not in MULTI_REF_PROTOCOLS:
        raise ConfigError(
            f"unknown multi_ref {multi_ref!r}; choose one of: {', '.join(MULTI_REF_PROTOCOLS)}"
        )


def score_pairs(
    predictions, references, use_stemmer: bool = True, tokenizer=None
) -> list[list[dict[str, float]]]:
    """ROUGE F-measures of every (prediction, reference) pair: one list per example, one dict per
    reference, in the references' order. Fractions in [0, 1].

    ``references`` is a list of strings (one per prediction) or a list of lists of strings.
    ``tokenizer`` is passed to ``rouge_score.rouge_scorer.RougeScorer`` (an object with a
    ``tokenize(text) -> list[str]`` method); without one, rouge_score's default tokenizer keeps
    only a-z and 0-9, and an :class:`UnscorableTextWarning` says when text loses letters to it.
    Raises :class:`~dialogsum_peft.errors.DataError` (a ValueError) for a bare string,
    mismatched lengths or a non-string entry.
    """
    from rouge_score import rouge_scorer

    preds = _as_list(predictions, "predictions")
    refs = _normalize_references(references)
    if not preds:
        raise DataError("compute_rouge got no predictions (empty list)")
    if len(preds) != len(refs):
        raise DataError(
            f"got {len(preds)} predictions but {len(refs)} references; they must pair up"
        )
    for i, p in enumerate(preds):
        if not isinstance(p, str):
            raise DataError(f"predictions[{i}] is a {type(p).__name__}, not a string")
    if tokenizer is None:
        note = unscorable_note(
            {"predictions": preds, "references": [r for group in refs for r in group]}
        )
        if note:
            warn(f"{note}; pass tokenizer= to score other languages", UnscorableTextWarning)
    scorer = rouge_scorer.RougeScorer(
        list(ROUGE_TYPES), use_stemmer=use_stemmer, tokenizer=tokenizer
    )
    pairs = []
    for pred, group in zip(preds, refs):
        pred = split_sentences(pred)
        scores = [scorer.score(split_sentences(r), pred) for r in group]
        pairs.append([{k: float(s[k].fmeasure) for k in ROUGE_TYPES} for s in scores])
    return pairs


def per_example(
    pair_scores: Sequence[Sequence[dict[str, float]]], multi_ref: str = "mean"
) -> list[dict[str, float]]:
    """One score per example from its pair scores: the mean, best or first reference's."""
    check_protocol(multi_ref)
    if multi_ref == "first":
        return [dict(pairs[0]) for pairs in pair_scores]
    combine = max if multi_ref == "best" else (lambda xs: math.fsum(xs) / len(xs))
    return [{k: combine([p[k] for p in pairs]) for k in ROUGE_TYPES} for pairs in pair_scores]


def aggregate(
    pair_scores: Sequence[Sequence[dict[str, float]]], multi_ref: str = "mean"
) -> dict[str, float]:
    """Corpus ROUGE under one protocol (see ``MULTI_REF_PROTOCOLS``).

    "mean" averages all pairs (not per-example means), so it equals the row-by-row average over
    a split with one row per reference. Sums are exact (``math.fsum``), so the result does not
    depend on the order the pairs come in, e.g. after gathering from several processes.
    """
    check_protocol(multi_ref)
    if not pair_scores:
        raise ValueError("no scores to aggregate")
    if multi_ref == "mean":
        rows = [p for pairs in pair_scores for p in pairs]
    else:
        rows = per_example(pair_scores, multi_ref)
    return {k: math.fsum(r[k] for r in rows) / len(rows) for k in ROUGE_TYPES}


def aggregate_by_protocol(pair_scores) -> dict[str, dict[str, float]]:
    """``{protocol: corpus scores}`` for every protocol, from pair scores already computed."""
    return {p: aggregate(pair_scores, p) for p in MULTI_REF_PROTOCOLS}


@dataclass
class EvalResult:
    """Predictions and their pair scores (one list per dialogue, one dict per reference), and
    whether the model that wrote them is the smoke path's tiny random T5 (then they mean nothing).

    Tables and plots take this object and a protocol and compute their numbers and marks from it
    (:mod:`dialogsum_peft.reporting`), so a label cannot name what the numbers are not.

    ``inputs``: what truncation and ``<unk>`` took from the prompts the model read
    (:class:`~dialogsum_peft.tokenization.InputReport`; written to ``scores.json``).
    """

    predictions: list[str]
    pair_scores: list[list[dict[str, float]]]
    smoke: bool = False
    inputs: InputReport | None = None

    @property
    def scores(self) -> dict[str, float]:
        """Corpus ROUGE under the default "mean" protocol (what existing callers expect)."""
        return aggregate(self.pair_scores, "mean")

    @property
    def by_protocol(self) -> dict[str, dict[str, float]]:
        """Corpus ROUGE under every protocol: ``{"mean": {...}, "best": {...}, "first": {...}}``."""
        return aggregate_by_protocol(self.pair_scores)

    def per_example(self, multi_ref: str = "mean") -> list[dict[str, float]]:
        """ROUGE of each dialogue under one protocol."""
        return per_example(self.pair_scores, multi_ref)

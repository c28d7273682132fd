"""ROUGE computed correctly, offline, with Google's ``rouge_score``.

Why: the original tutorial passed strings where lists were expected, so ROUGE ran over
characters, and it used ``evaluate.load("rouge")``, which needs the Hub. Here inputs are checked
(a bare string is an error, not a silent character-level score), scores are word level with
Porter stemming, several references per dialogue are supported (the best match counts, as in
``rouge_score``'s ``score_multi``), and rougeLsum gets the newline-separated sentences it expects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> str:
    """One sentence per line, as rougeLsum expects (a regex split: no NLTK download needed)."""
    return "\n".join(s for s in _SENTENCE_END.split(text.strip()) if s)


def _as_list(value, name: str) -> list:
    if isinstance(value, str):
        raise ValueError(
            f"{name} must be a list of strings, got a single string; scoring a string directly "
            "would compare characters, not words. Wrap it: [text]"
        )
    if not isinstance(value, Sequence) and not hasattr(value, "__iter__"):
        raise ValueError(f"{name} must be a list, got {type(value).__name__}")
    return list(value)


def _normalize_references(references) -> list[list[str]]:
    refs = _as_list(references, "references")
    out = []
    for i, r in enumerate(refs):
        group = [r] if isinstance(r, str) else _as_list(r, f"references[{i}]")
        if not group:
            raise ValueError(f"references[{i}] is an empty list; each example needs a reference")
        for j, text in enumerate(group):
            if not isinstance(text, str):
                raise ValueError(f"references[{i}][{j}] is a {type(text).__name__}, not a string")
        out.append(group)
    return out


def rouge_per_example(predictions, references, use_stemmer: bool = True) -> list[dict[str, float]]:
    """ROUGE F-measures of each example (best over its references), as fractions in [0, 1]."""
    from rouge_score import rouge_scorer

    preds = _as_list(predictions, "predictions")
    refs = _normalize_references(references)
    if not preds:
        raise ValueError("compute_rouge got no predictions (empty list)")
    if len(preds) != len(refs):
        raise ValueError(f"got {len(preds)} predictions but {len(refs)} references; they must pair up")
    for i, p in enumerate(preds):
        if not isinstance(p, str):
            raise ValueError(f"predictions[{i}] is a {type(p).__name__}, not a string")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer)
    rows = []
    for pred, group in zip(preds, refs):
        scores = scorer.score_multi([split_sentences(r) for r in group], split_sentences(pred))
        rows.append({k: float(scores[k].fmeasure) for k in ROUGE_TYPES})
    return rows


def compute_rouge(predictions, references, use_stemmer: bool = True) -> dict[str, float]:
    """Mean ROUGE-1/2/L/Lsum F-measure over examples, fractions in [0, 1].

    ``references`` is a list of strings (one per prediction) or a list of lists of strings
    (several references: each example takes its best-matching reference).
    """
    return mean_rouge(rouge_per_example(predictions, references, use_stemmer=use_stemmer))


def mean_rouge(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean of per-example scores (from :func:`rouge_per_example`)."""
    if not rows:
        raise ValueError("no per-example scores to average")
    return {k: sum(r[k] for r in rows) / len(rows) for k in ROUGE_TYPES}

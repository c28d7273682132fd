"""Generate summaries for a split and score them against every reference, in one call.

Why: the notebook, the command line and the benchmarks all evaluate the same way (same prompt,
same batching, same ROUGE), so the comparison of zero-shot and LoRA models is apples to apples.
"""

from __future__ import annotations

from dataclasses import dataclass

from .generation import summarize
from .metrics import mean_rouge, rouge_per_example


@dataclass
class EvalResult:
    predictions: list[str]
    scores: dict[str, float]
    per_example: list[dict[str, float]]


def limit_split(dataset, limit: int | None):
    """The first ``limit`` rows of a split (all of them for ``None``)."""
    if limit is None or limit >= len(dataset):
        return dataset
    if limit < 1:
        raise ValueError(f"the evaluation size must be at least 1, got {limit}")
    return dataset.select(range(limit))


def evaluate_model(model, tokenizer, dataset, batch_size: int = 32, max_new_tokens: int = 128,
                   num_beams: int = 1, max_source_length: int = 512, progress: bool = True,
                   desc: str = "evaluating") -> EvalResult:
    """Summaries of every dialogue in ``dataset`` and their ROUGE against all references."""
    predictions = summarize(model, tokenizer, list(dataset["dialogue"]), batch_size=batch_size,
                            max_new_tokens=max_new_tokens, num_beams=num_beams,
                            max_source_length=max_source_length, progress=progress, desc=desc)
    references = list(dataset["references"])
    per_example = rouge_per_example(predictions, references)
    return EvalResult(predictions, mean_rouge(per_example), per_example)

"""What fine-tuning made the model forget: short instructions outside dialogue summarization,
answered before and after training, scored by normalized exact match.

Why: ROUGE on DialogSum says what fine-tuning taught; it cannot say what it cost. Flan-T5 was
instruction-tuned on many tasks (sentiment, yes/no and short factual questions, translation,
arithmetic in words), and training every weight on one task can overwrite some of them
("catastrophic forgetting"). The project's own set, ``data/forgetting/instructions.jsonl`` (how
it was written: ``data/forgetting/README.md``), asks the model before and after fine-tuning.

The metric is **normalized exact match**: an answer counts when, normalized (:func:`normalize`),
it equals one of the instruction's accepted answers. The answers are short and closed (a label,
yes or no, a word, a number, a short sentence), so exact match asks what the instruction asked;
"the expected answer contained in the output" would also credit an output that only repeats the
question's options ("positive or negative") or writes a summary of it. Each accuracy comes with
its 95% Wilson score interval (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``:
valid at 0 and 1 right, where the normal approximation is not), and the change after training
with a paired percentile bootstrap over instructions (``scipy.stats.bootstrap``, as
:mod:`dialogsum_peft.intervals` does for ROUGE differences).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .display import SMOKE_NOTE, captioned
from .errors import DataError
from .intervals import CONFIDENCE, N_RESAMPLES, SEED, Interval, format_interval, wilson_interval

INSTRUCTIONS_FILE = (
    Path(__file__).resolve().parents[2] / "data" / "forgetting" / "instructions.jsonl"
)
MIN_INSTRUCTIONS = 10  # fewer: no interval for the change (as intervals.MIN_DIALOGUES)
# The answers' budget of new tokens (the run's max_new_tokens, when smaller, cuts them sooner): the
# longest accepted answer is 8 words; a longer output is wrong anyway.
MAX_NEW_TOKENS = 32
METRIC = "normalized exact match"


@dataclass(frozen=True)
class Instruction:
    """One item: ``instruction`` is the whole model input (no prompt template is added),
    ``answers`` the accepted answers (any one counts), ``category`` e.g. ``"arithmetic"``."""

    id: str
    category: str
    instruction: str
    answers: tuple[str, ...]


def normalize(text: str) -> str:
    """``text`` as answers are compared: Unicode NFKC, case-folded, every punctuation character
    (Unicode category P) replaced by a space, whitespace runs collapsed, stripped.
    ``"J'ai faim."`` -> ``"j ai faim"``; accents and umlauts are kept (``"Où"`` -> ``"où"``)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)
    return " ".join(text.split())


def is_correct(answer: str, accepted: Sequence[str]) -> bool:
    """Whether ``answer`` normalized equals one of ``accepted`` normalized (:func:`normalize`)."""
    return normalize(answer) in {normalize(a) for a in accepted}


def load_instructions(path: str | Path | None = None) -> list[Instruction]:
    """The instructions of ``path`` (JSON Lines; default :data:`INSTRUCTIONS_FILE`), in file order.

    Each line holds ``id`` (unique), ``category``, ``instruction`` (non-empty strings) and
    ``answers`` (a non-empty list of strings, each with something left after :func:`normalize`).
    Raises :class:`~dialogsum_peft.errors.DataError` naming the file and line otherwise, and for
    a missing or empty file.
    """
    path = Path(path) if path is not None else INSTRUCTIONS_FILE
    if not path.is_file():
        raise DataError(
            f"{path}: no such file (the instruction set ships in the repository's "
            "data/forgetting/; run from a clone)"
        )
    items, seen = [], set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as err:
            raise DataError(f"{path}: line {lineno} is not JSON ({err})") from None
        fields = [
            record.get(k) if isinstance(record, dict) else None
            for k in ("id", "category", "instruction")
        ]
        answers = record.get("answers") if isinstance(record, dict) else None
        if not all(isinstance(f, str) and f.strip() for f in fields):
            raise DataError(
                f'{path}: line {lineno} needs non-empty "id", "category" and "instruction" strings'
            )
        if (
            not isinstance(answers, list)
            or not answers
            or not all(isinstance(a, str) and normalize(a) for a in answers)
        ):
            raise DataError(f'{path}: line {lineno} needs "answers": a list of non-empty strings')
        if fields[0] in seen:
            raise DataError(f"{path}: line {lineno} repeats the id {fields[0]!r}")
        seen.add(fields[0])
        items.append(Instruction(fields[0], fields[1], fields[2], tuple(answers)))
    if not items:
        raise DataError(f"{path}: no instructions")
    return items


@dataclass
class InstructionScores:
    """One model's answers to a list of instructions: ``answers[i]`` its output for item i,
    ``correct[i]`` whether it counts (:func:`is_correct`); ``smoke`` when the smoke path's tiny
    random T5 wrote them."""

    answers: list[str]
    correct: list[bool]
    smoke: bool = False

    @property
    def n(self) -> int:
        return len(self.correct)

    @property
    def right(self) -> int:
        return sum(self.correct)

    @property
    def accuracy(self) -> float:
        """The share of instructions answered right, a fraction in [0, 1]."""
        return self.right / self.n

    def interval(self, confidence: float = CONFIDENCE) -> Interval:
        """:func:`wilson_interval` of this accuracy."""
        return wilson_interval(self.right, self.n, confidence)


def _encoded(instructions: Sequence[Instruction], tokenizer, max_source_length: int):
    """The instructions' token ids (each the whole input, no summarization prompt) cut at
    ``max_source_length``, from one tokenizer pass whose report of what truncation and ``<unk>``
    took is said once (:func:`~dialogsum_peft.tokenization.warn_input_loss`)."""
    from .tokenization import encode, warn_input_loss

    encoded, report = encode([i.instruction for i in instructions], tokenizer, max_source_length)
    warn_input_loss(report, "instructions", stacklevel=4)
    return encoded


def _scored(model, tokenizer, instructions, encoded, *, max_new_tokens: int, **gen_kwargs):
    from .generation import summarize_ids
    from .offline import is_smoke_model

    answers = summarize_ids(
        model,
        tokenizer,
        encoded,
        desc="instructions",
        max_new_tokens=min(max_new_tokens, MAX_NEW_TOKENS),
        **gen_kwargs,
    )
    return InstructionScores(
        answers,
        [is_correct(a, i.answers) for a, i in zip(answers, instructions)],
        smoke=is_smoke_model(model),
    )


def score_instructions(
    model,
    tokenizer,
    instructions: Sequence[Instruction],
    *,
    max_source_length: int,
    progress: bool = False,
    **gen_kwargs,
) -> InstructionScores:
    """``model``'s answers to ``instructions`` (each instruction as the whole input, no
    summarization prompt), scored by :func:`is_correct`. Any seq2seq model: a base model, a peft
    model, a fully fine-tuned one. ``max_source_length`` and ``gen_kwargs``: the run's generation
    settings (``**config.generation_kwargs()``), the answers cut at :data:`MAX_NEW_TOKENS` new
    tokens when the run allows more. An
    :class:`~dialogsum_peft.tokenization.InputLossWarning` says what of the instructions the
    model does not see (cut at ``max_source_length`` tokens, characters mapped to ``<unk>``)."""
    encoded = _encoded(instructions, tokenizer, max_source_length)
    return _scored(model, tokenizer, instructions, encoded, progress=progress, **gen_kwargs)


def score_before_and_after(
    peft_model,
    tokenizer,
    instructions: Sequence[Instruction],
    *,
    max_source_length: int,
    progress: bool = False,
    **gen_kwargs,
) -> tuple[InstructionScores, InstructionScores]:
    """``(before, after)``: the zero-shot model inside ``peft_model`` (every adapter off:
    :func:`~dialogsum_peft.zero_shot.zero_shot_model`) and ``peft_model`` itself, each scored as
    :func:`score_instructions` scores (the same settings; the instructions encoded once). Raises
    TypeError for a model that is not a peft model (a fully fine-tuned one: score its base
    before training instead)."""
    from .zero_shot import zero_shot_model

    with zero_shot_model(peft_model) as base:  # before anything is encoded: a TypeError first
        encoded = _encoded(instructions, tokenizer, max_source_length)
        before = _scored(base, tokenizer, instructions, encoded, progress=progress, **gen_kwargs)
    return before, _scored(
        peft_model, tokenizer, instructions, encoded, progress=progress, **gen_kwargs
    )


def _check_pair(before: InstructionScores, after: InstructionScores) -> None:
    if before.n != after.n or before.n == 0:
        raise DataError(
            f"before and after must score the same instructions, got {before.n} "
            f"and {after.n} answers"
        )


def change_interval(
    before: InstructionScores,
    after: InstructionScores,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> Interval:
    """The paired bootstrap interval of ``after.accuracy - before.accuracy`` (the same
    instructions drawn for both, percentile method), or an :class:`Interval` without bounds
    saying why there is none: fewer than :data:`MIN_INSTRUCTIONS` instructions, or no spread
    (every instruction changed alike, e.g. none changed). Raises ValueError when the two do not
    score the same number of instructions."""
    import numpy as np
    from scipy.stats import bootstrap

    _check_pair(before, after)
    diffs = np.asarray(after.correct, dtype=float) - np.asarray(before.correct, dtype=float)
    if len(diffs) < MIN_INSTRUCTIONS:
        return Interval(reason=f"{len(diffs)} instructions; at least {MIN_INSTRUCTIONS} are needed")
    if np.ptp(diffs) == 0:
        return Interval(reason=f"no spread: every instruction changed by {diffs[0]:+.0f}")
    result = bootstrap(
        (diffs,),
        np.mean,
        vectorized=True,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return Interval(float(result.confidence_interval.low), float(result.confidence_interval.high))


def forgetting_table(scores: Mapping[str, tuple[InstructionScores, InstructionScores]]):
    """A table, one row per model (``{name: (before, after)}``, e.g. ``{"LoRA": (b, a)}``): the
    accuracy before and after training, each with its 95% Wilson interval, the change with its
    paired bootstrap interval (or why there is none), and how many instructions were forgotten
    (right before, wrong after) and learned (wrong before, right after). Accuracies are fractions
    in [0, 1]. The caption names the metric and the number of instructions and, for smoke
    results, carries :data:`SMOKE_NOTE`. Raises ValueError for a pair that does not score the
    same instructions."""
    import pandas as pd

    def with_ci(value: float, ci: Interval, signed: bool = False) -> str:
        return f"{value:{'+' if signed else ''}.3f} ({format_interval(ci, signed=signed)})"

    rows, sizes = {}, set()
    for name, (before, after) in scores.items():
        _check_pair(before, after)
        sizes.add(before.n)
        rows[name] = {
            "before": with_ci(before.accuracy, before.interval()),
            "after": with_ci(after.accuracy, after.interval()),
            "change": with_ci(
                after.accuracy - before.accuracy, change_interval(before, after), signed=True
            ),
            "forgotten": sum(b and not a for b, a in zip(before.correct, after.correct)),
            "learned": sum(a and not b for b, a in zip(before.correct, after.correct)),
        }
    smoke = any(s.smoke for pair in scores.values() for s in pair)
    n = " or ".join(str(k) for k in sorted(sizes))
    caption = (
        f"accuracy (95% CI) on {n} instructions outside dialogue summarization, {METRIC}; "
        "CI: Wilson for an accuracy, paired bootstrap for the change"
        + (f"\n{SMOKE_NOTE}" if smoke else "")
    )
    return captioned(pd.DataFrame.from_dict(rows, orient="index"), caption)


def answer_examples(
    instructions: Sequence[Instruction],
    before: InstructionScores,
    after: InstructionScores,
    k: int = 6,
):
    """Up to ``k`` instructions with the expected answer and both models' answers, the forgotten
    ones (right before, wrong after) first, then the others in file order: what a reader should
    look at. Smoke results carry :data:`SMOKE_NOTE` as the caption."""
    import pandas as pd

    _check_pair(before, after)
    if len(instructions) != before.n:
        raise DataError(f"{len(instructions)} instructions for {before.n} answers")
    forgotten = [i for i in range(before.n) if before.correct[i] and not after.correct[i]]
    order = forgotten + [i for i in range(before.n) if i not in forgotten]

    def shown(text: str, right: bool) -> str:
        return ("right: " if right else "wrong: ") + (" ".join(text.split()) or "(empty)")

    table = pd.DataFrame(
        [
            {
                "instruction": " ".join(instructions[i].instruction.split()),
                "accepted": " | ".join(instructions[i].answers),
                "before": shown(before.answers[i], before.correct[i]),
                "after": shown(after.answers[i], after.correct[i]),
            }
            for i in order[:k]
        ],
        index=[instructions[i].id for i in order[:k]],
    )
    arranged = "the forgotten first, then in file order" if forgotten else "in file order"
    caption = (
        f"{len(forgotten)} of {before.n} instructions forgotten (right before, wrong after); "
        f"shown: {min(k, before.n)}, {arranged}"
    )
    return captioned(table, caption + (f"\n{SMOKE_NOTE}" if before.smoke or after.smoke else ""))

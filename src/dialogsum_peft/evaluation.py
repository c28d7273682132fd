"""Score summaries and models: ROUGE of predictions, a model on a split, zero-shot against LoRA
(on a split, or on one dialogue of one's own: :func:`try_dialogue`), and where a model fails (by
length, by topic, its worst dialogues).

Why: the notebooks, the command line and the benchmarks all evaluate the same way (same prompt,
same batching, same ROUGE), so the comparison of zero-shot and LoRA models is apples to apples.
A result keeps every (prediction, reference) pair score, so the ROUGE of any multi-reference
protocol (see :data:`dialogsum_peft.metrics.MULTI_REF_PROTOCOLS`), of any subset of dialogues and
every bootstrap interval is exact without rescoring. How one pair is scored and how a
dialogue's several references are combined is :mod:`dialogsum_peft.metrics`.

The zero-shot model is always :func:`dialogsum_peft.zero_shot.zero_shot_model`: the base model
inside the peft model with the adapter disabled. ``get_peft_model`` injects the LoRA layers
*into the base model object in place*, so after wrapping, the original ``model`` variable runs
with the adapter: comparing against it would compare LoRA with itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .data import build_prompt
from .display import SCORE_DIGITS, captioned, smoke_caption
from .errors import ConfigError, DataError, WrongTypeError
from .generation import summarize, summarize_ids
from .metrics import EvalResult, aggregate, check_protocol, per_example, score_pairs
from .tokenization import encode, warn_input_loss
from .wording import counted
from .zero_shot import zero_shot_model

ZERO_SHOT = "zero-shot"  # the names of the two models the tutorial compares
LORA = "LoRA"


def compute_rouge(
    predictions, references, multi_ref: str = "mean", use_stemmer: bool = True, tokenizer=None
) -> dict[str, float]:
    """Corpus ROUGE-1/2/L/Lsum F-measure under one protocol, fractions in [0, 1].

    ``predictions`` is a list of strings; ``references`` a list of strings (one per prediction)
    or a list of lists of strings (several references per example, combined as ``multi_ref``
    says). A bare string is refused with a ValueError (ROUGE over its characters is the classic
    slip). Scores are for English text unless a ``tokenizer`` is given
    (:func:`~dialogsum_peft.metrics.score_pairs`).
    """
    check_protocol(multi_ref)
    return aggregate(score_pairs(predictions, references, use_stemmer, tokenizer), multi_ref)


def limit_split(dataset, limit: int | None):
    """The first ``limit`` rows of a split (all of them for ``None``); a ``limit`` that is not a
    whole number of at least 1 is a :class:`~dialogsum_peft.errors.ConfigError`."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"the evaluation size is a whole number of at least 1, got {limit!r}")
    return dataset if limit is None or limit >= len(dataset) else dataset.select(range(limit))


def evaluate_model(
    model,
    tokenizer,
    dataset,
    *,
    batch_size: int,
    max_new_tokens: int,
    num_beams: int,
    max_source_length: int,
    progress: bool = True,
    desc: str = "evaluating",
    check_inputs: bool = True,
) -> EvalResult:
    """Summaries of every dialogue in ``dataset`` and their ROUGE against all references, with
    the run's generation settings (``**config.generation_kwargs()``, :func:`summarize`'s).

    The prompts are encoded once (:func:`~dialogsum_peft.tokenization.encode`): the same pass
    gives the token ids the model reads and ``EvalResult.inputs``, what truncation and ``<unk>``
    took; with ``check_inputs`` an :class:`~dialogsum_peft.tokenization.InputLossWarning` says it.
    """
    from .offline import is_smoke_model

    encoded, inputs = encode(
        [build_prompt(d) for d in dataset["dialogue"]], tokenizer, max_source_length
    )
    if check_inputs:
        warn_input_loss(inputs, "dialogues of the split")
    predictions = summarize_ids(
        model,
        tokenizer,
        encoded,
        batch_size=batch_size,
        max_new_tokens=max_new_tokens,
        num_beams=num_beams,
        progress=progress,
        desc=desc,
    )
    return EvalResult(
        predictions,
        score_pairs(predictions, list(dataset["references"])),
        smoke=is_smoke_model(model),
        inputs=inputs,
    )


# ------------------------------------------------------------------ zero-shot against LoRA
def zero_shot_and_lora_summaries(
    peft_model, tokenizer, dialogues: Sequence[str], progress: bool = False, **gen_kwargs
) -> dict[str, list[str]]:
    """Summaries of ``dialogues`` by the base model (:func:`~dialogsum_peft.zero_shot.zero_shot_model`)
    and by the peft model: ``{"zero-shot": [str], "LoRA": [str]}``, in input order."""
    with zero_shot_model(peft_model) as base:
        zero_shot = summarize(
            base, tokenizer, dialogues, progress=progress, desc=ZERO_SHOT, **gen_kwargs
        )
    # the same prompts, the same tokenizer: what they lose was said once, for the zero-shot pass
    lora = summarize(
        peft_model,
        tokenizer,
        dialogues,
        progress=progress,
        desc=LORA,
        check_inputs=False,
        **gen_kwargs,
    )
    return {ZERO_SHOT: zero_shot, LORA: lora}


# ------------------------------------------------------------------ try it: a dialogue of one's own
NOTHING_LOST = "The model reads the whole dialogue."


@dataclass
class TryItResult:
    """One dialogue's summaries, ``{"zero-shot": str, "LoRA": str}``; ``warnings``: what of it
    the model does not see, one sentence each (empty when it reads it all); ``smoke``: written by
    the smoke path's tiny random T5. ``str()`` gives the side-by-side as text."""

    dialogue: str
    summaries: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    smoke: bool = False

    def notes(self) -> str:
        """The input warnings as ``warning:`` lines, or :data:`NOTHING_LOST`."""
        return "\n".join(f"warning: {w}" for w in self.warnings) or NOTHING_LOST

    def __str__(self) -> str:
        from .display import wrap_lines
        from .offline import smoke_banner

        line = "-" * 100
        parts = [smoke_banner()] if self.smoke else []
        parts += [line, "DIALOGUE:", wrap_lines(self.dialogue), line]
        for name, text in self.summaries.items():
            parts += [f"{name.upper()}:", wrap_lines(text or "(empty)"), line]
        parts.append(self.notes())
        return "\n".join(parts)

    def _repr_pretty_(self, printer, cycle):  # a notebook shows it as printed
        printer.text(str(self))


def try_dialogue(
    peft_model, tokenizer, dialogue: str, *, max_source_length: int, **gen_kwargs
) -> TryItResult:
    """The zero-shot and the fine-tuned summary of ``dialogue`` (one string, turns on their own
    lines): :func:`zero_shot_and_lora_summaries`' summaries, from one encoding of its prompt
    (:func:`~dialogsum_peft.tokenization.encode`), whose report of what truncation at
    ``max_source_length`` tokens and ``<unk>`` took is the result's ``warnings`` (not a Python
    warning as well). ``max_source_length`` and ``gen_kwargs``: the run's generation settings,
    ``**config.generation_kwargs()`` (:func:`~dialogsum_peft.generation.summarize_ids` takes the
    others). Raises :class:`~dialogsum_peft.errors.DataError` for a dialogue with nothing visible
    in it, TypeError for one that is not a string."""
    from .inputs import has_visible_text
    from .offline import is_smoke_model

    if not isinstance(dialogue, str):
        raise WrongTypeError(f"a dialogue is a string, got {type(dialogue).__name__}")
    if not has_visible_text(dialogue):
        raise DataError(
            'the dialogue is empty: type or paste one (one turn per line, e.g. "#Person1#: Hello!")'
        )
    encoded, report = encode([build_prompt(dialogue)], tokenizer, max_source_length)
    message = report.message("dialogue")
    with zero_shot_model(peft_model) as base:
        zero_shot = summarize_ids(
            base, tokenizer, encoded, progress=False, desc=ZERO_SHOT, **gen_kwargs
        )
    lora = summarize_ids(peft_model, tokenizer, encoded, progress=False, desc=LORA, **gen_kwargs)
    return TryItResult(
        dialogue,
        {ZERO_SHOT: zero_shot[0], LORA: lora[0]},
        [message] if message else [],
        smoke=is_smoke_model(peft_model),
    )


def evaluate_zero_shot_and_lora(peft_model, tokenizer, dataset, config, progress: bool = True):
    """ROUGE of the base model (:func:`~dialogsum_peft.zero_shot.zero_shot_model`) and of the
    peft model on the same dialogues, with ``config``'s generation settings:
    ``{"zero-shot": EvalResult, "LoRA": EvalResult}``.
    """
    kwargs = config.generation_kwargs()
    with zero_shot_model(peft_model) as base:
        zero_shot = evaluate_model(
            base, tokenizer, dataset, progress=progress, desc=f"{ZERO_SHOT} summaries", **kwargs
        )
    lora = evaluate_model(
        peft_model,
        tokenizer,
        dataset,
        progress=progress,  # said once above
        desc=f"{LORA} summaries",
        check_inputs=False,
        **kwargs,
    )
    return {ZERO_SHOT: zero_shot, LORA: lora}


# ------------------------------------------------------------------ where a model fails
# One corpus score says how much better LoRA is on average, not where. Every number below is a
# corpus score of a subset under the chosen protocol (metrics.aggregate on the subset's pair
# scores), so a bin's score means what the headline table's score means.
def _subset_table(results: Mapping, groups: dict, protocol: str, metric: str, index: str, note=""):
    import pandas as pd

    rows = {}
    for label, indices in groups.items():
        if not indices:
            continue
        row = {"dialogues": len(indices)}
        for name, result in results.items():
            row[name] = round(
                aggregate([result.pair_scores[i] for i in indices], protocol)[metric], SCORE_DIGITS
            )
        rows[label] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = f"{index} ({metric} F-measure, protocol: {protocol})"
    caption = [note, smoke_caption(results.values())]  # the mark from the results
    return captioned(table, "\n".join(filter(None, caption)) or None, digits=SCORE_DIGITS)


def prompt_lengths(results: Mapping) -> tuple[list[int], int]:
    """(each dialogue's prompt length in tokens before truncation, the ``max_source_length`` it
    was cut to), from the results' :class:`~dialogsum_peft.tokenization.InputReport`, which every
    model evaluated on the same dialogues shares. Raises ValueError for results without one, or
    of other dialogues or another ``max_source_length``."""
    reports = [r.inputs for r in results.values()]
    if not reports or any(r is None or r.max_length is None for r in reports):
        raise DataError("results without the measure of their prompts (evaluate_model records it)")
    first = reports[0]
    if any((r.lengths, r.max_length) != (first.lengths, first.max_length) for r in reports):
        raise DataError("the results are of other dialogues or another max_source_length")
    return list(first.lengths), first.max_length


def length_bins(max_source_length: int, parts: int = 4) -> list[tuple[str, int, int | None]]:
    """``(label, lowest, highest)`` of each bin of prompt lengths: ``parts`` equal bins up to
    ``max_source_length`` (0-127, 128-255, 256-383, 384-512 for 512), then the prompts longer than
    it, whose ends are cut (``"> 512 (cut)"``, no highest)."""
    edges = [round(i * max_source_length / parts) for i in range(parts)]
    tops = [e - 1 for e in edges[1:]] + [max_source_length]
    bins = [(f"{low}-{high}", low, high) for low, high in zip(edges, tops)]
    return bins + [(f"> {max_source_length} (cut)", max_source_length + 1, None)]


def rouge_by_length(
    results: Mapping, protocol: str = "mean", metric: str = "rouge1", parts: int = 4
):
    """A DataFrame: one row per bin of prompt lengths in tokens before truncation
    (:func:`length_bins` of the ``max_source_length`` the prompts were cut to, both from
    :func:`prompt_lengths`), its number of dialogues and each model's corpus ``metric`` on them.
    ``results`` maps a model's name to its :class:`~dialogsum_peft.metrics.EvalResult`. Empty bins
    are left out."""
    check_protocol(protocol)
    lengths, limit = prompt_lengths(results)
    bins = length_bins(limit, parts)
    groups: dict[str, list[int]] = {label: [] for label, _, _ in bins}
    for j, length in enumerate(lengths):
        label = next(
            lb for lb, low, high in bins if low <= length and (high is None or length <= high)
        )
        groups[label].append(j)
    return _subset_table(results, groups, protocol, metric, "prompt tokens")


def rouge_by_topic(
    results: Mapping,
    topics: Sequence[str],
    protocol: str = "mean",
    metric: str = "rouge1",
    top: int = 8,
):
    """A DataFrame: the ``top`` most frequent topics (DialogSum's ``topic`` column), their number
    of dialogues and each model's corpus ``metric`` on them, most frequent first (ties by name).
    What it leaves out, the other topics and the dialogues without a topic, its caption counts
    ("the 8 largest of 10 topics (ties by name): 2 dialogues of the other 2 topics not shown")."""
    check_protocol(protocol)
    groups: dict[str, list[int]] = {}
    for j, topic in enumerate(topics):
        if topic:
            groups.setdefault(topic, []).append(j)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    rest, untopiced = ranked[top:], len(topics) - sum(len(v) for v in groups.values())
    notes = []
    if rest:
        hidden = counted(sum(len(v) for _, v in rest), "dialogue")
        notes.append(
            f"the {top} largest of {counted(len(ranked), 'topic')} (ties by name): "
            f"{hidden} of the other {counted(len(rest), 'topic')} not shown"
        )
    if untopiced:
        notes.append(f"{counted(untopiced, 'dialogue')} without a topic not shown")
    return _subset_table(results, dict(ranked[:top]), protocol, metric, "topic", "; ".join(notes))


def largest_losses(
    baseline, tuned, k: int = 3, protocol: str = "mean", metric: str = "rouge1"
) -> list[tuple[int, float]]:
    """The ``k`` dialogues where ``tuned`` scored furthest below ``baseline`` (two EvalResults
    of the same dialogues): ``[(index, tuned - baseline), ...]``, largest loss first; only
    dialogues where it did lose (an empty list when it never did)."""
    check_protocol(protocol)
    before, after = (
        per_example(baseline.pair_scores, protocol),
        per_example(tuned.pair_scores, protocol),
    )
    deltas = [(i, a[metric] - b[metric]) for i, (b, a) in enumerate(zip(before, after))]
    return sorted((d for d in deltas if d[1] < 0), key=lambda d: d[1])[:k]

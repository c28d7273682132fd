"""What an adapter's model card says, section by section (Markdown): the training, how to use
it, the evaluation, intended use and limits; the facts each section is written from.

Why: :mod:`dialogsum_peft.model_card` builds, reads and updates the card as ``huggingface_hub``
objects; the words and tables are here, so each section can be read (and tested) on its own.
The evaluation section sits between :data:`EVAL_START` and :data:`EVAL_END`, so an evaluation
can replace it and leave what the training recorded as it was.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .intervals import N_RESAMPLES, difference_intervals, format_interval, rouge_intervals
from .metrics import MULTI_REF_PROTOCOLS, ROUGE_TYPES, EvalResult
from .settings import TINY_MODEL_NAME

EVAL_START, EVAL_END = "<!-- dialogsum_peft:evaluation -->", "<!-- /dialogsum_peft:evaluation -->"
ROUGE_NAMES = {
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "rougeLsum": "ROUGE-Lsum",
}


@dataclass(frozen=True)
class TrainingFacts:
    """Where and with what an adapter was trained: the device (``DeviceInfo.label``, e.g.
    ``"Tesla T4 (15 GiB, no bf16)"`` or ``"CPU"``), the number of processes, the optimizer steps
    taken (``None``: not known) and the library versions."""

    device: str
    world_size: int = 1
    steps: int | None = None
    versions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def here(cls, world_size: int = 1, steps: int | None = None) -> TrainingFacts:
        """This machine's device (:func:`~dialogsum_peft.hardware.describe_device`) and library
        versions (:func:`~dialogsum_peft.versions.library_versions`, and Python's)."""
        from .hardware import describe_device
        from .versions import library_versions

        versions = {**library_versions(), "python": sys.version.split()[0]}
        return cls(describe_device().label, world_size, steps, versions)


@dataclass(frozen=True)
class CardEvaluation:
    """The results a card reports: the adapter's and, when it was scored, the zero-shot base's
    (the same dialogues), the split's name and how the summaries were generated."""

    tuned: EvalResult
    zero_shot: EvalResult | None = None
    split: str = "test"
    backend: str = "transformers"


def hub_id(name: str | None) -> str | None:
    """``name`` when it is a Hub repository id (``google/flan-t5-base``), ``None`` for a local
    folder, the smoke model or anything else: card metadata may only name Hub repositories."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not name or name == TINY_MODEL_NAME or Path(name).expanduser().exists() or "/" not in name:
        return None
    try:
        validate_repo_id(name)
    except HFValidationError:
        return None
    return name


def dataset_names(config) -> tuple[str, str]:
    """(dataset id for the metadata, its name for a reader:
    :func:`~dialogsum_peft.offline.describe_data`, as in plot titles and the smoke banner)."""
    from .offline import describe_data

    source = config.dataset_source
    return hub_id(source) or Path(source).name, describe_data(source)


def _row(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def evaluation_section(evaluation: CardEvaluation | None, config) -> str:
    """The card's "Evaluation" section between :data:`EVAL_START` and :data:`EVAL_END`."""
    from .display import SMOKE_NOTE
    from .wins import describe_wins, win_shares
    from .wording import counted

    lines = [EVAL_START, "## Evaluation", ""]
    if evaluation is None:
        lines += [
            "Not evaluated yet: `python -m dialogsum_peft evaluate --adapter <this folder>` "
            "(or the tutorial notebook) writes the results here.",
            EVAL_END,
        ]
        return "\n".join(lines)
    tuned, base = evaluation.tuned, evaluation.zero_shot
    n, refs = len(tuned.pair_scores), sum(len(p) for p in tuned.pair_scores)
    decoding = "greedy" if config.num_beams == 1 else f"beam search ({config.num_beams} beams)"
    if tuned.smoke or (base and base.smoke):
        lines += [f"**{SMOKE_NOTE}**", ""]
    lines += [
        f"{counted(n, 'dialogue')} of the {evaluation.split} split of {dataset_names(config)[1]}, each "
        f"summary scored against all its human references ({counted(refs, 'reference')}) with "
        "Google's `rouge_score` (F-measure, Porter stemmer; fractions in [0, 1]). Summaries: "
        f"{decoding}, at most {config.max_new_tokens} new tokens, prompts cut at "
        f"{config.max_source_length} tokens, {evaluation.backend} backend. The **protocol** says "
        "how a dialogue's references are combined: `mean` averages every (summary, reference) "
        "pair (the Hub's test split scored row by row), `best` keeps the best-matching reference, "
        "`first` the first one (the DialogSum paper); compare published figures only under the "
        f"same protocol. In brackets: 95% bootstrap intervals over the dialogues ({N_RESAMPLES:,} "
        "resamples"
        + (
            "; paired for the difference, and the zero-shot row is the base model with "
            "the adapter switched off)."
            if base
            else ")."
        ),
        "",
        _row(["protocol", "model", *(ROUGE_NAMES[k] for k in ROUGE_TYPES)]),
        _row(["---"] * (2 + len(ROUGE_TYPES))),
    ]
    reasons: dict[str, None] = {}  # why an interval is missing, said once under the table

    def cell(value: float, ci, signed: bool = False) -> str:
        if not ci.estimable:
            reasons[ci.reason] = None
            return f"{value:{'+' if signed else ''}.4f} (not estimable)"
        return f"{value:{'+' if signed else ''}.4f} ({format_interval(ci, signed)})"

    for protocol in MULTI_REF_PROTOCOLS:
        rows = [("zero-shot (base model)", base)] if base else []
        for name, result in rows + [("this adapter", tuned)]:
            scores, cis = (
                result.by_protocol[protocol],
                rouge_intervals(result.pair_scores, protocol),
            )
            lines.append(_row([protocol, name, *(cell(scores[k], cis[k]) for k in ROUGE_TYPES)]))
        if base:
            diff = difference_intervals(base.pair_scores, tuned.pair_scores, protocol)
            lines.append(
                _row(
                    [
                        protocol,
                        "difference",
                        *(
                            cell(diff[k]["difference"], diff[k]["ci95"], signed=True)
                            for k in ROUGE_TYPES
                        ),
                    ]
                )
            )
    if reasons:
        lines += ["", "Intervals not estimable: " + "; ".join(reasons) + "."]
    if base:
        shares = win_shares(base, tuned, "mean", "rouge1")
        lines += [
            "",
            "Per dialogue, with 95% Wilson intervals (how many test dialogues the "
            "adapter improves, beside the average gain above): "
            + describe_wins(shares, "this adapter", "zero-shot"),
        ]
    lines.append(EVAL_END)
    return "\n".join(lines)


def training_section(config, training: TrainingFacts | None, method_words: str) -> str:
    from .wording import counted

    rows = [
        ("base model", config.model_name),
        ("data", f"{dataset_names(config)[1]}, train split"),
        ("PEFT method", method_words),
    ]
    if training is None:
        rows.append(
            (
                "training",
                "not recorded: this folder had no card written by the "
                "training (the method's settings above are read from "
                "adapter_config.json)",
            )
        )
    else:
        length = (
            f"{config.max_steps} optimizer steps"
            if config.max_steps > 0
            else f"{config.num_train_epochs:g} epochs"
        )
        processes = f"{training.world_size} x " if training.world_size > 1 else ""
        rows += [
            ("recipe", f"{config.recipe}: {length} x effective batch {config.effective_batch}"),
            (
                "learning rate",
                f"{config.learning_rate:g}, {config.lr_scheduler_type} schedule, "
                f"warm-up {config.warmup_steps:g}",
            ),
            ("optimizer", f"{config.optim}, weight decay {config.weight_decay:g}"),
            ("precision", config.precision),
            (
                "tokens",
                f"prompt at most {config.max_source_length}, summary at most "
                f"{config.max_target_length}",
            ),
            ("seed", config.seed),
            (
                "trained on",
                f"{processes}{training.device}"
                + (f", {counted(training.steps, 'optimizer step')}" if training.steps else ""),
            ),
            ("library versions", ", ".join(f"{k} {v}" for k, v in training.versions.items())),
        ]
    return "\n".join(
        ["## Training", "", _row(["", ""]), _row(["---", "---"]), *(_row([k, v]) for k, v in rows)]
    )


def use_section(config, base: str, smoke: bool = False) -> str:
    """The card's "How to use": loading the adapter on ``base`` and summarizing with the run's
    own prompt and generation settings (``config``'s ``max_source_length``, ``max_new_tokens``,
    ``num_beams``; greedy or beam search, no sampling, as :func:`~dialogsum_peft.generation.
    decoding_config`). With ``smoke``, the base is the smoke path's tiny random T5, which no
    ``from_pretrained`` finds by name: the snippet builds it with
    :func:`~dialogsum_peft.offline.tiny_base_dir`, and says so."""
    from .data import PROMPT_TEMPLATE

    if smoke:
        intro = [
            "This toy adapter sits on the smoke path's tiny random T5, which is not on the Hub: "
            "`dialogsum_peft.offline.tiny_base_dir()` builds it (from the package's shipped "
            "sample; the same files wherever the library versions are the same). The snippet "
            "shows the mechanics only: the summaries are gibberish.",
        ]
        load = [
            "from dialogsum_peft.offline import tiny_base_dir  # the smoke path's tiny T5",
            "",
            "base = AutoModelForSeq2SeqLM.from_pretrained(tiny_base_dir())",
        ]
    else:
        intro = [
            "The adapter was trained and evaluated with one prompt: give it the same one. The "
            "generation settings are the run's own.",
        ]
        load = [f"base = AutoModelForSeq2SeqLM.from_pretrained({base!r})"]
    return "\n".join(
        [
            "## How to use",
            "",
            *intro,
            "",
            "```python",
            "from peft import PeftModel",
            "from transformers import AutoModelForSeq2SeqLM, AutoTokenizer",
            *load,
            "",
            'adapter = "path/or/hub-id/of/this/adapter"',
            "model = PeftModel.from_pretrained(base, adapter)",
            "tokenizer = AutoTokenizer.from_pretrained(adapter)",
            f"prompt = {json.dumps(PROMPT_TEMPLATE)}.format(dialogue=dialogue)",
            'inputs = tokenizer(prompt, return_tensors="pt", truncation=True, '
            f"max_length={config.max_source_length})",
            f"output = model.generate(**inputs, max_new_tokens={config.max_new_tokens}, "
            f"num_beams={config.num_beams}, do_sample=False)",
            "summary = tokenizer.decode(output[0], skip_special_tokens=True)",
            "```",
        ]
    )


LIMITS = """## Intended use and limits

* For summarizing English everyday dialogues written like DialogSum's (`#Person1#: ...`, one turn
  per line), e.g. to learn and compare fine-tuning methods. Not tested on other languages,
  meetings, chats with many speakers or long documents.
* A summary can leave out or invent facts (names, numbers, who did what): check it against the
  dialogue before relying on it. ROUGE measures word overlap with human summaries, not
  correctness.
* Prompts longer than the token limit above are cut: the model never reads their end.
* DialogSum is licensed CC BY-NC-SA 4.0 (non-commercial): check whether its terms apply to your
  use of a model trained on it."""

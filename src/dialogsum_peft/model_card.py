"""The model card of an adapter folder (its ``README.md``), written with ``huggingface_hub``'s
``ModelCard`` and ``ModelCardData``: what the adapter is, how it was trained, what it scores.

Why: an adapter folder is what people keep and share, and the card is what a reader of the Hub
page sees first. ``save_pretrained`` leaves peft's empty template there. This card says the base
model, the data, the PEFT method and its settings (read back from ``adapter_config.json``), the
recipe, the device and library versions of the training, the ROUGE results under their protocol
with 95% intervals beside the zero-shot row, and what the adapter is for and not for. The
results go into the card's metadata too (``model-index``, through ``huggingface_hub``'s
``EvalResult``), each named with its protocol. A smoke-mode card says in its first line that the
model is an untrained toy.

``train`` writes the card (no results yet); ``evaluate`` and the notebook's evaluation replace
its results (:func:`with_evaluation`), keeping what the training recorded: the device a card
names is the one the adapter was trained on, not the one it was evaluated on.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .intervals import N_RESAMPLES, difference_intervals, format_interval, rouge_intervals
from .metrics import MULTI_REF_PROTOCOLS, ROUGE_TYPES, EvalResult
from .settings import HUB_DATASET, TINY_MODEL_NAME

CARD = "README.md"
TAG = "dialogsum-peft"  # every card this module writes carries it (peft's template does not)
SMOKE_TAG = "smoke-test"
SMOKE_LINE = ("**SMOKE TEST: an untrained toy model.** A tiny randomly initialised T5 trained for "
              "a few steps on a small sample, to check that the pipeline runs: its summaries are "
              "gibberish and every number on this card is meaningless. Do not use it.")
EVAL_START, EVAL_END = "<!-- dialogsum_peft:evaluation -->", "<!-- /dialogsum_peft:evaluation -->"
ROUGE_NAMES = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L",
               "rougeLsum": "ROUGE-Lsum"}
METHOD_TAGS = {"LORA": "lora", "IA3": "ia3", "PROMPT_TUNING": "prompt-tuning"}


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


def is_smoke_card(card) -> bool:
    """Whether a card (``ModelCard``) is a smoke-mode card: tagged :data:`SMOKE_TAG`."""
    return SMOKE_TAG in (card.data.tags or [])


def _load(adapter_dir):
    """The folder's README.md as a ``ModelCard``, ``None`` without one; AdapterError when it
    cannot be read as a card (its YAML header is broken)."""
    from huggingface_hub import ModelCard

    from .errors import AdapterError, one_line

    path = Path(adapter_dir) / CARD
    if not path.is_file():
        return None
    import yaml

    try:
        return ModelCard.load(path)
    except (ValueError, OSError, yaml.YAMLError) as err:
        raise AdapterError(f"{path} cannot be read as a model card ({one_line(err)[:120]}): "
                           "fix or move it; it is not replaced") from None


def read_card(adapter_dir) -> object | None:
    """The folder's card (``ModelCard.load``) when this module wrote it (tagged :data:`TAG`),
    ``None`` when there is none or it is another one (peft's template)."""
    card = _load(adapter_dir)
    return card if card is not None and TAG in (card.data.tags or []) else None


def check_replaceable(adapter_dir) -> None:
    """Refuse (AdapterError) to replace a README.md that someone wrote: only a card of ours or
    the empty template ``save_pretrained`` leaves (``# Model Card for Model ID``) is replaced."""
    from .errors import AdapterError

    card = _load(adapter_dir)
    if card is None or TAG in (card.data.tags or []) or "# Model Card for Model ID" in card.text:
        return
    raise AdapterError(f"{Path(adapter_dir) / CARD} is a model card someone wrote, not the "
                       "template save_pretrained leaves: it is not replaced; move it away to "
                       "have the card written")


def _peft_settings(adapter_dir) -> tuple[str, str, str]:
    """(peft type, method tag, its settings in words) from the folder's adapter_config.json."""
    from peft import PeftConfig

    cfg = PeftConfig.from_pretrained(str(adapter_dir))
    peft_type = str(getattr(cfg.peft_type, "value", cfg.peft_type))

    def names(modules) -> str:
        return modules if isinstance(modules, str) else ", ".join(sorted(modules or ()))

    if peft_type == "LORA":
        words = (f"LoRA (peft `LoraConfig`): r={cfg.r}, lora_alpha={cfg.lora_alpha}, "
                 f"lora_dropout={cfg.lora_dropout}, target_modules: {names(cfg.target_modules)}")
    elif peft_type == "IA3":
        words = (f"IA3 (peft `IA3Config`): target_modules: {names(cfg.target_modules)}; "
                 f"feedforward_modules: {names(cfg.feedforward_modules)}")
    elif peft_type == "PROMPT_TUNING":
        words = (f"prompt tuning (peft `PromptTuningConfig`): {cfg.num_virtual_tokens} virtual "
                 f"tokens, initialised from the text {cfg.prompt_tuning_init_text!r}")
    else:
        words = f"{peft_type} (peft `{type(cfg).__name__}`)"
    return peft_type, METHOD_TAGS.get(peft_type, peft_type.lower()), words


def model_name(config, method_tag: str, smoke: bool) -> str:
    """The card's model name (and the default Hub repository name): ``flan-t5-base-dialogsum-
    lora``, ``tiny-random-t5-smoke-test-lora`` for a smoke run."""
    base = Path(config.model_name.rstrip("/")).name
    if smoke:
        return f"{TINY_MODEL_NAME}-{SMOKE_TAG}-{method_tag}"
    data = "dialogsum" if config.dataset_source == HUB_DATASET else Path(
        config.dataset_source.rstrip("/")).name
    return f"{base}-{data}-{method_tag}"


def _dataset(config) -> tuple[str, str]:
    """(dataset id for the metadata, its name for a reader)."""
    from .offline import describe_data

    source = config.dataset_source
    if source == HUB_DATASET:
        return HUB_DATASET, "DialogSum"
    return hub_id(source) or Path(source).name, describe_data(source)


def eval_results(evaluation: CardEvaluation, config) -> list:
    """The adapter's corpus ROUGE under every protocol as ``huggingface_hub.EvalResult`` objects
    (``model-index``): metric type ``rouge``, the protocol in the metric's name and in its
    ``metric_args`` (``multi_ref``), values as fractions rounded to 4 digits."""
    from huggingface_hub import EvalResult as HubEvalResult

    dataset_type, dataset_name = _dataset(config)
    return [HubEvalResult(task_type="summarization", task_name="Summarization",
                          dataset_type=dataset_type, dataset_name=dataset_name,
                          dataset_split=evaluation.split, metric_type="rouge",
                          metric_name=f"{ROUGE_NAMES[k]} (protocol: {protocol})",
                          metric_config=k, metric_value=round(scores[k], 4),
                          metric_args={"multi_ref": protocol, "use_stemmer": True})
            for protocol, scores in evaluation.tuned.by_protocol.items() for k in ROUGE_TYPES]


def _row(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def evaluation_section(evaluation: CardEvaluation | None, config) -> str:
    """The card's "Evaluation" section between :data:`EVAL_START` and :data:`EVAL_END`."""
    from .display import SMOKE_NOTE, counted
    from .wins import describe_wins, win_shares

    lines = [EVAL_START, "## Evaluation", ""]
    if evaluation is None:
        lines += ["Not evaluated yet: `python -m dialogsum_peft evaluate --adapter <this folder>` "
                  "(or the tutorial notebook) writes the results here.", EVAL_END]
        return "\n".join(lines)
    tuned, base = evaluation.tuned, evaluation.zero_shot
    n, refs = len(tuned.pair_scores), sum(len(p) for p in tuned.pair_scores)
    decoding = "greedy" if config.num_beams == 1 else f"beam search ({config.num_beams} beams)"
    if tuned.smoke or (base and base.smoke):
        lines += [f"**{SMOKE_NOTE}**", ""]
    lines += [
        f"{counted(n, 'dialogue')} of the {evaluation.split} split of {_dataset(config)[1]}, each "
        f"summary scored against all its human references ({counted(refs, 'reference')}) with "
        "Google's `rouge_score` (F-measure, Porter stemmer; fractions in [0, 1]). Summaries: "
        f"{decoding}, at most {config.max_new_tokens} new tokens, prompts cut at "
        f"{config.max_source_length} tokens, {evaluation.backend} backend. The **protocol** says "
        "how a dialogue's references are combined: `mean` averages every (summary, reference) "
        "pair (the Hub's test split scored row by row), `best` keeps the best-matching reference, "
        "`first` the first one (the DialogSum paper); compare published figures only under the "
        f"same protocol. In brackets: 95% bootstrap intervals over the dialogues ({N_RESAMPLES:,} "
        "resamples" + ("; paired for the difference, and the zero-shot row is the base model with "
                       "the adapter switched off)." if base else ")."), "",
        _row(["protocol", "model", *(ROUGE_NAMES[k] for k in ROUGE_TYPES)]),
        _row(["---"] * (2 + len(ROUGE_TYPES)))]
    reasons: dict[str, None] = {}  # why an interval is missing, said once under the table

    def cell(value: float, ci, signed: bool = False) -> str:
        if not ci.estimable:
            reasons[ci.reason] = None
            return f"{value:{'+' if signed else ''}.4f} (not estimable)"
        return f"{value:{'+' if signed else ''}.4f} ({format_interval(ci, signed)})"

    for protocol in MULTI_REF_PROTOCOLS:
        rows = [("zero-shot (base model)", base)] if base else []
        for name, result in rows + [("this adapter", tuned)]:
            scores, cis = result.by_protocol[protocol], rouge_intervals(result.pair_scores, protocol)
            lines.append(_row([protocol, name, *(cell(scores[k], cis[k]) for k in ROUGE_TYPES)]))
        if base:
            diff = difference_intervals(base.pair_scores, tuned.pair_scores, protocol)
            lines.append(_row([protocol, "difference", *(
                cell(diff[k]["difference"], diff[k]["ci95"], signed=True) for k in ROUGE_TYPES)]))
    if reasons:
        lines += ["", "Intervals not estimable: " + "; ".join(reasons) + "."]
    if base:
        shares = win_shares(base, tuned, "mean", "rouge1")
        lines += ["", "Per dialogue, with 95% Wilson intervals (how many test dialogues the "
                  "adapter improves, beside the average gain above): "
                  + describe_wins(shares, "this adapter", "zero-shot")]
    lines.append(EVAL_END)
    return "\n".join(lines)


def _training_section(config, training: TrainingFacts | None, method_words: str) -> str:
    from .display import counted

    rows = [("base model", config.model_name),
            ("data", f"{_dataset(config)[1]}, train split"),
            ("PEFT method", method_words)]
    if training is None:
        rows.append(("training", "not recorded: this folder had no card written by the "
                                 "training (the method's settings above are read from "
                                 "adapter_config.json)"))
    else:
        length = (f"{config.max_steps} optimizer steps" if config.max_steps > 0
                  else f"{config.num_train_epochs:g} epochs")
        processes = f"{training.world_size} x " if training.world_size > 1 else ""
        rows += [
            ("recipe", f"{config.recipe}: {length} x effective batch {config.effective_batch}"),
            ("learning rate", f"{config.learning_rate:g}, {config.lr_scheduler_type} schedule, "
                              f"warm-up {config.warmup_steps:g}"),
            ("optimizer", f"{config.optim}, weight decay {config.weight_decay:g}"),
            ("precision", config.precision),
            ("tokens", f"prompt at most {config.max_source_length}, summary at most "
                       f"{config.max_target_length}"),
            ("seed", config.seed),
            ("trained on", f"{processes}{training.device}" + (
                f", {counted(training.steps, 'optimizer step')}" if training.steps else "")),
            ("library versions", ", ".join(f"{k} {v}" for k, v in training.versions.items()))]
    return "\n".join(["## Training", "", _row(["", ""]), _row(["---", "---"]),
                      *(_row([k, v]) for k, v in rows)])


def _use_section(base: str) -> str:
    from .data import PROMPT_TEMPLATE

    return "\n".join([
        "## How to use", "",
        "The adapter was trained and evaluated with one prompt: give it the same one.", "",
        "```python", "from peft import PeftModel",
        "from transformers import AutoModelForSeq2SeqLM, AutoTokenizer", "",
        'adapter = "path/or/hub-id/of/this/adapter"',
        f"model = PeftModel.from_pretrained(AutoModelForSeq2SeqLM.from_pretrained({base!r}), adapter)",
        "tokenizer = AutoTokenizer.from_pretrained(adapter)",
        f"prompt = {json.dumps(PROMPT_TEMPLATE)}.format(dialogue=dialogue)",
        'inputs = tokenizer(prompt, return_tensors="pt", truncation=True, max_length=512)',
        "summary = tokenizer.decode(model.generate(**inputs, max_new_tokens=128)[0],",
        "                           skip_special_tokens=True)", "```"])


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


def build_card(adapter_dir, config, training: TrainingFacts | None = None,
               evaluation: CardEvaluation | None = None):
    """A ``huggingface_hub.ModelCard`` for the adapter in ``adapter_dir`` (its
    ``adapter_config.json`` is read), trained with ``config`` (a
    :class:`~dialogsum_peft.config.TrainConfig`) where ``training`` says, with ``evaluation``'s
    results (``None``: "not evaluated yet"). Smoke mode (the config's or the results' tiny T5):
    :data:`SMOKE_LINE` first, tagged :data:`SMOKE_TAG`. Raises ``ValueError`` (peft's) when
    the folder holds no adapter_config.json."""
    from huggingface_hub import ModelCard, ModelCardData

    peft_type, method_tag, method_words = _peft_settings(adapter_dir)
    results = [] if evaluation is None else [evaluation.tuned, evaluation.zero_shot]
    smoke = config.is_smoke or any(r is not None and r.smoke for r in results)
    name = model_name(config, method_tag, smoke)
    base, dataset = hub_id(config.model_name), _dataset(config)[0]
    data = ModelCardData(
        language="en", library_name="peft", pipeline_tag="summarization", model_name=name,
        base_model=base, datasets=[dataset] if hub_id(dataset) else None,
        tags=["peft", method_tag, "summarization", "dialogsum", TAG] + ([SMOKE_TAG] if smoke else []),
        metrics=["rouge"] if evaluation else None,
        eval_results=eval_results(evaluation, config) if evaluation else None)
    what = (f"A {method_words.split(' (')[0]} adapter for `{config.model_name}` that summarizes "
            f"dialogues, trained on {_dataset(config)[1]} with the `dialogsum_peft` tutorial "
            "package (Hugging Face `transformers` and `peft`).")
    body = [SMOKE_LINE, ""] if smoke else []
    body += [f"# {name}", "", what, "", _use_section(base or config.model_name), "",
             _training_section(config, training, method_words), "",
             evaluation_section(evaluation, config), "", LIMITS, ""]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n" + "\n".join(body))


def with_evaluation(card, config, evaluation: CardEvaluation):
    """``card`` (one :func:`read_card` returned) with its results replaced by ``evaluation``'s:
    the metadata's ``model-index`` and the "Evaluation" section; what the training recorded
    stays as it was."""
    from huggingface_hub import ModelCard

    card = ModelCard(str(card))  # a copy
    card.data.eval_results = eval_results(evaluation, config)
    card.data.metrics = ["rouge"]
    pattern = re.compile(re.escape(EVAL_START) + r".*?" + re.escape(EVAL_END), re.S)
    section = evaluation_section(evaluation, config)
    card.text = pattern.sub(lambda _: section, card.text, count=1)
    return card

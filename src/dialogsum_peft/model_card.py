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

import re
from pathlib import Path

from .card_sections import (
    EVAL_END,
    EVAL_START,
    LIMITS,
    ROUGE_NAMES,
    CardEvaluation,
    TrainingFacts,
    dataset_names,
    evaluation_section,
    hub_id,
    training_section,
    use_section,
)
from .metrics import ROUGE_TYPES
from .settings import HUB_DATASET, TINY_MODEL_NAME

CARD = "README.md"
TAG = "dialogsum-peft"  # every card this module writes carries it (peft's template does not)
SMOKE_TAG = "smoke-test"
SMOKE_LINE = (
    "**SMOKE TEST: an untrained toy model.** A tiny randomly initialised T5 trained for "
    "a few steps on a small sample, to check that the pipeline runs: its summaries are "
    "gibberish and every number on this card is meaningless. Do not use it."
)
METHOD_TAGS = {"LORA": "lora", "IA3": "ia3", "PROMPT_TUNING": "prompt-tuning"}


def is_smoke_card(card) -> bool:
    """Whether a card (``ModelCard``) is a smoke-mode card: tagged :data:`SMOKE_TAG`."""
    return SMOKE_TAG in (card.data.tags or [])


def _load(adapter_dir):
    """The folder's README.md as a ``ModelCard``, ``None`` without one; AdapterError when it
    cannot be read as a card (its YAML header is broken)."""
    import yaml
    from huggingface_hub import ModelCard

    from .errors import AdapterError, one_line

    path = Path(adapter_dir) / CARD
    if not path.is_file():
        return None
    try:
        return ModelCard.load(path)
    except (ValueError, OSError, yaml.YAMLError) as err:
        raise AdapterError(
            f"{path} cannot be read as a model card ({one_line(err)[:120]}): "
            "fix or move it; it is not replaced"
        ) from None


def read_card(adapter_dir) -> object | None:
    """The folder's card (``ModelCard.load``) when this module wrote it (tagged :data:`TAG`),
    ``None`` when there is none or it is another one (peft's template)."""
    card = _load(adapter_dir)
    return card if card is not None and TAG in (card.data.tags or []) else None


def check_replaceable(adapter_dir) -> None:
    """Refuse (AdapterError) to replace a README.md that someone wrote: only a card of ours or
    the empty template ``save_pretrained`` leaves (``# Model Card for Model ID``) is replaced.
    A card of ours that peft's ``save_pretrained`` has since rewritten (its own tags and
    ``base_model``, a "Framework versions" section: the notebook's second run saves the adapter
    over its first card) is still ours: its body holds our evaluation section."""
    from .card_sections import EVAL_START
    from .errors import AdapterError

    card = _load(adapter_dir)
    if (
        card is None
        or TAG in (card.data.tags or [])
        or EVAL_START in card.text
        or "# Model Card for Model ID" in card.text
    ):
        return
    raise AdapterError(
        f"{Path(adapter_dir) / CARD} is a model card someone wrote, not the "
        "template save_pretrained leaves: it is not replaced; move it away to "
        "have the card written"
    )


def _peft_settings(adapter_dir) -> tuple[str, str, str]:
    """(peft type, method tag, its settings in words) from the folder's adapter_config.json."""
    from peft import PeftConfig

    cfg = PeftConfig.from_pretrained(str(adapter_dir))
    peft_type = str(getattr(cfg.peft_type, "value", cfg.peft_type))

    def names(modules) -> str:
        return modules if isinstance(modules, str) else ", ".join(sorted(modules or ()))

    if peft_type == "LORA":
        words = (
            f"LoRA (peft `LoraConfig`): r={cfg.r}, lora_alpha={cfg.lora_alpha}, "
            f"lora_dropout={cfg.lora_dropout}, target_modules: {names(cfg.target_modules)}"
        )
    elif peft_type == "IA3":
        words = (
            f"IA3 (peft `IA3Config`): target_modules: {names(cfg.target_modules)}; "
            f"feedforward_modules: {names(cfg.feedforward_modules)}"
        )
    elif peft_type == "PROMPT_TUNING":
        words = (
            f"prompt tuning (peft `PromptTuningConfig`): {cfg.num_virtual_tokens} virtual "
            f"tokens, initialised from the text {cfg.prompt_tuning_init_text!r}"
        )
    else:
        words = f"{peft_type} (peft `{type(cfg).__name__}`)"
    return peft_type, METHOD_TAGS.get(peft_type, peft_type.lower()), words


def model_name(config, method_tag: str, smoke: bool) -> str:
    """The card's model name (and the default Hub repository name): ``flan-t5-base-dialogsum-
    lora``, ``tiny-random-t5-smoke-test-lora`` for a smoke run."""
    base = Path(config.model_name.rstrip("/")).name
    if smoke:
        return f"{TINY_MODEL_NAME}-{SMOKE_TAG}-{method_tag}"
    data = (
        "dialogsum"
        if config.dataset_source == HUB_DATASET
        else Path(config.dataset_source.rstrip("/")).name
    )
    return f"{base}-{data}-{method_tag}"


def eval_results(evaluation: CardEvaluation, config) -> list:
    """The adapter's corpus ROUGE under every protocol as ``huggingface_hub.EvalResult`` objects
    (``model-index``): metric type ``rouge``, the protocol in the metric's name and in its
    ``metric_args`` (``multi_ref``), values as fractions rounded to 4 digits."""
    from huggingface_hub import EvalResult as HubEvalResult

    dataset_type, dataset_name = dataset_names(config)
    return [
        HubEvalResult(
            task_type="summarization",
            task_name="Summarization",
            dataset_type=dataset_type,
            dataset_name=dataset_name,
            dataset_split=evaluation.split,
            metric_type="rouge",
            metric_name=f"{ROUGE_NAMES[k]} (protocol: {protocol})",
            metric_config=k,
            metric_value=round(scores[k], 4),
            metric_args={"multi_ref": protocol, "use_stemmer": True},
        )
        for protocol, scores in evaluation.tuned.by_protocol.items()
        for k in ROUGE_TYPES
    ]


def build_card(
    adapter_dir,
    config,
    training: TrainingFacts | None = None,
    evaluation: CardEvaluation | None = None,
):
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
    base, dataset = hub_id(config.model_name), dataset_names(config)[0]
    data = ModelCardData(
        language="en",
        library_name="peft",
        pipeline_tag="summarization",
        model_name=name,
        base_model=base,
        datasets=[dataset] if hub_id(dataset) else None,
        tags=["peft", method_tag, "summarization"]
        + (["dialogsum"] if config.dataset_source == HUB_DATASET else [])  # the data it names
        + [TAG]
        + ([SMOKE_TAG] if smoke else []),
        metrics=["rouge"] if evaluation else None,
        eval_results=eval_results(evaluation, config) if evaluation else None,
    )
    what = (
        f"A {method_words.split(' (')[0]} adapter for `{config.model_name}` that summarizes "
        f"dialogues, trained on {dataset_names(config)[1]} with the `dialogsum_peft` tutorial "
        "package (Hugging Face `transformers` and `peft`)."
    )
    body = [SMOKE_LINE, ""] if smoke else []
    body += [
        f"# {name}",
        "",
        what,
        "",
        use_section(config, base or config.model_name, smoke),
        "",
        training_section(config, training, method_words),
        "",
        evaluation_section(evaluation, config),
        "",
        LIMITS,
        "",
    ]
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
    if pattern.search(card.text):
        card.text = pattern.sub(lambda _: section, card.text, count=1)
    else:  # its section was edited away: the results go at the end
        card.text = card.text.rstrip("\n") + "\n\n" + section + "\n"
    return card

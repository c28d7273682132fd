"""Which weights a run trains: LoRA, LoRA on every linear layer, IA3, prompt tuning, or all of them.

Why: "why LoRA, and with which settings?" is the question a LoRA tutorial leaves open. Each
method here is one peft config object (or none, for full fine-tuning) built from the same
:class:`~dialogsum_peft.config.TrainConfig`, trained by the same Trainer on the same data, so the
comparison notebook and the command line measure them the same way.

Each method's learning rate and settings, and why, are in :mod:`dialogsum_peft.settings`.
"""

from __future__ import annotations

from .settings import METHOD_SETTINGS, METHODS, T5_LINEAR_LAYERS  # noqa: F401 - read here

PEFT_TYPE_TO_METHOD = {"LORA": "lora", "IA3": "ia3", "PROMPT_TUNING": "prompt-tuning"}


def is_peft(method: str) -> bool:
    """peft methods save an adapter folder; full fine-tuning saves a whole model."""
    return method != "full"


def peft_config(config, model_path: str | None = None):
    """The peft config object of ``config.method`` (``None`` for full fine-tuning).

    ``model_path`` is where the tokenizer lives (prompt tuning initialises its virtual tokens
    from the embeddings of ``config.prompt_init_text``).
    """
    from peft import IA3Config, PromptTuningConfig, PromptTuningInit, TaskType

    from .modeling import lora_config

    if config.method in ("lora", "lora-all"):
        return lora_config(config)
    if config.method == "ia3":
        # peft's T5 defaults: rescale the attention keys and values and the feed-forward output
        return IA3Config(
            task_type=TaskType.SEQ_2_SEQ_LM,
            target_modules=["k", "v", "wo"],
            feedforward_modules=["wo"],
        )
    if config.method == "prompt-tuning":
        return PromptTuningConfig(
            task_type=TaskType.SEQ_2_SEQ_LM,
            num_virtual_tokens=config.num_virtual_tokens,
            prompt_tuning_init=PromptTuningInit.TEXT,
            prompt_tuning_init_text=config.prompt_init_text,
            tokenizer_name_or_path=model_path or config.model_name,
        )
    return None


def apply_method(model, config, model_path: str | None = None):
    """``model`` ready to train with ``config.method``: a PeftModel, or the model itself (full).

    The peft initialisation is seeded with ``config.seed`` (two runs with one config train the
    same adapter; a resumed run can be compared with an uninterrupted one). Raises
    :class:`~dialogsum_peft.versions.BrokenVersionsError` for a peft that cannot wrap a seq2seq
    model under the installed transformers (:data:`~dialogsum_peft.versions.BREAKAGES`).
    """
    from peft import get_peft_model
    from transformers import set_seed

    from .errors import ConfigError, one_line, quiet_library_notes
    from .versions import require_working

    set_seed(config.seed)
    if not is_peft(config.method):
        model.requires_grad_(True)
        return model
    require_working("peft-seq2seq-generate")
    try:
        with quiet_library_notes():
            return get_peft_model(model, peft_config(config, model_path))
    except (ValueError, OSError) as err:
        raise ConfigError(
            f"cannot add {config.method} to {type(model).__name__}: {one_line(err)[:300]}"
        ) from None


def saved_method(path) -> str | None:
    """The method a folder written by ``train`` holds: a peft adapter's type, or "full"."""
    import json
    from pathlib import Path

    path = Path(path)
    if (path / "adapter_config.json").is_file():
        peft_type = json.loads((path / "adapter_config.json").read_text(encoding="utf-8")).get(
            "peft_type"
        )
        return PEFT_TYPE_TO_METHOD.get(str(peft_type), str(peft_type).lower())
    if (path / "config.json").is_file() and any(path.glob("*.safetensors")):
        return "full"
    return None


def describe(method_config) -> str:
    """What a method trains, in words, from its peft config object (``None``: full fine-tuning)."""
    from peft import IA3Config, LoraConfig, PromptTuningConfig

    def names(modules) -> str:
        return ", ".join(sorted(modules)) if not isinstance(modules, str) else modules

    if method_config is None:
        return "every weight (full fine-tuning)"
    if isinstance(method_config, LoraConfig):
        return (
            f"LoRA r={method_config.r}, alpha={method_config.lora_alpha} on "
            f"{names(method_config.target_modules)}"
        )
    if isinstance(method_config, IA3Config):
        return f"IA3 scaling vectors on {names(method_config.target_modules)}"
    if isinstance(method_config, PromptTuningConfig):
        return f"{method_config.num_virtual_tokens} virtual input tokens (prompt tuning)"
    return type(method_config).__name__


NOT_APPLICABLE = "—"  # a setting the method does not have


def method_settings(config) -> dict[str, str]:
    """The method's own settings as strings for a settings table: ``{"LoRA rank r", "target
    modules", "virtual tokens"}``, :data:`NOT_APPLICABLE` for what the method does not have."""
    rank = targets = tokens = NOT_APPLICABLE
    if config.method in ("lora", "lora-all"):
        rank = f"{config.lora_r} (alpha {config.lora_alpha})"
        targets = ", ".join(config.lora_target_modules)
    elif config.method == "ia3":  # the layers its peft config really rescales
        layers = peft_config(config).target_modules  # a set: in the model's layer order
        targets = ", ".join(sorted(layers, key=lambda n: (T5_LINEAR_LAYERS + (n,)).index(n)))
    elif config.method == "prompt-tuning":
        tokens = str(config.num_virtual_tokens)
    elif config.method == "full":
        targets = "every weight"
    return {"LoRA rank r": rank, "target modules": targets, "virtual tokens": tokens}

"""Which weights a run trains: LoRA, LoRA on every linear layer, IA3, prompt tuning, or all of them.

Why: "why LoRA, and with which settings?" is the question a LoRA tutorial leaves open. Each
method here is one peft config object (or none, for full fine-tuning) built from the same
:class:`~dialogsum_peft.config.TrainConfig`, trained by the same Trainer on the same data, so the
comparison notebook and the command line measure them the same way.

Learning rates differ by method because what is trained differs: LoRA and IA3 train small
additive or multiplicative corrections that start as no-ops (1e-3 and 3e-3, as in peft's seq2seq
examples and the IA3 paper), prompt tuning trains 20 input embeddings that must move far from the
words they were initialised from (3e-2, peft's prompt-tuning example; Lester et al. used 0.3 with
Adafactor), full fine-tuning moves every pre-trained weight a little (3e-4 with Adafactor, whose
memory use — no second moment matrices per weight — lets flan-t5-base fit a free T4 in fp32).
"""

from __future__ import annotations

from typing import Any

METHODS = ("lora", "lora-all", "ia3", "prompt-tuning", "full")
T5_LINEAR_LAYERS = ("q", "k", "v", "o", "wi_0", "wi_1", "wo")
PEFT_TYPE_TO_METHOD = {"LORA": "lora", "IA3": "ia3", "PROMPT_TUNING": "prompt-tuning"}

# What each method changes in a recipe (the rest of the recipe is the same for every method).
METHOD_SETTINGS: dict[str, dict[str, Any]] = {
    "lora": dict(learning_rate=1e-3, lora_r=32, lora_alpha=32, lora_target_modules=("q", "v")),
    "lora-all": dict(learning_rate=1e-3, lora_r=16, lora_alpha=16,
                     lora_target_modules=T5_LINEAR_LAYERS),
    "ia3": dict(learning_rate=3e-3),
    "prompt-tuning": dict(learning_rate=3e-2),
    "full": dict(learning_rate=3e-4, optim="adafactor"),
}


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
        return IA3Config(task_type=TaskType.SEQ_2_SEQ_LM, target_modules=["k", "v", "wo"],
                         feedforward_modules=["wo"])
    if config.method == "prompt-tuning":
        return PromptTuningConfig(
            task_type=TaskType.SEQ_2_SEQ_LM, num_virtual_tokens=config.num_virtual_tokens,
            prompt_tuning_init=PromptTuningInit.TEXT, prompt_tuning_init_text=config.prompt_init_text,
            tokenizer_name_or_path=model_path or config.model_name)
    return None


def apply_method(model, config, model_path: str | None = None):
    """``model`` ready to train with ``config.method``: a PeftModel, or the model itself (full).

    The peft initialisation is seeded with ``config.seed`` (two runs with one config train the
    same adapter; a resumed run can be compared with an uninterrupted one).
    """
    from peft import get_peft_model
    from transformers import set_seed

    from .errors import ConfigError, one_line

    set_seed(config.seed)
    if not is_peft(config.method):
        model.requires_grad_(True)
        return model
    try:
        return get_peft_model(model, peft_config(config, model_path))
    except (ValueError, OSError) as err:
        raise ConfigError(f"cannot add {config.method} to {type(model).__name__}: "
                          f"{one_line(err)[:300]}") from None


def saved_method(path) -> str | None:
    """The method a folder written by ``train`` holds: a peft adapter's type, or "full"."""
    import json
    from pathlib import Path

    path = Path(path)
    if (path / "adapter_config.json").is_file():
        peft_type = json.loads((path / "adapter_config.json").read_text(encoding="utf-8")).get("peft_type")
        return PEFT_TYPE_TO_METHOD.get(str(peft_type), str(peft_type).lower())
    if (path / "config.json").is_file() and any(path.glob("*.safetensors")):
        return "full"
    return None

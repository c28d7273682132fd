"""The project's named defaults: the base model, the data set, the smoke model and each
method's own settings, in one leaf module that imports nothing from the package.

Why: ``config`` (the run's settings), ``methods`` (what is trained), ``data`` and ``offline``
(where the dialogues come from) and ``modeling`` all need these names; when each kept its own,
they imported each other in a circle. Every module reads them from here; nothing here reads
any other module of the package. (Each method's learning rate is the recipe's:
:data:`dialogsum_peft.recipes.LEARNING_RATES`. The run's own settings, token lengths and seed
among them, are :class:`dialogsum_peft.config.TrainConfig`'s field defaults.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BASE_MODEL = "google/flan-t5-base"
HUB_DATASET = "knkarthick/dialogsum"
TINY_MODEL_NAME = "tiny-random-t5"  # the smoke path's model name (dialogsum_peft.offline builds it)
# the weights files save_pretrained writes: a peft adapter's, and a whole (fully fine-tuned) model's
ADAPTER_WEIGHTS = "adapter_model.safetensors"
MODEL_WEIGHTS = "model.safetensors"

METHODS = ("lora", "lora-all", "ia3", "prompt-tuning", "full")
T5_LINEAR_LAYERS = ("q", "k", "v", "o", "wi_0", "wi_1", "wo")

# What each method sets besides its learning rate (recipes.LEARNING_RATES): LoRA's rank and
# layers, full fine-tuning's optimizer (Adafactor keeps no second moments: it fits a T4 in fp32).
METHOD_SETTINGS: dict[str, dict[str, Any]] = {
    "lora": dict(lora_r=32, lora_alpha=32, lora_target_modules=("q", "v")),
    "lora-all": dict(lora_r=16, lora_alpha=16, lora_target_modules=T5_LINEAR_LAYERS),
    "ia3": {},
    "prompt-tuning": {},
    "full": dict(optim="adafactor"),
}

DEFAULT_METHOD = "lora"


def precision_for(device_kind: str, bf16_supported: bool) -> str:
    """The precision a device trains and generates in: ``"bf16"`` on a CUDA device that supports
    it (Ampere or newer), ``"fp32"`` everywhere else. Never fp16: T5's activations overflow in it
    (the loss becomes NaN)."""
    return "bf16" if device_kind == "cuda" and bf16_supported else "fp32"


def weights_dtype(precision: str, method: str):
    """The torch dtype a base model's weights are loaded in for ``precision`` and ``method``.

    bf16 precision loads LoRA, IA3 and prompt-tuning bases in bf16 (their frozen weights never
    change; peft keeps the adapter itself in fp32). Full fine-tuning updates every weight, and a
    bf16 weight rounds small updates away, so it loads fp32 master weights and the Trainer's
    ``bf16=True`` runs the maths in bf16 (mixed precision).
    """
    import torch

    return torch.bfloat16 if precision == "bf16" and method != "full" else torch.float32


def sample_data_dir() -> Path:
    """The shipped sample (``data/dialogsum_sample``); ``DIALOGSUM_SAMPLE_DIR`` overrides it."""
    override = os.environ.get("DIALOGSUM_SAMPLE_DIR")
    candidates = [Path(override)] if override else []
    candidates.append(Path(__file__).resolve().parents[2] / "data" / "dialogsum_sample")
    for path in candidates:
        if (path / "train.jsonl").is_file():
            return path
    raise FileNotFoundError(
        "the offline sample data/dialogsum_sample was not found; run from a clone of the "
        "repository (pip install -e .) or set DIALOGSUM_SAMPLE_DIR"
    )

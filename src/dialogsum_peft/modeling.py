"""Parameter counting, NaN checks of weights, the LoRA config, and what to say of pickled weights.

(Models built for measuring, flan-t5-base's shape without a download and FLOP counts, are
:mod:`dialogsum_peft.measuring`; loading a model by name, the command line's job, is
:mod:`dialogsum_peft.command_line.loading`.)

Why: the numbers a PEFT tutorial teaches (247,577,856 parameters, 3,538,944 of them trainable
with LoRA r=32 on q/v, about 1.4%) come from these few functions, and a weight that became NaN
must be found before it is saved.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


def pickle_weights_message(path) -> str | None:
    """How to convert a folder whose weights are only a pickle (``.bin``), which this project
    never loads (a pickle can run code): one ``save_pretrained(..., safe_serialization=True)``,
    as a one-line command with the folder's own names; ``None`` for any other folder."""
    import json
    from pathlib import Path

    path = Path(path)
    if (path / "adapter_config.json").is_file() and (path / "adapter_model.bin").is_file():
        try:
            base = (
                json.loads((path / "adapter_config.json").read_text("utf-8"))[
                    "base_model_name_or_path"
                ]
                or "BASE_MODEL"
            )
        except (OSError, ValueError, KeyError, TypeError):
            base = "BASE_MODEL"
        load = (
            f"PeftModel.from_pretrained(AutoModelForSeq2SeqLM.from_pretrained('{base}'), '{path}')"
        )
        imports = "from peft import PeftModel; from transformers import AutoModelForSeq2SeqLM"
        what = "adapter_model.bin"
    elif (path / "config.json").is_file() and (path / "pytorch_model.bin").is_file():
        load = f"AutoModelForSeq2SeqLM.from_pretrained('{path}')"
        imports = "from transformers import AutoModelForSeq2SeqLM"
        what = "pytorch_model.bin"
    else:
        return None
    return (
        f"{path} holds {what}, a pickle, which this project never loads (loading a pickle can "
        "run code); if you trust the file, convert it once to safetensors (load it and "
        f'save_pretrained with safe_serialization=True): python -c "{imports}; '
        f"{load}.save_pretrained('{path}', safe_serialization=True)\""
    )


class ParameterCount(NamedTuple):
    trainable: int
    total: int
    percent: float

    def __str__(self) -> str:
        return (
            f"trainable params: {self.trainable:,} || all params: {self.total:,} || "
            f"trainable%: {self.percent:.4f}"
        )


def count_parameters(model: torch.nn.Module) -> ParameterCount:
    """Trainable and total parameters and the trainable share, as peft counts them.

    A peft model answers with its own ``get_nb_trainable_parameters``; any other model (the
    zero-shot base, a fully fine-tuned one) is counted the same way here, shared tensors once.
    """
    if hasattr(model, "get_nb_trainable_parameters"):
        trainable, total = model.get_nb_trainable_parameters()
    else:
        params = list(model.parameters())  # parameters() yields a shared tensor once
        trainable = sum(p.numel() for p in params if p.requires_grad)
        total = sum(p.numel() for p in params)
    return ParameterCount(trainable, total, 100.0 * trainable / total if total else 0.0)


def non_finite_parameters(model: torch.nn.Module, trainable_only: bool = True) -> list[str]:
    """Names of (trainable) parameters holding a NaN or inf: empty when the weights are sound."""
    return [
        name
        for name, p in model.named_parameters()
        if (p.requires_grad or not trainable_only) and not torch.isfinite(p).all()
    ]


def lora_config(config):
    """The ``peft.LoraConfig`` a :class:`~dialogsum_peft.config.TrainConfig` describes."""
    from peft import LoraConfig, TaskType

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        target_modules=list(config.lora_target_modules),
        lora_dropout=config.lora_dropout,
        bias="none",
        task_type=TaskType.SEQ_2_SEQ_LM,
    )

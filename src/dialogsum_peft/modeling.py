"""Model loading, parameter counting, LoRA, and the choice of precision.

(Models built for measuring, flan-t5-base's shape without a download and FLOP counts, are
:mod:`dialogsum_peft.measuring`.)

Why: the numbers a PEFT tutorial teaches (247,577,856 parameters, 3,538,944 of them trainable
with LoRA r=32 on q/v, about 1.4%) come from these few functions, and T5 must never run in fp16
(its activations overflow to inf/NaN): bf16 where the GPU supports it, fp32 everywhere else.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .settings import BASE_MODEL, precision_for, weights_dtype


def pick_dtype(device: str | torch.device | None = None) -> torch.dtype:
    """bf16 on a CUDA device that supports it (Ampere or newer), fp32 otherwise. Never fp16."""
    device = torch.device(device) if device is not None else default_device()
    bf16 = device.type == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return weights_dtype(precision_for(device.type, bf16), method="lora")


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_model_and_tokenizer(name: str = BASE_MODEL, dtype: torch.dtype | None = None,
                             device: str | torch.device | None = None,
                             attn_implementation: str | None = "eager"):
    """Load a seq2seq model and its tokenizer (Hub id or local folder), on ``device``.

    ``dtype=None`` picks with :func:`pick_dtype`. Weights are read only from safetensors and
    ``trust_remote_code`` is never enabled. A local folder is read without asking the Hub;
    Hub failures raise :class:`dialogsum_peft.errors.HubUnavailableError` with one message.
    """
    from pathlib import Path

    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from .errors import ConfigError
    from .hub import hub_call

    device = torch.device(device) if device is not None else default_device()
    if dtype is torch.float16:
        raise ConfigError("T5 overflows in fp16 (NaN loss); use torch.bfloat16 or torch.float32")
    dtype = dtype or pick_dtype(device)

    def load(local_files_only: bool):
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local_files_only)
        model = AutoModelForSeq2SeqLM.from_pretrained(
            name, dtype=dtype, use_safetensors=True, attn_implementation=attn_implementation,
            local_files_only=local_files_only)
        return model.to(device), tokenizer

    folder = Path(name)
    if folder.is_dir():
        if not any(folder.glob("*.safetensors")) and not (folder / "model.safetensors.index.json").is_file():
            raise ConfigError(f"{folder} holds no model.safetensors: this project loads weights "
                              "only from safetensors. " + (pickle_weights_message(folder) or "Convert the "
                              "checkpoint with save_pretrained(..., safe_serialization=True)"))
        if not (folder / "config.json").is_file():
            raise ConfigError(f"{folder} is not a model folder (it has no config.json): give a "
                              "save_pretrained copy of the model")
        return load(local_files_only=True)
    return hub_call(load, what=f"model '{name}'")


def pickle_weights_message(path) -> str | None:
    """How to convert a folder whose weights are only a pickle (``.bin``), which this project
    never loads (a pickle can run code): one ``save_pretrained(..., safe_serialization=True)``,
    as a one-line command with the folder's own names; ``None`` for any other folder."""
    import json
    from pathlib import Path

    path = Path(path)
    if (path / "adapter_config.json").is_file() and (path / "adapter_model.bin").is_file():
        try:
            base = json.loads((path / "adapter_config.json").read_text("utf-8"))[
                "base_model_name_or_path"] or "BASE_MODEL"
        except (OSError, ValueError, KeyError, TypeError):
            base = "BASE_MODEL"
        load = (f"PeftModel.from_pretrained(AutoModelForSeq2SeqLM.from_pretrained('{base}'), "
                f"'{path}')")
        imports = "from peft import PeftModel; from transformers import AutoModelForSeq2SeqLM"
        what = "adapter_model.bin"
    elif (path / "config.json").is_file() and (path / "pytorch_model.bin").is_file():
        load = f"AutoModelForSeq2SeqLM.from_pretrained('{path}')"
        imports = "from transformers import AutoModelForSeq2SeqLM"
        what = "pytorch_model.bin"
    else:
        return None
    return (f"{path} holds {what}, a pickle, which this project never loads (loading a pickle can "
            "run code); if you trust the file, convert it once to safetensors (load it and "
            f"save_pretrained with safe_serialization=True): python -c \"{imports}; "
            f"{load}.save_pretrained('{path}', safe_serialization=True)\"")


def load_base_model(config, device: str | torch.device | None = None):
    """The base model and tokenizer ``config`` names, in its precision and attention kernel.

    In smoke mode that is the tiny T5 of :func:`dialogsum_peft.offline.tiny_base_dir`, loaded
    through the same ``from_pretrained`` path as Flan-T5.
    """
    return load_model_and_tokenizer(config.model_path, dtype=config.torch_dtype,
                                    device=device, attn_implementation=config.attn_implementation)


class ParameterCount(NamedTuple):
    trainable: int
    total: int
    percent: float

    def __str__(self) -> str:
        return (f"trainable params: {self.trainable:,} || all params: {self.total:,} || "
                f"trainable%: {self.percent:.4f}")


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
    return [name for name, p in model.named_parameters()
            if (p.requires_grad or not trainable_only) and not torch.isfinite(p).all()]


def lora_config(config):
    """The ``peft.LoraConfig`` a :class:`~dialogsum_peft.config.TrainConfig` describes."""
    from peft import LoraConfig, TaskType

    return LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                      target_modules=list(config.lora_target_modules),
                      lora_dropout=config.lora_dropout, bias="none",
                      task_type=TaskType.SEQ_2_SEQ_LM)

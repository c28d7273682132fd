"""What a command loads, and from where: the network switch, the base model and tokenizer, and
what ``train`` wrote (an adapter attached to its base, a fully fine-tuned model, a merged copy).

Why here: the notebooks load with ``from_pretrained`` and ``PeftModel.from_pretrained`` in their
cells; the command line loads the same things by name from a flag, so it needs what a cell shows
by hand: weights only from safetensors, every check before peft sees an adapter, one line when
the Hub is out of reach, and offline mode decided before the libraries read it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..adapters import (
    adapter_base,
    check_adapter_dir,
    check_adapter_fits,
    check_weights,
    is_adapter_dir,
    is_model_dir,
    model_base,
)
from ..errors import AdapterError, ConfigError, one_line, quiet_library_notes
from ..hub import hub_call, hub_reachable, offline_forced
from ..methods import saved_method
from ..settings import ADAPTER_WEIGHTS, BASE_MODEL, MODEL_WEIGHTS, precision_for, weights_dtype

if TYPE_CHECKING:
    import torch


# ------------------------------------------------------------------------------------ the Hub
def go_offline_if_unreachable() -> bool:
    """Set ``HF_HUB_OFFLINE=1`` when the Hub does not answer; call before importing HF libraries.

    The libraries read the variable once, at import; the command line calls this first thing.
    Returns True when offline mode is (now) on.
    """
    if offline_forced():
        return True
    if not hub_reachable():
        os.environ["HF_HUB_OFFLINE"] = "1"
        return True
    return False


def prepare_hub(config) -> None:
    """Decide before the HF libraries are imported whether they may use the network: offline
    (``HF_HUB_OFFLINE=1``) for the smoke path and for a local model and data folder, otherwise
    only when the Hub does not answer (:func:`go_offline_if_unreachable`)."""
    local = Path(config.model_name).is_dir() and Path(config.dataset_source).is_dir()
    if config.is_smoke or local:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    else:
        go_offline_if_unreachable()


# ------------------------------------------------------------------------------------ models
def pick_dtype(device: str | torch.device | None = None) -> torch.dtype:
    """bf16 on a CUDA device that supports it (Ampere or newer), fp32 otherwise. Never fp16."""
    import torch

    device = torch.device(device) if device is not None else default_device()
    bf16 = device.type == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return weights_dtype(precision_for(device.type, bf16), method="lora")


def default_device() -> torch.device:
    import torch  # here: the parser and --help need no torch (3 s to import)

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_model_and_tokenizer(
    name: str = BASE_MODEL,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    attn_implementation: str | None = "eager",
):
    """Load a seq2seq model and its tokenizer (Hub id or local folder), on ``device``.

    ``dtype=None`` picks with :func:`pick_dtype`. Weights are read only from safetensors and
    ``trust_remote_code`` is never enabled. A local folder is read without asking the Hub;
    Hub failures raise :class:`dialogsum_peft.errors.HubUnavailableError` with one message.
    """
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    device = torch.device(device) if device is not None else default_device()
    if dtype is torch.float16:
        raise ConfigError("T5 overflows in fp16 (NaN loss); use torch.bfloat16 or torch.float32")
    dtype = dtype or pick_dtype(device)

    def load(local_files_only: bool):
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local_files_only)
        model = AutoModelForSeq2SeqLM.from_pretrained(
            name,
            dtype=dtype,
            use_safetensors=True,
            attn_implementation=attn_implementation,
            local_files_only=local_files_only,
        )
        return model.to(device), tokenizer

    folder = Path(name)
    if folder.is_dir():
        if (
            not any(folder.glob("*.safetensors"))
            and not (folder / "model.safetensors.index.json").is_file()
        ):
            from ..modeling import pickle_weights_message

            raise ConfigError(
                f"{folder} holds no model.safetensors: this project loads weights "
                "only from safetensors. "
                + (
                    pickle_weights_message(folder)
                    or "Convert the checkpoint with save_pretrained(..., safe_serialization=True)"
                )
            )
        if not (folder / "config.json").is_file():
            raise ConfigError(
                f"{folder} is not a model folder (it has no config.json): give a "
                "save_pretrained copy of the model"
            )
        return load(local_files_only=True)
    return hub_call(load, what=f"model '{name}'")


def load_base_model(config, device: str | torch.device | None = None):
    """The base model and tokenizer ``config`` names, in its precision and attention kernel.

    In smoke mode that is the tiny T5 of :func:`dialogsum_peft.offline.tiny_base_dir`, loaded
    through the same ``from_pretrained`` path as Flan-T5.
    """
    return load_model_and_tokenizer(
        config.model_path,
        dtype=config.torch_dtype,
        device=device,
        attn_implementation=config.attn_implementation,
    )


# ------------------------------------------------------------------------------------ what train wrote
def check_trained_dir(path: str | os.PathLike) -> tuple[Path, str]:
    """What ``train`` wrote: (folder, method) for an adapter folder or a fully fine-tuned model.

    The weights are read and checked for NaN/inf either way.
    """
    path = Path(path).expanduser()
    if path.is_dir() and not is_adapter_dir(path) and is_model_dir(path):
        check_weights(path / MODEL_WEIGHTS)
        return path, "full"
    if path.is_dir() and not is_adapter_dir(path):
        from ..modeling import pickle_weights_message  # torch: not for --help

        if pickle_weights_message(path):  # a .bin: say how to convert it
            raise AdapterError(pickle_weights_message(path))
        raise AdapterError(
            f"{path} is neither a peft adapter folder (adapter_config.json + "
            f"{ADAPTER_WEIGHTS}) nor a fine-tuned model folder (config.json + "
            f"{MODEL_WEIGHTS}), as training writes into <output-dir>/adapter or /model"
        )
    return check_adapter_dir(path), saved_method(path)


def load_adapter(base_model, path: str | os.PathLike, tokenizer=None, is_trainable: bool = False):
    """``PeftModel.from_pretrained(base_model, path)`` after :func:`check_adapter_fits`.

    With ``tokenizer`` (the base's), a vocabulary mismatch is refused; an adapter trained on
    another base, or a base model of another shape, is an :class:`AdapterError` naming both
    (not a size-mismatch traceback, not summaries of a model nobody trained). A peft that cannot
    wrap a seq2seq model under the installed transformers raises
    :class:`~dialogsum_peft.versions.BrokenVersionsError`.
    """
    from peft import PeftModel

    from ..versions import require_working

    require_working("peft-seq2seq-generate")
    path = check_adapter_fits(path, base_model, tokenizer)
    try:
        with quiet_library_notes():
            return PeftModel.from_pretrained(base_model, path, is_trainable=is_trainable)
    except (ValueError, RuntimeError, KeyError) as err:
        raise AdapterError(
            f"cannot load the adapter {path} (trained on {adapter_base(path)}) "
            f"onto the base model {model_base(base_model)} "
            f"({type(base_model).__name__}): {one_line(err)[:300]}"
        ) from None


def merged_copy(peft_model):
    """A plain model with the adapter folded into a copy of the weights (``merge_and_unload``).

    Generation then runs without the adapter's extra matrix products; ``peft_model`` itself is
    left as it was (its ``disable_adapter()`` still gives the zero-shot base). LoRA and IA3 merge;
    prompt tuning has nothing to merge.
    """
    import copy

    if peft_model.peft_config[peft_model.active_adapter].is_prompt_learning:
        raise AdapterError(
            "merge_for_generation: a prompt-tuning adapter has no weights to merge "
            "(only LoRA and IA3 adapters do); leave it off"
        )
    return copy.deepcopy(peft_model).merge_and_unload()

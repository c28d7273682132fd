"""Saving what training produced (an adapter, or a whole fine-tuned model) so that nothing
half-written or broken is ever loaded.

Why: an adapter folder is what people keep, share and load months later. It is written
atomically (a crash leaves the previous adapter or none), only as safetensors, never with NaN
weights; loading checks the files before peft does, so a truncated or corrupt file is one clear
message naming it, and an adapter whose weights are NaN or inf is refused instead of silently
scoring zero.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import AdapterError, one_line

ADAPTER_WEIGHTS = "adapter_model.safetensors"
MODEL_WEIGHTS = "model.safetensors"


def _is_adapter_dir(path: Path) -> bool:
    return (path / "adapter_config.json").is_file() and (path / ADAPTER_WEIGHTS).is_file()


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and (path / MODEL_WEIGHTS).is_file()


def _check_weights(weights: Path) -> None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt") as fh:
            bad = [k for k in fh.keys() if not fh.get_tensor(k).isfinite().all()]
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise AdapterError(f"{weights} is damaged and cannot be read ({one_line(err)[:160]}); "
                           "train again or restore the file") from None
    if bad:
        raise AdapterError(f"{weights} holds NaN/inf weights ({len(bad)} tensors, e.g. {bad[0]}): "
                           "the training that wrote it diverged; train again (lower learning rate)")


def check_adapter_dir(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it holds a saved peft adapter whose weights read and are finite.

    A leading ``~`` is expanded (the one place an adapter path given to the API is resolved).
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise AdapterError(f"adapter folder not found: {path}")
    if not _is_adapter_dir(path):
        raise AdapterError(f"{path} is not a peft adapter folder (it needs adapter_config.json and "
                           f"{ADAPTER_WEIGHTS}, as training writes into <output-dir>/adapter)")
    _check_weights(path / ADAPTER_WEIGHTS)
    return path


def check_trained_dir(path: str | os.PathLike) -> tuple[Path, str]:
    """What ``train`` wrote: (folder, method) for an adapter folder or a fully fine-tuned model.

    The weights are read and checked for NaN/inf either way.
    """
    from .methods import saved_method

    path = Path(path).expanduser()
    if path.is_dir() and not _is_adapter_dir(path) and _is_model_dir(path):
        _check_weights(path / MODEL_WEIGHTS)
        return path, "full"
    if path.is_dir() and not _is_adapter_dir(path):
        raise AdapterError(f"{path} is neither a peft adapter folder (adapter_config.json + "
                           f"{ADAPTER_WEIGHTS}) nor a fine-tuned model folder (config.json + "
                           f"{MODEL_WEIGHTS}), as training writes into <output-dir>/adapter or /model")
    return check_adapter_dir(path), saved_method(path)


def _save_atomic(model, path: str | os.PathLike, tokenizer, complete) -> Path:
    """``model.save_pretrained`` (safetensors) into a temporary folder, checked, then renamed in.

    A crash while saving leaves the previous folder or none, never a half-written one; NaN/inf
    weights are refused before anything is written.
    """
    from .errors import TrainingError
    from .modeling import non_finite_parameters

    path = Path(path)
    bad = non_finite_parameters(model)
    if bad:
        raise TrainingError(f"refusing to save weights with NaN/inf ({len(bad)} tensors, e.g. "
                            f"{bad[0]}); nothing was written to {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        if not complete(tmp):
            raise RuntimeError(f"saving produced no weights file in {tmp}")
        replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def save_adapter(model, path: str | os.PathLike, tokenizer=None) -> Path:
    """Save a peft model's adapter (and the tokenizer) atomically; returns the folder."""
    return _save_atomic(model, path, tokenizer, _is_adapter_dir)


def save_model(model, path: str | os.PathLike, tokenizer=None) -> Path:
    """Save a fully fine-tuned model (and the tokenizer) atomically; returns the folder."""
    return _save_atomic(model, path, tokenizer, _is_model_dir)


def replace_dir(new: Path, target: Path) -> None:
    """Put the finished folder ``new`` at ``target``, replacing what was there, by renames."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def check_same_tokenizer(path: str | os.PathLike, tokenizer) -> None:
    """Refuse an adapter saved with another vocabulary than ``tokenizer`` (another base model).

    Training saves the tokenizer beside the adapter; an adapter applied to a base with another
    vocabulary runs without an error and writes nonsense, so the vocabularies are compared.
    """
    from transformers import AutoTokenizer

    path = Path(path)
    if not (path / "tokenizer_config.json").is_file():
        return
    saved = AutoTokenizer.from_pretrained(path)
    if saved.get_vocab() != tokenizer.get_vocab():
        raise AdapterError(f"the adapter {path} was trained with another tokenizer "
                           f"({len(saved)} tokens) than this base model's ({len(tokenizer)}): "
                           "load it onto the base model it was trained on")


def load_adapter(base_model, path: str | os.PathLike, tokenizer=None, is_trainable: bool = False):
    """``PeftModel.from_pretrained(base_model, path)`` after the checks above.

    With ``tokenizer`` (the base's), a vocabulary mismatch is refused. A base model of another
    shape is an :class:`AdapterError` naming it, not a size-mismatch traceback.
    """
    from peft import PeftModel

    path = check_adapter_dir(path)
    if tokenizer is not None:
        check_same_tokenizer(path, tokenizer)
    try:
        return PeftModel.from_pretrained(base_model, path, is_trainable=is_trainable)
    except (ValueError, RuntimeError, KeyError) as err:
        raise AdapterError(f"cannot load the adapter {path} onto the base model "
                           f"({type(base_model).__name__}): {one_line(err)[:300]}") from None


def merged_copy(peft_model):
    """A plain model with the adapter folded into a copy of the weights (``merge_and_unload``).

    Generation then runs without the adapter's extra matrix products; ``peft_model`` itself is
    left as it was (its ``disable_adapter()`` still gives the zero-shot base). LoRA and IA3 merge;
    prompt tuning has nothing to merge.
    """
    import copy

    if peft_model.peft_config[peft_model.active_adapter].is_prompt_learning:
        raise AdapterError("merge_for_generation: a prompt-tuning adapter has no weights to merge "
                           "(only LoRA and IA3 adapters do); leave it off")
    return copy.deepcopy(peft_model).merge_and_unload()


def adapter_size_mb(path: str | os.PathLike) -> float:
    """Size in MB of the weights a folder written by ``train`` holds (adapter or whole model)."""
    path = Path(path)
    return sum(f.stat().st_size for f in (path / ADAPTER_WEIGHTS, path / MODEL_WEIGHTS)
               if f.is_file()) / 1e6

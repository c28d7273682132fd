"""Checking a saved adapter before it is loaded, so that nothing broken or foreign is ever used.

Why: an adapter folder is what people keep, share and load months later. The checks here run
before peft sees the folder: a truncated or corrupt file is one clear message naming it, an
adapter whose weights are NaN or inf is refused instead of silently scoring zero, and one trained
on another base (or vocabulary) is refused naming both. The notebook passes the folder
:func:`check_adapter_fits` returns to ``PeftModel.from_pretrained``. (Writing adapters atomically
and loading them by name are the command line's: :mod:`dialogsum_peft.command_line`.)
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import AdapterError, one_line
from .settings import ADAPTER_WEIGHTS, MODEL_WEIGHTS


def is_adapter_dir(path: Path) -> bool:
    return (path / "adapter_config.json").is_file() and (path / ADAPTER_WEIGHTS).is_file()


def is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and (path / MODEL_WEIGHTS).is_file()


def check_weights(weights: Path) -> None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt") as fh:
            bad = [k for k in fh.keys() if not fh.get_tensor(k).isfinite().all()]
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise AdapterError(
            f"{weights} is damaged and cannot be read ({one_line(err)[:160]}); "
            "train again or restore the file"
        ) from None
    if bad:
        raise AdapterError(
            f"{weights} holds NaN/inf weights ({len(bad)} tensors, e.g. {bad[0]}): "
            "the training that wrote it diverged; train again (lower learning rate)"
        )


def check_adapter_dir(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it holds a saved peft adapter whose weights read and are finite.

    A leading ``~`` is expanded (the one place an adapter path given to the API is resolved).
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise AdapterError(f"adapter folder not found: {path}")
    if not is_adapter_dir(path):
        from .modeling import pickle_weights_message  # a .bin: say how to convert it

        if pickle_weights_message(path):
            raise AdapterError(pickle_weights_message(path))
        raise AdapterError(
            f"{path} is not a peft adapter folder (it needs adapter_config.json and "
            f"{ADAPTER_WEIGHTS}, as training writes into <output-dir>/adapter)"
        )
    check_weights(path / ADAPTER_WEIGHTS)
    return path


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
        raise AdapterError(
            f"the adapter {path} was trained with another tokenizer "
            f"({len(saved)} tokens) than this base model's ({len(tokenizer)}): "
            "load it onto the base model it was trained on"
        )


def adapter_base(path: str | os.PathLike) -> str | None:
    """The base model an adapter was trained on (``base_model_name_or_path`` of its config)."""
    import json

    try:
        config = json.loads((Path(path) / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config.get("base_model_name_or_path") if isinstance(config, dict) else None


def model_base(model) -> str | None:
    """The name or folder ``model`` was loaded from (its config's ``_name_or_path``)."""
    config = getattr(model, "config", None)
    return getattr(config, "_name_or_path", None) or getattr(config, "name_or_path", None) or None


def same_base(trained: str, loaded: str) -> bool:
    """One model under two spellings: equal, or a local folder named like the Hub id's model
    (``/models/flan-t5-base`` for ``google/flan-t5-base``), or :data:`TINY_MODEL_NAME` for the
    smoke path's tiny T5 folder (:func:`~dialogsum_peft.offline.is_smoke_base`)."""
    from .offline import is_smoke_base

    if is_smoke_base(trained) and is_smoke_base(loaded):
        return True
    trained, loaded = trained.rstrip("/"), loaded.rstrip("/")
    return trained == loaded or Path(trained).name == Path(loaded).name


def other_base_message(path, trained: str, loaded: str, how: str = "") -> str:
    """The one line that refuses an adapter (or model) trained on ``trained`` for ``loaded``."""
    return (
        f"the adapter {path} was trained on {trained}, not on {loaded}{how}: its summaries "
        f"only mean something on its own base; load it onto {trained}"
    )


def _shape_mismatch(path: Path, base_model) -> str | None:
    """Why the adapter's tensors cannot fit ``base_model`` (``None`` when they can).

    Prompt tuning stores its virtual-token embeddings with the width of the base it was trained
    on (``token_dim``): on a base of another width peft loads them and fails only when
    generating, so the width is compared here; LoRA/IA3 shape mismatches are peft's
    size-mismatch error, reported by
    :func:`~dialogsum_peft.command_line.loading.load_adapter`.
    """
    import json

    config = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
    width = getattr(getattr(base_model, "config", None), "d_model", None)
    token_dim = config.get("token_dim")
    if token_dim and width and token_dim != width:
        return f"its virtual tokens are {token_dim} wide, this base's embeddings {width}"
    return None


def check_adapter_fits(path: str | os.PathLike, base_model, tokenizer=None) -> Path:
    """Every check before an adapter meets ``base_model``; returns the adapter folder.

    The folder and weights (:func:`check_adapter_dir`); with ``tokenizer``, the vocabulary
    (:func:`check_same_tokenizer`); the base: an adapter trained on another base
    (``base_model_name_or_path`` of ``adapter_config.json``, compared by :func:`same_base`) than
    ``base_model`` was loaded from is an :class:`AdapterError` naming both, and so are shapes that
    cannot match. The notebook passes the result to ``PeftModel.from_pretrained``;
    the command line's :func:`~dialogsum_peft.command_line.loading.load_adapter` too.
    """
    path = check_adapter_dir(path)
    if tokenizer is not None:
        check_same_tokenizer(path, tokenizer)
    trained, loaded = adapter_base(path), model_base(base_model)
    mismatch = _shape_mismatch(path, base_model)
    if mismatch:
        raise AdapterError(
            f"the adapter {path} was trained on {trained}, not on {loaded}: "
            f"{mismatch}; load it onto the base model it was trained on"
        )
    if trained and loaded and not same_base(trained, loaded):
        raise AdapterError(other_base_message(path, trained, loaded))
    return path


def adapter_size_mb(path: str | os.PathLike) -> float:
    """Size in MB of the weights a folder written by ``train`` holds (adapter or whole model)."""
    path = Path(path)
    return (
        sum(f.stat().st_size for f in (path / ADAPTER_WEIGHTS, path / MODEL_WEIGHTS) if f.is_file())
        / 1e6
    )

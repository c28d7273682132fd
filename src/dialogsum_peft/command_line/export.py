"""Export what ``train`` wrote as a standalone model: merged weights, or a CTranslate2 folder.

Why: an adapter needs its base model and peft to run; a reader who wants summaries of their own
dialogues is better served by one folder that loads alone. LoRA and IA3 adapters are folded into
a fresh copy of the base (peft's ``merge_and_unload``) and saved as safetensors with the
tokenizer (``--format merged``), or that folder is converted for the CTranslate2 engine
(``--format ctranslate2``, :mod:`dialogsum_peft.ctranslate2_backend`). A ``--method full`` run's
``model/`` is already a whole model and converts directly. Prompt tuning cannot be merged: its
virtual tokens are an input, not a weight.

Like every folder this project writes, an export is built in a temporary folder beside the
target and renamed into place: a failure leaves the previous folder or none, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from ..atomic import replace_dir
from ..ctranslate2_backend import QUANTIZATIONS, convert, require_ctranslate2
from ..errors import AdapterError, ConfigError, RunFolderError
from .loading import check_trained_dir, load_adapter, load_model_and_tokenizer

FORMATS = ("merged", "ctranslate2")
MERGEABLE = ("lora", "lora-all", "ia3")
EXPORT_INFO = "export.json"


def check_export_target(
    to: str | os.PathLike, overwrite: bool = False, source: str | os.PathLike | None = None
) -> Path:
    """``to`` as a Path if an export may be written there; raises :class:`RunFolderError`.

    Refused: a file, a non-empty folder without ``overwrite``, a place this process cannot write,
    and (with ``source``) the folder being exported or one that holds or lies inside it, which
    ``overwrite`` would destroy.
    """
    from ..run_folder import check_writable

    to = Path(to).expanduser()
    if to.exists() and not to.is_dir():
        raise RunFolderError(f"--to {to} is a file: give a folder for the export")
    if source is not None:
        src, dst = Path(source).resolve(), to.resolve()
        if dst == src or dst in src.parents or src in dst.parents:
            raise RunFolderError(
                f"--to {to} overlaps the folder being exported ({source}): "
                "choose a folder outside it"
            )
    if to.is_dir() and any(to.iterdir()) and not overwrite:
        raise RunFolderError(
            f"--to {to} already holds files: add --overwrite to replace them, or "
            "choose an empty or new folder"
        )
    check_writable(to.parent)  # the export is built beside the target, then renamed in
    return to


def check_exportable(trained: tuple[Path, str], fmt: str, quantization: str | None) -> None:
    """Refuse what cannot be exported before anything is loaded (:class:`AdapterError`,
    :class:`ConfigError` for a format or quantization that does not fit)."""
    path, method = trained
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if quantization is not None and quantization not in QUANTIZATIONS:
        raise ConfigError(f"--quantization must be one of {', '.join(QUANTIZATIONS)}")
    if method not in (*MERGEABLE, "full"):
        raise AdapterError(
            f"{path} holds a {method} adapter, which cannot be merged into the "
            "model (prompt tuning's virtual tokens are an input, not a weight): "
            "use it with --adapter and the transformers backend"
        )
    if fmt == "merged" and quantization == "int8":
        raise ConfigError(
            "--quantization int8 needs --format ctranslate2 (a merged transformers "
            "folder holds float32 or bfloat16 weights)"
        )
    if fmt == "ctranslate2":
        require_ctranslate2()


def check_ctranslate2_source(path: str | os.PathLike | None) -> tuple[Path, str] | None:
    """What ``--adapter`` names for the ctranslate2 backend: (folder, method), checked before
    anything is loaded. An exported CTranslate2 folder is used as it is (its method from
    export.json); an adapter or full model is converted when loaded (:func:`load_ctranslate2`);
    prompt tuning is refused (:class:`AdapterError`). Also raises ``MissingExtraError``."""
    from ..ctranslate2_backend import is_ctranslate2_dir

    require_ctranslate2()
    if path is None:
        return None
    if is_ctranslate2_dir(path):
        return Path(path), read_export_info(path).get("method") or "exported"
    trained = check_trained_dir(path)
    if trained[1] not in (*MERGEABLE, "full"):
        raise AdapterError(
            f"{path} holds a {trained[1]} adapter, which the ctranslate2 backend "
            "cannot run (its virtual tokens are an input, not a weight to merge): "
            "use --backend transformers"
        )
    return trained


def load_ctranslate2(config, trained: tuple[Path, str] | None, compute_type: str | None = None):
    """(:class:`~dialogsum_peft.ctranslate2_backend.CTranslate2Model`, tokenizer) for the plain
    base model ``config`` names (``trained=None``), an adapter merged into it, a full model, or
    an exported CTranslate2 folder (``trained`` from :func:`check_ctranslate2_source`).

    A model that is not exported yet is converted (float32: the summaries of transformers) into
    a temporary folder that is deleted as soon as the engine has loaded it: nothing is cached, so
    nothing stale can be served; ``export`` keeps a converted folder for reuse. ``compute_type``
    (int8, float32, bfloat16) converts the weights at load time; ``None`` runs them as stored.
    """
    from ..ctranslate2_backend import CTranslate2Model, is_ctranslate2_dir

    if trained is not None and is_ctranslate2_dir(trained[0]):
        model = CTranslate2Model(trained[0], compute_type or "default")
        return model, model.load_tokenizer()
    if trained is None:
        import torch

        hf_model, tokenizer = load_model_and_tokenizer(
            config.model_path, dtype=torch.float32, device="cpu"
        )
    else:
        hf_model, tokenizer = merge_into_base(config, trained)
    with tempfile.TemporaryDirectory(prefix="dialogsum_peft-ct2-") as work:
        hf_model.save_pretrained(Path(work) / "hf", safe_serialization=True)
        tokenizer.save_pretrained(Path(work) / "hf")
        del hf_model
        convert(Path(work) / "hf", Path(work) / "ct2", quantization="float32")
        model = CTranslate2Model(Path(work) / "ct2", compute_type or "default")
    return model, tokenizer


def trained_base(trained: tuple[Path, str] | None) -> str | None:
    """The base model that what ``--adapter`` names was trained on, where something records it:
    an adapter's ``base_model_name_or_path`` (:func:`~dialogsum_peft.adapters.adapter_base`),
    an export folder's ``export.json``, a ``--method full`` run's ``config.json`` beside its
    ``model/``; ``None`` when nothing does (then the flags name the base)."""
    from ..adapters import adapter_base
    from .run_outputs import CONFIG

    if trained is None:
        return None
    path, method = trained
    if (path / "adapter_config.json").is_file():
        return adapter_base(path)
    if (path / EXPORT_INFO).is_file():
        return read_export_info(path).get("base_model")
    run_config = path.parent / CONFIG
    if method == "full" and run_config.is_file():
        try:
            return json.loads(run_config.read_text(encoding="utf-8")).get("model_name")
        except (OSError, ValueError, AttributeError):
            return None
    return None


def check_same_base(config, trained: tuple[Path, str] | None) -> None:
    """Refuse (:class:`AdapterError`, naming both) when ``config`` names another base model than
    the one ``trained`` was trained on (:func:`trained_base`); before anything is loaded."""
    from ..adapters import other_base_message, same_base

    recorded = trained_base(trained)
    if recorded and not same_base(recorded, config.model_name):
        raise AdapterError(other_base_message(trained[0], recorded, config.model_name))


def merge_into_base(config, trained: tuple[Path, str]):
    """(plain model, tokenizer): the adapter merged into a fresh float32 base on the CPU, or the
    fully fine-tuned model itself. The base is the one ``config`` names (``--preset``/``--model``/
    ``--config``), as for ``evaluate`` and ``summarize``; a base other than the one the adapter
    was trained on, or another vocabulary, is refused (:class:`AdapterError`)."""
    import torch

    path, method = trained
    check_same_base(config, trained)
    name = str(path) if method == "full" else config.model_path
    model, tokenizer = load_model_and_tokenizer(
        name, dtype=torch.float32, device="cpu", attn_implementation=config.attn_implementation
    )
    if method == "full":
        return model.eval(), tokenizer
    with warnings.catch_warnings():
        # peft warns that input and output embeddings are "no longer tied" because transformers 5
        # reports tie_word_embeddings=True for every T5; Flan-T5's lm_head is its own matrix.
        warnings.filterwarnings("ignore", message="Input and output embeddings are no longer tied")
        return load_adapter(model, path, tokenizer).merge_and_unload().eval(), tokenizer


def export(
    config,
    adapter: str | os.PathLike,
    to: str | os.PathLike,
    fmt: str = "merged",
    quantization: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``adapter`` (or a full run's ``model/``) as a standalone model folder at ``to``.

    ``fmt="merged"``: model.safetensors, config.json, generation_config.json and the tokenizer
    (``quantization`` float32, the default, or bfloat16). ``fmt="ctranslate2"``: CTranslate2's
    model.bin, config.json and vocabulary plus the tokenizer (``quantization`` int8, float32 —
    the default, whose summaries equal transformers' — or bfloat16). Both hold ``export.json``
    (what was exported, how). ``config`` must name the base the adapter was trained on
    (:func:`check_same_base`). Every check runs before anything is loaded; raises
    :class:`AdapterError`, :class:`RunFolderError`, :class:`ConfigError` or ``MissingExtraError``.
    """
    trained = check_trained_dir(adapter)
    check_exportable(trained, fmt, quantization)
    check_same_base(config, trained)
    to = check_export_target(to, overwrite, source=trained[0])
    quantization = quantization or "float32"
    try:
        to.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunFolderError(f"cannot create {to.parent}: {err.strerror or err}") from None
    try:  # before anything is loaded: a place that cannot be written fails fast
        tmp = Path(tempfile.mkdtemp(prefix=f".{to.name}.tmp-", dir=to.parent))
    except OSError as err:
        raise RunFolderError(
            f"cannot write the export beside {to}: {err.strerror or err}"
        ) from None
    try:
        model, tokenizer = merge_into_base(config, trained)
        merged = tmp / "merged" if fmt == "ctranslate2" else tmp / "out"
        if quantization == "bfloat16" and fmt == "merged":
            import torch

            model = model.to(torch.bfloat16)
        model.save_pretrained(merged, safe_serialization=True)
        tokenizer.save_pretrained(merged)
        del model
        if fmt == "ctranslate2":
            convert(merged, tmp / "out", quantization=quantization)
            shutil.rmtree(merged)
        info = {
            "format": fmt,
            "quantization": quantization,
            "source": str(trained[0]),
            "method": trained[1],
            "base_model": None if trained[1] == "full" else config.model_name,
            "smoke": config.is_smoke,
        }
        (tmp / "out" / EXPORT_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        replace_dir(tmp / "out", to)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return to


def read_export_info(path: str | os.PathLike) -> dict:
    """What :func:`export` recorded in a folder (empty for a folder it did not write)."""
    f = Path(path) / EXPORT_INFO
    return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {}

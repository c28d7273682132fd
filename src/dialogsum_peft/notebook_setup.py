"""A notebook's set-up cells: the environment (libraries, device), the run's
:class:`~dialogsum_peft.config.TrainConfig` from the knob cell, where it writes (the repository's
``outputs/``, or Google Drive), and the settings worth reading.

Why: the notebooks' configuration cell names a mode, a recipe and local folders, and every later
cell reads one config; the command line builds the same ``TrainConfig`` from its flags
(:mod:`dialogsum_peft.command_line.cli_config`). The run's folder then belongs to
:class:`~dialogsum_peft.run_folder.RunFolder` (checkpoints, resume).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .errors import ConfigError, RunFolderError
from .recipes import DEFAULT_RECIPE
from .settings import DEFAULT_METHOD

OUTPUT_DIR_ENV = "DIALOGSUM_OUTPUT_DIR"
MODEL_ENV = "DIALOGSUM_MODEL"  # a local model folder (or another Hub id) for a full run
DATA_ENV = "DIALOGSUM_DATA"  # a local DialogSum folder (or another Hub dataset) for a full run
DIALOGSUM_TRAIN_DIALOGUES = 12_460  # for the CPU warning of an epoch-based recipe


def repo_root() -> Path | None:
    """The repository this package was loaded from (a clone with ``pyproject.toml``), if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def resolve_output_dir(output_dir: str | os.PathLike, env: str = OUTPUT_DIR_ENV) -> Path:
    """Where a run writes checkpoints and adapters.

    The environment variable ``DIALOGSUM_OUTPUT_DIR`` wins (tests and scripts use it); otherwise
    ``output_dir`` itself, a relative one taken from the repository root so the notebook writes
    to the same ``outputs/`` whatever folder it runs from. (Google Drive: see
    :func:`drive_output_dir`.)
    """
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser().resolve()
    path = Path(output_dir).expanduser()
    if path.is_absolute():
        return path
    return (repo_root() or Path.cwd()) / path


def notebook_config(
    mode: str = "auto",
    recipe: str = DEFAULT_RECIPE,
    eval_size: int | None = None,
    seed: int | None = None,
    save_to_drive: bool = False,
    method: str = DEFAULT_METHOD,
    run_name: str | None = None,
    subfolder: str | None = None,
    model: str | None = None,
    data: str | None = None,
    smoke_schedule: dict[str, Any] | None = None,
    announce: bool = True,
) -> TrainConfig:
    """The run's :class:`TrainConfig` from a notebook's knob cell (the notebooks' counterpart of
    :func:`dialogsum_peft.command_line.cli_config.resolve_config`), announced in a few lines.

    ``mode`` is resolved by :func:`dialogsum_peft.offline.resolve_mode` (``DIALOGSUM_MODE``
    wins; ``auto`` is full when the Hub answers or when ``model`` and ``data`` are both local
    folders). ``recipe`` and ``method`` are checked in every mode (a misspelt name is a
    :class:`~dialogsum_peft.errors.ConfigError`, smoke mode included). Smoke mode is
    ``TrainConfig.smoke`` (the tiny model's own short schedule, changed by ``smoke_schedule``:
    ``recipe`` applies in full mode only, which the announcement says in one line, as the
    default "quick" recipe would train the tiny T5 for 8,000 examples; a ``model`` or ``data``
    given is a :class:`~dialogsum_peft.errors.ConfigError`: they would be dropped); full mode is
    ``TrainConfig.auto(recipe=...)``: the recipe as it is, precision and batch split for this
    GPU. ``model``/``data`` (``None``: google/flan-t5-base and DialogSum from the Hub; the
    environment variables ``DIALOGSUM_MODEL``/``DIALOGSUM_DATA`` win) may name local folders,
    so a full run works offline. The folder,
    ``outputs/<run_name>`` (default ``dialogsum-lora-{recipe}``, or ``smoke``; ``{recipe}`` is
    replaced by the config's recipe, ``smoke`` in smoke mode), is named after the recipe so
    switching recipes never mixes checkpoints; it is on Google Drive with
    ``save_to_drive``, otherwise :func:`resolve_output_dir`; ``subfolder`` (e.g. one per
    method) goes below it. With ``announce``, prints the mode
    line, then the smoke banner or, for a full run without a GPU, the warning with a time
    estimate. Raises :class:`~dialogsum_peft.errors.ConfigError` for a setting that is not valid.
    """
    from .hardware import cpu_warning, describe_device
    from .hub import hub_reachable
    from .offline import resolve_mode, smoke_banner
    from .presets import check_method, check_recipe

    check_recipe(recipe, knob="the RECIPE knob")  # in every mode, smoke included
    check_method(method)
    sources = {
        "model_name": os.environ.get(MODEL_ENV) or model,
        "dataset_source": os.environ.get(DATA_ENV) or data,
    }
    local = all(v and Path(v).expanduser().is_dir() for v in sources.values())
    resolved = resolve_mode(mode, reachable=lambda: local or hub_reachable())
    common = dict(
        method=method, eval_limit=eval_size, **({} if seed is None else {"seed": seed})
    )  # None: TrainConfig's
    if resolved == "smoke":
        given = [knob for knob, v in zip(("MODEL", "DATA"), sources.values()) if v]
        if given:
            why = (
                f"DIALOGSUM_MODE={os.environ['DIALOGSUM_MODE']}"
                if os.environ.get("DIALOGSUM_MODE")
                else f"MODE={mode!r}"
                + (" and the Hugging Face Hub did not answer" if mode == "auto" else "")
            )
            raise ConfigError(
                f"{' and '.join(given)} apply to full mode, and this run is in "
                f"smoke mode ({why}), which trains the tiny T5 on the shipped "
                'sample: set MODE = "full" (offline when MODEL and DATA are both '
                f"local folders) or leave {' and '.join(given)} None"
            )
        config = TrainConfig.smoke(**{**common, **(smoke_schedule or {})})
    else:
        config = TrainConfig.auto(
            recipe=recipe, **common, **{k: v for k, v in sources.items() if v}
        )
    if run_name is None:
        run_name = "smoke" if config.is_smoke else "dialogsum-lora-{recipe}"
    run_name = run_name.format(recipe=config.recipe)
    folder = (
        Path(drive_output_dir(run_name))
        if save_to_drive
        else resolve_output_dir(Path("outputs") / run_name)
    )
    config.output_dir = str(folder / subfolder if subfolder else folder)
    if announce:
        print(
            f"MODE={mode!r} -> running in {resolved.upper()} mode (preset {config.preset!r}, "
            f"recipe {config.recipe!r}), writing to {folder}"
        )
        if config.is_smoke:
            print(smoke_banner(config.dataset_source, "trains on and scores"))
            print(
                f"RECIPE={recipe!r} applies in full mode; smoke mode trains its own short "
                f"schedule ({config.max_steps} steps x {config.effective_batch} examples)"
            )
        examples = (
            config.max_steps * config.effective_batch
            if config.max_steps > 0
            else round(config.num_train_epochs * DIALOGSUM_TRAIN_DIALOGUES)
        )
        warning = cpu_warning(describe_device(), examples, smoke=config.is_smoke)
        if warning:
            print(warning)
    return config


# ------------------------------------------------------------------------------- the set-up cells' reports
RUNTIME_HINT = "Runtime -> Change runtime type -> GPU"


def environment_report(info=None, versions: dict[str, str] | None = None) -> str:
    """Library versions and the device (``info``: a :class:`~dialogsum_peft.hardware.DeviceInfo`,
    this machine's by default), with one ``WARNING:`` line for each combination of versions known
    to break a notebook (:data:`~dialogsum_peft.versions.BREAKAGES`: the versions, what fails,
    the fix). ``versions``: the installed libraries' (:func:`~dialogsum_peft.versions.library_versions`)
    unless given. It runs before the mode is chosen, so on a CPU-only runtime it says what a GPU
    is needed for and where to get one, without a warning: the configuration
    (:func:`notebook_config`) warns when the run it sets up would train
    flan-t5-base on the CPU, and says nothing of the kind for a smoke run, which is meant for it."""
    from .hardware import describe_device
    from .versions import BREAKAGES, library_versions

    info = info or describe_device()
    installed = library_versions()
    versions = {**installed, **(versions or {})}
    lines = [f"{name:<16}{versions[name]}" for name in installed]
    lines.append(f"{'python':<16}{sys.version.split()[0]}")
    lines += [
        f"WARNING: {b.message(versions)}"
        for b in BREAKAGES
        if b.in_notebooks and b.applies(versions)
    ]
    if info.kind == "cuda":
        lines.append(
            f"{'device':<16}GPU: {info.name}, {info.total_memory_gib:.1f} GiB, "
            f"{'bf16 supported' if info.bf16 else 'no bf16 (fp32 will be used)'}"
        )
    else:
        lines.append(
            f"{'device':<16}CPU only: enough for the smoke mode (a tiny model, minutes); "
            "training flan-t5-base (full mode) needs a GPU, in Colab: "
            f"{RUNTIME_HINT} (a T4 is free)"
        )
    return "\n".join(lines)


def settings_table(configs):
    """The settings a learner should read, at most 12 rows (a DataFrame of strings, every cell
    shown whole: a data folder's path is often past pandas' 50 characters): model, data, method
    and its own settings, learning rate, training length, effective batch (batch x
    accumulation), precision, token lengths, test dialogues scored.

    One config: one column, without the rows its method does not have. A mapping (name ->
    config): one column per method, :data:`~dialogsum_peft.methods.NOT_APPLICABLE` where a
    setting does not apply. The full list is ``config.to_dict()``.
    """
    import pandas as pd

    from .display import captioned
    from .methods import NOT_APPLICABLE, method_settings

    single = isinstance(configs, TrainConfig)
    columns = {"setting": configs} if single else dict(configs)
    table = {}
    for name, c in columns.items():
        length = f"{c.max_steps} steps" if c.max_steps > 0 else f"{c.num_train_epochs:g} epochs"
        table[name] = {
            "model": c.model_name,
            "data": c.dataset_source,
            "method": c.method,
            **method_settings(c),
            "learning rate": f"{c.learning_rate:g}",
            "training length": length,
            "effective batch = batch x accumulation": f"{c.effective_batch} = "
            f"{c.per_device_train_batch_size} x {c.gradient_accumulation_steps}",
            "precision": c.precision,
            "tokens: prompt / summary": f"{c.max_source_length} / {c.max_target_length}",
            "test dialogues scored": "all" if c.eval_limit is None else str(c.eval_limit),
        }
    frame = pd.DataFrame(table)
    if single:
        frame = frame[frame["setting"] != NOT_APPLICABLE]
    return captioned(frame, None)


# ------------------------------------------------------------------------------- Google Drive
DRIVE_MOUNT_POINT = "/content/drive"


def drive_output_dir(
    run_name: str,
    mount: bool = True,
    mount_point: str = DRIVE_MOUNT_POINT,
    project: str = "dialogsum_peft",
) -> str:
    """``<mount_point>/MyDrive/<project>/<run_name>``: a Google Drive folder for a run's outputs.

    Checkpoints written there survive a Colab runtime reset, so a later session resumes with
    :meth:`~dialogsum_peft.run_folder.RunFolder.resume_or_start`. With ``mount=True`` Drive is
    mounted when it is not yet (Colab only: elsewhere a clear error says to use a local
    ``output_dir``).
    """
    from .hardware import in_colab

    if (
        not isinstance(run_name, str)
        or not re.fullmatch(r"[\w.-]+", run_name)
        or run_name in (".", "..")
    ):
        raise RunFolderError(
            f"run_name must be a plain folder name (letters, digits, '_', '-', "
            f"'.'), got {run_name!r}"
        )
    my_drive = Path(mount_point) / "MyDrive"
    if not my_drive.is_dir():
        if not mount:
            raise RunFolderError(
                f"Google Drive is not mounted at {mount_point}: mount it first "
                "(drive_output_dir(..., mount=True) in Colab) or save locally."
            )
        if not in_colab():
            raise RunFolderError(
                "Saving checkpoints to Google Drive works only inside Google Colab (this is not a "
                "Colab runtime). Set SAVE_TO_DRIVE = False to keep checkpoints in the local "
                "output_dir instead."
            )
        from google.colab import drive  # pragma: no cover - Colab only

        drive.mount(mount_point)  # pragma: no cover - Colab only
    path = my_drive / project / run_name
    path.mkdir(parents=True, exist_ok=True)
    return str(path)

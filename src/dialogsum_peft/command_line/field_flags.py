"""Which command takes which ``TrainConfig`` field as a flag, under what name and metavar.

Why here: :class:`~dialogsum_peft.config.TrainConfig` holds each setting's default, help and
range for the notebooks and the command line alike; which of its commands reads a setting, and
the flag's spelling, is the command line's own (its parser, :mod:`.flags`, and the refusals of
:mod:`.cli_config` name the flags from here), and so is each flag's help saying where its default
comes from (:func:`default_help`).
"""

from __future__ import annotations

import functools
from typing import Any

from ..config import TrainConfig
from ..recipes import RECIPES

ALL = ("train", "evaluate", "summarize")
TRAIN = ("train",)
GENERATE = ("evaluate", "summarize")
RUN_FOLDER = ("train", "evaluate")  # the commands that read a data set and write a run folder

# field: (the commands that take it, its flag(s) when not --<field-name>, its metavar). A field
# left out is no flag (preset: --preset; recipe: --recipe, made by the parser).
FIELD_FLAGS: dict[str, tuple[tuple[str, ...], str | tuple[str, ...] | None, str | None]] = {
    "model_name": ((*ALL, "export"), "--model", "NAME_OR_PATH"),
    "dataset_source": (RUN_FOLDER, "--dataset", "ID_OR_DIR"),
    "output_dir": (RUN_FOLDER, None, "DIR"),
    "seed": (TRAIN, None, None),
    "precision": (ALL, None, None),
    "attn_implementation": (ALL, None, None),
    "max_source_length": (ALL, None, "TOKENS"),
    "method": (TRAIN, None, None),
    "num_virtual_tokens": (TRAIN, None, "N"),
    "prompt_init_text": (TRAIN, None, "TEXT"),
    "lora_r": (TRAIN, None, "R"),
    "lora_alpha": (TRAIN, None, "ALPHA"),
    "lora_target_modules": (TRAIN, "--lora-targets", "q,v"),
    "lora_dropout": (TRAIN, None, "P"),
    "learning_rate": (TRAIN, ("--lr", "--learning-rate"), "LR"),
    "max_steps": (TRAIN, None, "N"),
    "num_train_epochs": (TRAIN, "--epochs", "E"),
    "per_device_train_batch_size": (TRAIN, "--batch-size", "N"),
    "gradient_accumulation_steps": (TRAIN, "--grad-accum", "N"),
    "warmup_steps": (TRAIN, None, "N"),
    "lr_scheduler_type": (TRAIN, "--lr-scheduler", None),
    "weight_decay": (TRAIN, None, None),
    "optim": (TRAIN, None, None),
    "gradient_checkpointing": (TRAIN, None, None),
    "torch_compile": (TRAIN, None, None),
    "dataloader_num_workers": (TRAIN, None, "N"),
    "train_sampling_strategy": (TRAIN, None, None),
    "pad_to_multiple_of": (TRAIN, None, None),
    "max_target_length": (TRAIN, None, "TOKENS"),
    "train_limit": (TRAIN, None, "N"),
    "eval_batch_size": (GENERATE, "--batch-size", "N"),
    "eval_limit": (("evaluate",), "--limit", "N"),
    "max_new_tokens": (GENERATE, None, "TOKENS"),
    "num_beams": (GENERATE, None, None),
    "merge_for_generation": (GENERATE, None, None),
    "logging_steps": (TRAIN, None, "N"),
    "eval_steps": (TRAIN, None, "N"),
    "save_steps": (TRAIN, None, "N"),
    "save_total_limit": (TRAIN, None, "N"),
}


def flags_of(name: str) -> tuple[str, ...]:
    """The flag(s) of ``TrainConfig`` field ``name`` (``lora_target_modules`` -> ``--lora-targets``;
    ``learning_rate`` -> ``--lr``, ``--learning-rate``)."""
    flag = FIELD_FLAGS[name][1] or "--" + name.replace("_", "-")
    return (flag,) if isinstance(flag, str) else flag


# ------------------------------------------------------------------ where a default comes from
# Where a flag's default comes from: the preset, and for the full presets the device (precision
# and batch split), the method (learning rate and its settings) and the recipe (length).
_REFERENCE_DEVICES = {
    "T4": ("cuda", "Tesla T4", 15.0, False),
    "A100 80 GB": ("cuda", "NVIDIA A100 80GB", 80.0, True),
    "CPU": ("cpu", "cpu", 0.0, False),
}


def _show(value: Any, sample: str) -> str:
    if isinstance(value, str) and value == sample:
        return "the shipped sample (data/dialogsum_sample)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(value)
    return "none" if value is None else str(value)


def _spread(values: dict[str, Any], sample: str) -> str:
    """``"a 1, b 2"`` when the values differ, else the one value."""
    shown = {k: _show(v, sample) for k, v in values.items()}
    if len(set(shown.values())) == 1:
        return next(iter(shown.values()))
    return ", ".join(f"{k} {v}" for k, v in shown.items())


def default_help(name: str) -> str:
    """``"default: ..."`` for a ``TrainConfig`` field: its value under each preset, and where a
    full preset's value depends on the method, the recipe or the device, each of those."""
    from ..settings import sample_data_dir

    return _default_helps(str(sample_data_dir()))[name]


@functools.lru_cache(maxsize=4)
def _default_helps(sample: str) -> dict[str, str]:
    """Every field's ``default_help``, from 14 configs built once per process (the parser shows
    ~50 fields; building a dozen configs for each took 0.07 to 0.2 s per parser here)."""
    from ..hardware import DeviceInfo
    from ..settings import METHOD_SETTINGS, METHODS

    t4 = DeviceInfo(*_REFERENCE_DEVICES["T4"])
    smoke_default = TrainConfig.smoke()
    smoke_by_method = {m: TrainConfig.smoke(method=m) for m in METHODS}
    full_by_method = {m: TrainConfig.for_device(t4, method=m) for m in METHODS}
    full_by_recipe = {r: TrainConfig.for_device(t4, recipe=r) for r in RECIPES}
    full_by_device = {
        label: TrainConfig.for_device(DeviceInfo(*info))
        for label, info in _REFERENCE_DEVICES.items()
    }

    def one(name: str) -> str:
        def values(configs: dict[str, TrainConfig], keys) -> dict[str, Any]:
            return {k: getattr(configs[k], name) for k in keys}

        def differ(shown: dict[str, Any]) -> bool:
            return len({_show(v, sample) for v in shown.values()}) > 1

        smoke = _show(getattr(smoke_default, name), sample)
        # LoRA's settings only mean something for the LoRA methods; the method flag is the method
        methods = (
            [m for m in METHODS if name in METHOD_SETTINGS[m]]
            if name.startswith("lora_")
            else ([] if name == "method" else METHODS)
        )
        by_method = values(full_by_method, methods)
        by_recipe = values(full_by_recipe, full_by_recipe)
        by_device = values(full_by_device, full_by_device)
        if differ(by_method):
            full = f"by method: {_spread(by_method, sample)}"
            smoke = f"by method: {_spread(values(smoke_by_method, methods), sample)}"
        elif differ(by_recipe):
            full = f"by recipe: {_spread(by_recipe, sample)}"
        elif differ(by_device):
            full = f"for the device: {_spread(by_device, sample)}"
        else:
            full = _show(by_device["T4"], sample)
        if full == smoke:
            return f"default: {full}"
        return f"default: {full} (full presets); {smoke} (smoke)"

    return {name: one(name) for name in TrainConfig.field_names()}

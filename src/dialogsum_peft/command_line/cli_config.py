"""What a command-line invocation asks for, turned into a validated ``TrainConfig``.

Why: the parser (:mod:`dialogsum_peft.cli`) calls the commands (:mod:`dialogsum_peft.commands`),
and the commands need the config the flags describe and the one-line command-line error (the
help saying where each flag's default comes from is :mod:`.field_flags`'s). They live here,
below both, so the imports only point down: ``cli`` → ``commands`` →
``cli_config``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..errors import DialogSumError
from ..recipes import RECIPE_FIELDS, RECIPES
from ..settings import METHOD_SETTINGS
from .field_flags import flags_of

PRESETS = ("smoke", "colab", "auto", "full")  # full: an alias of auto
DEFAULT_PRESET = "auto"


def config_from_preset(
    name: str, recipe: str | None = None, method: str | None = None, **overrides
) -> TrainConfig:
    """Preset ``name`` (``TrainConfig.smoke``, ``.colab`` or ``.auto``) built with ``recipe`` and
    ``method`` (``None``: the preset's own), then ``overrides`` field by field. Every preset takes
    every recipe and method; an unknown preset is a :class:`~dialogsum_peft.errors.ConfigError`."""
    from ..errors import ConfigError

    presets = dict(
        zip(PRESETS, (TrainConfig.smoke, TrainConfig.colab, TrainConfig.auto, TrainConfig.auto))
    )
    if name not in presets:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    chosen = {k: v for k, v in (("recipe", recipe), ("method", method)) if v is not None}
    return presets[name](**chosen, **overrides)


class CliError(DialogSumError):
    """A problem with the command line itself: reported in one line, exit status 2."""


# ------------------------------------------------------------------------------------ config
def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The fields stored in a JSON or YAML config file (e.g. a previous run's config.json)."""
    path = Path(path)
    if not path.is_file():
        raise CliError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as err:  # UnicodeDecodeError, OSError, json/yaml errors
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CliError(f"cannot read config file {path}: {first}") from None
    if not isinstance(data, dict):
        raise CliError(f"config file {path} must hold a mapping of TrainConfig fields")
    return data


# What --method sets besides the method (its learning rate in the recipe, recipes.LEARNING_RATES,
# and its own settings.METHOD_SETTINGS): --method replaces exactly these, like --recipe the fields
# of recipes.RECIPE_FIELDS.
METHOD_FIELDS = (
    "method",
    "learning_rate",
    *sorted({k for v in METHOD_SETTINGS.values() for k in v}),
)
# Flags of one method's own settings: refused with another method, where nothing reads them.
METHOD_ONLY_FIELDS = {
    "lora_r": ("lora", "lora-all"),
    "lora_alpha": ("lora", "lora-all"),
    "lora_target_modules": ("lora", "lora-all"),
    "lora_dropout": ("lora", "lora-all"),
    "num_virtual_tokens": ("prompt-tuning",),
    "prompt_init_text": ("prompt-tuning",),
}


def flag_of(name: str) -> str:
    """The command-line flag of ``TrainConfig`` field ``name`` (``lora_target_modules`` ->
    ``--lora-targets``)."""
    return flags_of(name)[0]


def given_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The ``TrainConfig`` fields the command line gave (a flag not given is absent: SUPPRESS)."""
    return {
        name: getattr(args, name)
        for name in TrainConfig.field_names() - {"preset"}
        if hasattr(args, name)
    }


def resolve_config(args: argparse.Namespace, trained_base: str | None = None) -> TrainConfig:
    """The config a command line describes, by one rule (docs/cli.md, "Where a setting comes
    from"): each layer replaces what the one before set.

    1. a preset: ``--preset``; without it, ``auto`` when there is no ``--config`` file, or the
       file's own ``preset`` when ``--recipe`` or ``--method`` asks for the settings they set
       (without those, a file stands alone: it holds every field of a saved run). The preset
       is built with the recipe and the method: the flags', else the file's;
    2. the ``--config`` file's fields, except those that a ``--recipe`` flag
       (:data:`~dialogsum_peft.recipes.RECIPE_FIELDS`) or ``--method`` flag
       (:data:`METHOD_FIELDS`) sets;
    3. every other flag (``--lr`` after ``--method``, ``--max-steps`` after ``--recipe``).

    A flag that cannot apply is refused (:class:`CliError`), never dropped: ``--max-steps``
    with ``--epochs``, a method's own settings with another method (``--lora-r`` with
    ``--method ia3``), ``--recipe`` or ``--method`` on a file that names no preset.

    ``trained_base``: the base model the ``--adapter`` of evaluate, summarize or export was
    trained on (:func:`~dialogsum_peft.export.trained_base`). When no ``--preset``, ``--config``
    or ``--model`` names a base, that one is loaded (the smoke preset for the smoke path's tiny
    T5, ``auto`` with ``--model <base>`` otherwise); one that names another base is refused
    (:class:`~dialogsum_peft.errors.AdapterError`, naming both), before anything is loaded.
    """
    file_values = load_config_file(args.config) if getattr(args, "config", None) else {}
    flags = given_flags(args)
    named = getattr(args, "preset", None) or file_values or "model_name" in flags
    if trained_base and not named:
        config = _adapter_base_config(trained_base, args, flags)
    else:
        config = _resolve(args, file_values, flags)
    if trained_base and named:
        _check_named_base(config, trained_base, args, file_values, flags)
    return config


def _adapter_base_config(base: str, args, flags: dict[str, Any]) -> TrainConfig:
    """The config of a command whose only base is the one its adapter records."""
    from ..errors import AdapterError
    from ..offline import is_smoke_base

    if is_smoke_base(base):
        return config_from_preset("smoke", **flags)
    if base.startswith(("/", "~", ".")) or os.path.isabs(base):
        if not Path(base).expanduser().is_dir():
            how = (
                "the smoke path's tiny T5 of another version of this package: train the "
                "adapter again with --preset smoke"
                if Path(base).name.startswith("dialogsum_peft-tiny-t5-")
                else "give --model with that base model (a folder or Hub id)"
            )
            raise AdapterError(
                f"the adapter {args.adapter} was trained on {base}, which is not here: {how}"
            )
    return _resolve(args, {}, {**flags, "model_name": base})


def _check_named_base(config: TrainConfig, base: str, args, file_values, flags) -> None:
    from ..adapters import other_base_message, same_base
    from ..errors import AdapterError

    if same_base(base, config.model_name):
        return
    what = (
        "--model"
        if "model_name" in flags
        else f"the --config file {args.config}"
        if "model_name" in file_values
        else f"--preset {getattr(args, 'preset', None) or DEFAULT_PRESET}"
    )
    raise AdapterError(
        other_base_message(args.adapter, base, config.model_name, f" ({what})")
        + " (without --model, --preset and --config the adapter's own base is "
        "loaded)"
    )


def _resolve(args, file_values: dict[str, Any], flags: dict[str, Any]) -> TrainConfig:
    flags = dict(flags)
    if "num_train_epochs" in flags:
        if "max_steps" in flags:
            raise CliError("give --max-steps or --epochs, not both")
        flags["max_steps"] = -1
    chosen = {k: flags.pop(k) for k in ("recipe", "method") if k in flags}
    preset = getattr(args, "preset", None)
    if file_values:
        _check_file(args.config, file_values, {*chosen, *flags})
        TrainConfig.from_dict({**file_values, **chosen, **flags})  # names unknown fields
    if preset is None and file_values and not chosen:
        return _check_method_flags(TrainConfig.from_dict({**file_values, **flags}), flags)
    if preset is None and file_values:
        preset = file_values.get("preset")
        if preset not in PRESETS:
            raise CliError(
                f"{' and '.join('--' + k for k in chosen)} rebuild(s) the settings of "
                f"a preset, and the config file {args.config} names none (preset "
                f"{preset!r}): add --preset {{{','.join(PRESETS)}}}"
            )
    owned = {
        *(RECIPE_FIELDS if "recipe" in chosen else ()),
        *(METHOD_FIELDS if "method" in chosen else ()),
    }
    layer = {k: v for k, v in file_values.items() if k != "preset" and k not in owned}
    recipe = chosen.get("recipe", layer.pop("recipe", None))
    method = chosen.get("method", layer.pop("method", None))
    preset = preset or DEFAULT_PRESET
    _check_file_recipe(args.config if file_values else None, preset, chosen, recipe)
    config = config_from_preset(preset, recipe=recipe, method=method, **{**layer, **flags})
    return _check_method_flags(config, flags)


def _check_file(path, file_values: dict[str, Any], given) -> None:
    """The ``--config`` file's own values (those no flag replaces) checked on their own, so
    that a value the user never typed is reported as the file's: one :class:`CliError`."""
    from ..errors import ConfigError

    try:
        TrainConfig.from_dict({k: v for k, v in file_values.items() if k not in given})
    except ConfigError as err:
        raise CliError(
            f"the config file {path}: {err} (correct it there, or give the setting as a flag)"
        ) from None


def _check_file_recipe(path, preset: str, chosen: dict, recipe) -> None:
    """The recipe a ``--config`` file gives (no ``--recipe`` flag) must be one ``preset`` can
    build; otherwise one :class:`CliError` naming the file as its source and the flag that
    chooses another (a smoke run's file holds the recipe "smoke", the smoke preset's own
    schedule, which the full presets do not train)."""
    recipes = (*RECIPES, "smoke") if preset == "smoke" else tuple(RECIPES)
    if path is None or "recipe" in chosen or recipe is None or recipe in recipes:
        return
    what = "the smoke preset's own schedule" if recipe == "smoke" else "not a recipe"
    raise CliError(
        f"the config file {path} names recipe {recipe!r} ({what}), which --preset {preset} "
        f"does not train: add --recipe {{{','.join(RECIPES)}}}"
    )


def _check_method_flags(config: TrainConfig, flags: dict[str, Any]) -> TrainConfig:
    for name, methods in METHOD_ONLY_FIELDS.items():
        if name in flags and config.method not in methods:
            raise CliError(
                f"{flag_of(name)} is a setting of --method {' or '.join(methods)}; "
                f"this run trains {config.method}: drop {flag_of(name)} or choose "
                f"that method"
            )
    return config

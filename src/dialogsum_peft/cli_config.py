"""What a command-line invocation asks for, turned into a validated ``TrainConfig``.

Why: the parser (:mod:`dialogsum_peft.cli`) calls the commands (:mod:`dialogsum_peft.commands`),
and the commands need the config the flags describe and the one-line command-line error. Both
live here, below the two, so the imports only point down: ``cli`` → ``commands`` → ``cli_config``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .errors import DialogSumError

DEFAULT_PRESET = "auto"


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


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """preset (+ recipe) → ``--config`` file → flags, validated by :class:`TrainConfig`.

    Without ``--preset`` a config file stands alone (it holds every field of a saved run);
    without either, the ``auto`` preset (Flan-T5-base, split for this device) is the start.
    """
    file_values = load_config_file(args.config) if getattr(args, "config", None) else {}
    flags = {name: getattr(args, name) for name in TrainConfig.field_names() - {"preset"}
             if hasattr(args, name)}
    if "num_train_epochs" in flags:
        if "max_steps" in flags:
            raise CliError("give --max-steps or --epochs, not both")
        flags["max_steps"] = -1
    preset = getattr(args, "preset", None)
    if file_values:
        TrainConfig.from_dict({**file_values, **flags})  # names unknown fields, checks values
    if preset is not None or not file_values:
        file_values = {k: v for k, v in file_values.items() if k != "preset"}
        return TrainConfig.from_preset(preset or DEFAULT_PRESET, **{**file_values, **flags})
    return TrainConfig.from_dict({**file_values, **flags})



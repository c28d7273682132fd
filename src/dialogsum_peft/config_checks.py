"""The checks every ``TrainConfig`` passes before a model is loaded or a file written.

Why: a value out of range (a negative learning rate, fp16, an empty module list) should fail at
once, in one line naming the field, not minutes later inside the Trainer. ``TrainConfig.validate``
runs :func:`check_config`; kept apart from :mod:`dialogsum_peft.config` so the settings and
presets read on their own.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from .errors import ConfigError

MAX_NEW_TOKENS_LIMIT = 512  # DialogSum summaries are at most ~120 Flan-T5 tokens
MAX_BEAMS = 16


def check_config(config) -> None:
    """Check every field's type, choices and range; raise :class:`ConfigError` naming the first
    bad one."""
    for f in dataclasses.fields(config):
        _check_type(f.name, getattr(config, f.name), f.type)
    for f in dataclasses.fields(config):
        choices = f.metadata.get("choices")
        if choices and getattr(config, f.name) not in choices:
            extra = (
                " (T5 overflows in fp16: the loss becomes NaN)"
                if getattr(config, f.name) == "fp16"
                else ""
            )
            raise ConfigError(
                f"{f.name} must be one of {', '.join(choices)}, got "
                f"{getattr(config, f.name)!r}{extra}"
            )
    checks = [
        (
            "learning_rate",
            0 < config.learning_rate <= 1 and math.isfinite(config.learning_rate),
            "in (0, 1]",
        ),
        ("per_device_train_batch_size", config.per_device_train_batch_size >= 1, "at least 1"),
        ("gradient_accumulation_steps", config.gradient_accumulation_steps >= 1, "at least 1"),
        ("eval_batch_size", config.eval_batch_size >= 1, "at least 1"),
        ("logging_steps", config.logging_steps >= 1, "at least 1"),
        ("save_steps", config.save_steps >= 1, "at least 1"),
        (
            "eval_steps",
            config.eval_steps >= 0 and math.isfinite(config.eval_steps),
            "0 (never), a fraction below 1, or a number of steps",
        ),
        ("save_total_limit", config.save_total_limit >= 1, "at least 1"),
        ("num_train_epochs", 0 < config.num_train_epochs <= 100, "in (0, 100]"),
        ("max_steps", config.max_steps == -1 or config.max_steps >= 1, "-1 (use epochs) or >= 1"),
        ("warmup_steps", config.warmup_steps >= 0, "at least 0"),
        ("weight_decay", 0 <= config.weight_decay < 1, "in [0, 1)"),
        ("train_limit", config.train_limit is None or config.train_limit >= 1, "None or >= 1"),
        ("eval_limit", config.eval_limit is None or config.eval_limit >= 1, "None or >= 1"),
        (
            "max_new_tokens",
            1 <= config.max_new_tokens <= MAX_NEW_TOKENS_LIMIT,
            f"between 1 and {MAX_NEW_TOKENS_LIMIT}",
        ),
        ("num_beams", 1 <= config.num_beams <= MAX_BEAMS, f"between 1 and {MAX_BEAMS}"),
        ("max_source_length", 8 <= config.max_source_length <= 4096, "between 8 and 4096"),
        ("max_target_length", 1 <= config.max_target_length <= 1024, "between 1 and 1024"),
        ("lora_r", config.lora_r >= 1, "at least 1"),
        ("lora_alpha", config.lora_alpha >= 1, "at least 1"),
        ("lora_dropout", 0 <= config.lora_dropout < 1, "in [0, 1)"),
        ("lora_target_modules", len(config.lora_target_modules) > 0, "at least one module name"),
        (
            "pad_to_multiple_of",
            config.pad_to_multiple_of is None or config.pad_to_multiple_of >= 1,
            "None or >= 1",
        ),
        ("seed", config.seed >= 0, "at least 0"),
        ("dataloader_num_workers", 0 <= config.dataloader_num_workers <= 64, "between 0 and 64"),
        ("num_virtual_tokens", 1 <= config.num_virtual_tokens <= 100, "between 1 and 100"),
        ("prompt_init_text", bool(config.prompt_init_text.strip()), "some text"),
    ]
    for name, ok, rule in checks:
        if not ok:
            raise ConfigError(f"{name} must be {rule}, got {getattr(config, name)!r}")


def _check_type(name: str, value: Any, annotation: str) -> None:
    """Raise :class:`ConfigError` when ``value`` does not fit the field's annotation."""
    optional = annotation.endswith("| None")
    base = annotation.replace("| None", "").strip()
    if value is None:
        if optional:
            return
        raise ConfigError(f"{name} must not be empty (null)")
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "tuple[str, ...]": isinstance(value, tuple)
        and all(isinstance(v, str) and v for v in value),
    }.get(base)
    if ok is None:  # pragma: no cover - a field with a type this check does not know
        raise TypeError(f"no type check for {name}: {annotation}")
    if not ok:
        wanted = {
            "int": "a whole number",
            "float": "a number",
            "str": "a string",
            "bool": "true or false",
            "tuple[str, ...]": "a list of names",
        }[base]
        raise ConfigError(f"{name} must be {wanted}, got {value!r} ({type(value).__name__})")

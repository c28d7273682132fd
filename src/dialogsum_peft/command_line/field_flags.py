"""Which command takes which ``TrainConfig`` field as a flag, under what name and metavar.

Why here: :class:`~dialogsum_peft.config.TrainConfig` holds each setting's default, help and
range for the notebooks and the command line alike; which of its commands reads a setting, and
the flag's spelling, is the command line's own (its parser, :mod:`.flags`, and the refusals of
:mod:`.cli_config` name the flags from here).
"""

from __future__ import annotations

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

"""Every setting of a run in one dataclass: its default, help text and range, and the presets.

Why: a tutorial's hyper-parameters end up scattered over notebook cells, command-line flags and
presets that drift apart. :class:`TrainConfig` is the one source: presets fill it, the notebooks
read it, the command line makes its flags from its fields, and :meth:`TrainConfig.validate`
checks every value before a model is loaded or a file written. A full-mode run is its *recipe*
and its *method* (:mod:`dialogsum_peft.recipes`); a GPU only decides the precision and how the
effective batch is split into per-device batch x accumulation, so ROUGE measured on an H100 says
something about a T4 run of the same recipe.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config_checks import MAX_NEW_TOKENS_LIMIT, check_config
from .errors import ConfigError
from .presets import Presets
from .recipes import DEFAULT_RECIPE, LEARNING_RATES, RECIPES, split_batch
from .settings import (
    BASE_MODEL,
    DEFAULT_METHOD,
    HUB_DATASET,
    METHOD_SETTINGS,
    METHODS,
    TINY_MODEL_NAME,
    weights_dtype,
)

# a config built field by field trains the default method
_DEFAULT = METHOD_SETTINGS[DEFAULT_METHOD]

PATH_FIELDS = ("output_dir", "model_name", "dataset_source")  # "~" expanded once, at creation


def _f(default, help: str, *, choices: tuple | None = None, resume_safe: bool = False):
    """A dataclass field with its help text (``--help`` shows it too), its ``choices`` and whether
    it may change when a run resumes (``resume_safe``: not part of :meth:`TrainConfig.identity`).
    Which commands take it as a flag is the command line's: :mod:`dialogsum_peft.command_line.flags`."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("use tuples for defaults")  # pragma: no cover - a programming slip
    return field(
        default=default, metadata={"help": help, "choices": choices, "resume_safe": resume_safe}
    )


@dataclass
class TrainConfig(Presets):
    """Every knob of a run. Start from a preset (:class:`~dialogsum_peft.presets.Presets`):
    ``TrainConfig.smoke()``, ``.colab()``, ``.auto()``."""

    preset: str = _f("custom", "where the values came from (smoke, colab, auto)", resume_safe=True)
    recipe: str = _f(
        DEFAULT_RECIPE,
        "full-mode training recipe (the same on every card): "
        + "; ".join(f"{r.name}: {r.description}" for r in RECIPES.values()),
        resume_safe=True,
    )
    model_name: str = _f(
        BASE_MODEL,
        "base model: a Hub id (google/flan-t5-base: needs the "
        "Hugging Face Hub the first time, about 1 GB, then its cache) or a local "
        "folder (a save_pretrained copy: no Hub); evaluate, summarize and export "
        "default to the base the --adapter was trained on",
    )
    dataset_source: str = _f(
        HUB_DATASET,
        "knkarthick/dialogsum (needs the Hub, or its cache) "
        "or a folder of .jsonl files (train.jsonl, validation.jsonl, "
        "test.jsonl: no Hub)",
    )
    output_dir: str = _f("outputs/dialogsum-lora", "the run folder", resume_safe=True)
    seed: int = _f(42, "seed of the adapter's initialisation and of the batch order")
    precision: str = _f(
        "fp32",
        "bf16 (Ampere or newer GPUs) or fp32; fp16 is refused: T5 overflows in it",
        choices=("bf16", "fp32"),
    )
    attn_implementation: str = _f(
        "eager",
        "attention kernel; eager is the measured default for "
        "T5's learned position bias (benchmarks/README.md). "
        "flex_attention is there to be measured: with transformers "
        "5.24 it fails for T5 at batch > 1 and with dropout",
        choices=("eager", "sdpa", "flex_attention"),
    )
    # 512 (Flan-T5's training length): 768/1024 keep 11 more of the 500 test prompts whole but
    # cost ~3x/~7x the time of the longest batches on CPU; their ROUGE effect is not measured yet
    # (benchmarks/results/source_length_limits-*.json); what 512 cuts is reported, not hidden.
    max_source_length: int = _f(512, "dialogue prompts are truncated to this many tokens")
    # what is trained (dialogsum_peft.methods)
    method: str = _f(
        DEFAULT_METHOD,
        "lora (r=32 on q,v), lora-all (r=16 on every linear layer), ia3, "
        "prompt-tuning, or full fine-tuning; a preset applies the method's learning "
        "rate and settings",
        choices=METHODS,
    )
    num_virtual_tokens: int = _f(20, "prompt tuning: trained input embeddings")
    prompt_init_text: str = _f(
        "Summarize the following conversation.",
        "prompt tuning: the text whose embeddings initialise the virtual tokens",
    )
    # LoRA
    lora_r: int = _f(_DEFAULT["lora_r"], "LoRA rank")
    lora_alpha: int = _f(_DEFAULT["lora_alpha"], "LoRA scale (the update is multiplied by alpha/r)")
    lora_target_modules: tuple[str, ...] = _f(
        _DEFAULT["lora_target_modules"], "comma-separated module names (T5: q,k,v,o,wi_0,wi_1,wo)"
    )
    lora_dropout: float = _f(0.05, "dropout on the adapter's input")
    # optimisation
    learning_rate: float = _f(LEARNING_RATES[DEFAULT_METHOD], "peak learning rate")
    max_steps: int = _f(250, "optimizer steps; -1: train --epochs instead")
    num_train_epochs: float = _f(1.0, "epochs (used when max_steps is -1)")
    per_device_train_batch_size: int = _f(
        8,
        "examples per forward pass of a one-process run; "
        "effective batch = this x --grad-accum on any number "
        "of processes (split across them)",
    )
    gradient_accumulation_steps: int = _f(1, "batches summed per optimizer step")
    warmup_steps: float = _f(0.0, "linear warm-up: steps, or a fraction of them when below 1")
    lr_scheduler_type: str = _f(
        "linear", "learning-rate schedule after warm-up", choices=("linear", "cosine", "constant")
    )
    weight_decay: float = _f(0.0, "AdamW weight decay")
    optim: str = _f(
        "adamw_torch", "Trainer optimizer name (adamw_torch, adamw_torch_fused, adafactor)"
    )
    gradient_checkpointing: bool = _f(False, "trade compute for memory")
    torch_compile: bool = _f(
        False,
        "compile the model (torch.compile); with pad_to_multiple_of "
        "64 or more only a few shapes compile. Not yet measured to help: off",
    )
    dataloader_num_workers: int = _f(
        0, "processes preparing batches beside training", resume_safe=True
    )
    train_sampling_strategy: str = _f(
        "group_by_length",
        "batch order: length-grouped (less padding) or random",
        choices=("group_by_length", "random"),
    )
    pad_to_multiple_of: int | None = _f(8, "pad batches to a multiple of this on GPUs")
    max_target_length: int = _f(128, "summaries are truncated to this many tokens")
    train_limit: int | None = _f(None, "use only the first N training dialogues")
    # evaluation / generation
    eval_batch_size: int = _f(32, "dialogues per generation batch", resume_safe=True)
    eval_limit: int | None = _f(
        None, "score only the first N dialogues of the split", resume_safe=True
    )
    max_new_tokens: int = _f(
        128, f"longest summary, 1 to {MAX_NEW_TOKENS_LIMIT} tokens", resume_safe=True
    )
    num_beams: int = _f(1, "1: greedy; more: beam search", resume_safe=True)
    merge_for_generation: bool = _f(
        False,
        "generate with the adapter's weights (LoRA, IA3) merged "
        "into a copy of the model (same summaries, no adapter "
        "overhead; the copy costs the model's memory once more; "
        "prompt tuning has nothing to merge)",
        resume_safe=True,
    )
    # logging / checkpoints
    logging_steps: int = _f(10, "log the loss every N steps", resume_safe=True)
    eval_steps: float = _f(
        0.2,
        "validation loss every N steps, or every such fraction of the run "
        "when below 1 (0.2: five times); 0: never. Forward passes only, on the "
        "validation split when the data has one",
        resume_safe=True,
    )
    save_steps: int = _f(50, "write a checkpoint every N steps", resume_safe=True)
    save_total_limit: int = _f(2, "checkpoints kept", resume_safe=True)

    def __post_init__(self):
        if isinstance(self.lora_target_modules, (list, tuple)):
            self.lora_target_modules = tuple(self.lora_target_modules)
        # A path the user gives is resolved once, here, whether it came from a flag (the shell
        # leaves ``--output-dir=~/x`` alone), a config file or Python: every reader and writer
        # then uses this one value. (A Hub id never starts with "~".)
        for name in PATH_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str) and value.startswith("~"):
                setattr(self, name, os.path.expanduser(value))
        # A local model folder is kept as an absolute path: the adapter records it as its base
        # (``base_model_name_or_path``), and evaluate/summarize/export load that base from any
        # working directory.
        if (
            isinstance(self.model_name, str)
            and self.model_name != TINY_MODEL_NAME
            and Path(self.model_name).is_dir()
        ):
            self.model_name = os.path.abspath(self.model_name)
        self.validate()

    # ---------------------------------------------------------------- validation
    def validate(self) -> TrainConfig:
        """Check every value's type and range; raise :class:`ConfigError` naming the first bad one."""
        check_config(self)
        return self

    # ---------------------------------------------------------------- (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["lora_target_modules"] = list(self.lora_target_modules)
        return d

    def save(self, path: str | os.PathLike) -> None:
        """Write the config as JSON atomically (a temporary file renamed into place)."""
        from .atomic import write_text_atomic

        write_text_atomic(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = sorted(set(data) - cls.field_names())
        if unknown:
            raise ConfigError(f"unknown TrainConfig field(s): {', '.join(unknown)}")
        return cls(**data)

    def generation_kwargs(self) -> dict[str, Any]:
        """The :func:`dialogsum_peft.generation.summarize` settings of this config."""
        return dict(
            batch_size=self.eval_batch_size,
            max_new_tokens=self.max_new_tokens,
            num_beams=self.num_beams,
            max_source_length=self.max_source_length,
        )

    def identity(self, world_size: int = 1) -> dict[str, Any]:
        """The settings that define what a training run computes (everything not resume-safe),
        with the number of processes and the effective batch it trains with.

        A checkpoint may only be resumed by a config with the same identity, on as many
        processes (each process's data order and RNG state are in the checkpoint); logging,
        checkpoint interval, evaluation and generation settings (``resume_safe`` fields) may change.
        """
        d = self.to_dict()
        identity = {
            f.name: d[f.name] for f in dataclasses.fields(self) if not f.metadata.get("resume_safe")
        }
        return {**identity, "world_size": world_size, "effective_batch": self.effective_batch}

    @property
    def effective_batch(self) -> int:
        """Examples per optimizer step: batch size x accumulation, on any number of processes
        (:meth:`for_world_size` splits it across them)."""
        return self.per_device_train_batch_size * self.gradient_accumulation_steps

    def for_world_size(self, world_size: int) -> TrainConfig:
        """This config on ``world_size`` data-parallel processes, with the same effective batch.

        The recipe's batch size x accumulation is what one optimizer step sees, so the number of
        training examples (steps x effective batch, or epochs) holds for any launch. Each process
        gets ``effective_batch / world_size`` examples per step, as the largest per-device batch
        not above the configured one times the accumulation that completes it.
        Raises :class:`ConfigError` when the effective batch is not a multiple of ``world_size``.
        """
        if world_size == 1:
            return self
        share, rest = divmod(self.effective_batch, world_size)
        if rest or world_size < 1:
            raise ConfigError(
                f"the effective batch {self.effective_batch} (batch size "
                f"{self.per_device_train_batch_size} x accumulation "
                f"{self.gradient_accumulation_steps}) cannot be split over {world_size} processes: "
                f"give --batch-size x --grad-accum a multiple of {world_size}, or launch "
                f"a number of processes that divides {self.effective_batch}"
            )
        per_device, accumulation = split_batch(share, self.per_device_train_batch_size)
        return dataclasses.replace(
            self, per_device_train_batch_size=per_device, gradient_accumulation_steps=accumulation
        )

    @property
    def torch_dtype(self):
        """The dtype the model's weights are loaded in (:func:`~dialogsum_peft.settings.weights_dtype`)."""
        return weights_dtype(self.precision, self.method)

    @property
    def is_smoke(self) -> bool:
        """The smoke path's tiny T5: :data:`TINY_MODEL_NAME`, or a folder of one (an adapter's
        recorded base)."""
        from .offline import is_smoke_folder

        return self.model_name == TINY_MODEL_NAME or is_smoke_folder(self.model_name)

    @property
    def model_path(self) -> str:
        """What ``from_pretrained`` loads: ``model_name`` itself (a Hub id or a local folder), or
        for the smoke preset's tiny T5 its folder (:func:`~dialogsum_peft.offline.tiny_base_dir`,
        built on first use)."""
        from .offline import resolve_model_path

        return resolve_model_path(self.model_name)

"""Every setting of a run in one dataclass, the recipes, and their validation.

Why: a tutorial's hyper-parameters end up scattered over notebook cells, command-line flags and
presets that drift apart. Here :class:`TrainConfig` is the one source: presets fill it, the
notebook reads it, the command line generates its flags from its fields (help text included),
and :meth:`TrainConfig.validate` checks every value before a model is loaded or a file written.

One recipe on every card: a full-mode run is defined by its *recipe* (effective batch, schedule
with warm-up, number of training examples, each method's learning rate) and its *method*; a GPU
only decides the precision and how the effective batch is split into per-device batch x gradient
accumulation. So ROUGE measured on an H100 says something about a T4 run of the same recipe.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config_checks import MAX_BEAMS, MAX_NEW_TOKENS_LIMIT, check_config  # noqa: F401
from .errors import ConfigError
from .recipes import DEFAULT_RECIPE, LEARNING_RATES, RECIPES, SMOKE_RECIPE, recipe_schedule
from .settings import (BASE_MODEL, DEFAULT_METHOD, HUB_DATASET, METHOD_SETTINGS,
                       TINY_MODEL_NAME, sample_data_dir, weights_dtype)

_DEFAULT = METHOD_SETTINGS[DEFAULT_METHOD]  # a config built field by field trains the default method

PRESETS = ("smoke", "colab", "auto", "full")  # full: an alias of auto
PATH_FIELDS = ("output_dir", "model_name", "dataset_source")  # "~" expanded once, at creation




def _f(default, help: str, *, cli: tuple[str, ...] = (), flag: str | None = None,
       choices: tuple | None = None, resume_safe: bool = False, metavar: str | None = None):
    """A dataclass field with its command-line help (``cli``: the commands that get the flag)."""
    meta = {"help": help, "cli": cli, "flag": flag, "choices": choices, "resume_safe": resume_safe,
            "metavar": metavar}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use tuples for defaults")  # pragma: no cover - a programming slip
    return field(default=default, metadata=meta)


# ``cli``: the commands that take the field as a flag (the others ignore it, so do not list it)
ALL_COMMANDS = ("train", "evaluate", "summarize")
TRAIN_ONLY = ("train",)
GENERATE = ("evaluate", "summarize")
RUN_FOLDER = ("train", "evaluate")  # commands that read a data set and write a run folder
@dataclass
class TrainConfig:
    """Every knob of a run. Start from a preset: ``TrainConfig.smoke()``, ``.colab()``, ``.auto()``."""

    preset: str = _f("custom", "where the values came from (smoke, colab, auto)", resume_safe=True)
    recipe: str = _f(DEFAULT_RECIPE, "full-mode training recipe (the same on every card): "
                     + "; ".join(f"{r.name}: {r.description}" for r in RECIPES.values()),
                     resume_safe=True)
    model_name: str = _f(BASE_MODEL, "base model: a Hub id (google/flan-t5-base: needs the "
                         "Hugging Face Hub the first time, about 1 GB, then its cache) or a local "
                         "folder (a save_pretrained copy: no Hub); evaluate, summarize and export "
                         "default to the base the --adapter was trained on",
                         cli=(*ALL_COMMANDS, "export"), flag="--model", metavar="NAME_OR_PATH")
    dataset_source: str = _f(HUB_DATASET, "knkarthick/dialogsum (needs the Hub, or its cache) "
                             "or a folder of .jsonl files (train.jsonl, validation.jsonl, "
                             "test.jsonl: no Hub)", cli=RUN_FOLDER, flag="--dataset",
                             metavar="ID_OR_DIR")
    output_dir: str = _f("outputs/dialogsum-lora", "the run folder", cli=RUN_FOLDER,
                         resume_safe=True, metavar="DIR")
    seed: int = _f(42, "seed of the adapter's initialisation and of the batch order", cli=TRAIN_ONLY)
    precision: str = _f("fp32", "bf16 (Ampere or newer GPUs) or fp32; fp16 is refused: T5 "
                        "overflows in it", cli=ALL_COMMANDS, choices=("bf16", "fp32"))
    attn_implementation: str = _f("eager", "attention kernel; eager is the measured default for "
                                  "T5's learned position bias (benchmarks/README.md). "
                                  "flex_attention is there to be measured: with transformers "
                                  "5.24 it fails for T5 at batch > 1 and with dropout",
                                  cli=ALL_COMMANDS, choices=("eager", "sdpa", "flex_attention"))
    # 512 (Flan-T5's training length): 768/1024 keep 11 more of the 500 test prompts whole but
    # cost ~3x/~7x the time of the longest batches on CPU; their ROUGE effect is not measured yet
    # (benchmarks/results/source_length_limits-*.json); what 512 cuts is reported, not hidden.
    max_source_length: int = _f(512, "dialogue prompts are truncated to this many tokens",
                                cli=ALL_COMMANDS, metavar="TOKENS")
    # what is trained (dialogsum_peft.methods)
    method: str = _f(DEFAULT_METHOD, "lora (r=32 on q,v), lora-all (r=16 on every linear layer), ia3, "
                     "prompt-tuning, or full fine-tuning; a preset applies the method's learning "
                     "rate and settings", cli=TRAIN_ONLY, choices=("lora", "lora-all", "ia3",
                                                                "prompt-tuning", "full"))
    num_virtual_tokens: int = _f(20, "prompt tuning: trained input embeddings", cli=TRAIN_ONLY,
                                 metavar="N")
    prompt_init_text: str = _f("Summarize the following conversation.", "prompt tuning: the "
                               "text whose embeddings initialise the virtual tokens", cli=TRAIN_ONLY,
                               metavar="TEXT")
    # LoRA
    lora_r: int = _f(_DEFAULT["lora_r"], "LoRA rank", cli=TRAIN_ONLY, metavar="R")
    lora_alpha: int = _f(_DEFAULT["lora_alpha"], "LoRA scale (the update is multiplied by alpha/r)", cli=TRAIN_ONLY,
                         metavar="ALPHA")
    lora_target_modules: tuple[str, ...] = _f(_DEFAULT["lora_target_modules"], "comma-separated module names (T5: "
                                              "q,k,v,o,wi_0,wi_1,wo)", cli=TRAIN_ONLY,
                                              flag="--lora-targets", metavar="q,v")
    lora_dropout: float = _f(0.05, "dropout on the adapter's input", cli=TRAIN_ONLY, metavar="P")
    # optimisation
    learning_rate: float = _f(LEARNING_RATES[DEFAULT_METHOD], "peak learning rate", cli=TRAIN_ONLY,
                              flag=("--lr", "--learning-rate"), metavar="LR")
    max_steps: int = _f(250, "optimizer steps; -1: train --epochs instead", cli=TRAIN_ONLY,
                        metavar="N")
    num_train_epochs: float = _f(1.0, "epochs (used when max_steps is -1)", cli=TRAIN_ONLY,
                                 flag="--epochs", metavar="E")
    per_device_train_batch_size: int = _f(8, "examples per forward pass of a one-process run; "
                                          "effective batch = this x --grad-accum on any number "
                                          "of processes (split across them)", cli=TRAIN_ONLY,
                                          flag="--batch-size", metavar="N")
    gradient_accumulation_steps: int = _f(1, "batches summed per optimizer step", cli=TRAIN_ONLY,
                                          flag="--grad-accum", metavar="N")
    warmup_steps: float = _f(0.0, "linear warm-up: steps, or a fraction of them when below 1",
                             cli=TRAIN_ONLY, metavar="N")
    lr_scheduler_type: str = _f("linear", "learning-rate schedule after warm-up", cli=TRAIN_ONLY,
                                flag="--lr-scheduler", choices=("linear", "cosine", "constant"))
    weight_decay: float = _f(0.0, "AdamW weight decay", cli=TRAIN_ONLY)
    optim: str = _f("adamw_torch", "Trainer optimizer name (adamw_torch, adamw_torch_fused, "
                    "adafactor)", cli=TRAIN_ONLY)
    gradient_checkpointing: bool = _f(False, "trade compute for memory", cli=TRAIN_ONLY)
    torch_compile: bool = _f(False, "compile the model (torch.compile); with pad_to_multiple_of "
                             "64 or more only a few shapes compile. Not yet measured to help: off",
                             cli=TRAIN_ONLY)
    dataloader_num_workers: int = _f(0, "processes preparing batches beside training",
                                     cli=TRAIN_ONLY, resume_safe=True, metavar="N")
    train_sampling_strategy: str = _f("group_by_length", "batch order: length-grouped (less "
                                      "padding) or random", cli=TRAIN_ONLY,
                                      choices=("group_by_length", "random"))
    pad_to_multiple_of: int | None = _f(8, "pad batches to a multiple of this on GPUs", cli=TRAIN_ONLY)
    max_target_length: int = _f(128, "summaries are truncated to this many tokens", cli=TRAIN_ONLY,
                                metavar="TOKENS")
    train_limit: int | None = _f(None, "use only the first N training dialogues", cli=TRAIN_ONLY,
                                 metavar="N")
    # evaluation / generation
    eval_batch_size: int = _f(32, "dialogues per generation batch", cli=GENERATE,
                              flag="--batch-size", resume_safe=True, metavar="N")
    eval_limit: int | None = _f(None, "score only the first N dialogues of the split",
                                cli=("evaluate",), flag="--limit", resume_safe=True, metavar="N")
    max_new_tokens: int = _f(128, f"longest summary, 1 to {MAX_NEW_TOKENS_LIMIT} tokens",
                             cli=GENERATE, resume_safe=True, metavar="TOKENS")
    num_beams: int = _f(1, "1: greedy; more: beam search", cli=GENERATE, resume_safe=True)
    merge_for_generation: bool = _f(False, "generate with the adapter's weights (LoRA, IA3) merged "
                                    "into a copy of the model (same summaries, no adapter "
                                    "overhead; the copy costs the model's memory once more; "
                                    "prompt tuning has nothing to merge)", cli=GENERATE,
                                    resume_safe=True)
    # logging / checkpoints
    logging_steps: int = _f(10, "log the loss every N steps", cli=TRAIN_ONLY, resume_safe=True,
                            metavar="N")
    eval_steps: float = _f(0.2, "validation loss every N steps, or every such fraction of the run "
                           "when below 1 (0.2: five times); 0: never. Forward passes only, on the "
                           "validation split when the data has one", cli=TRAIN_ONLY,
                           resume_safe=True, metavar="N")
    save_steps: int = _f(50, "write a checkpoint every N steps", cli=TRAIN_ONLY, resume_safe=True,
                         metavar="N")
    save_total_limit: int = _f(2, "checkpoints kept", cli=TRAIN_ONLY, resume_safe=True, metavar="N")

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
        if (isinstance(self.model_name, str) and self.model_name != TINY_MODEL_NAME
                and Path(self.model_name).is_dir()):
            self.model_name = os.path.abspath(self.model_name)
        self.validate()

    # ---------------------------------------------------------------- presets
    @classmethod
    def smoke(cls, method: str = DEFAULT_METHOD, recipe: str | None = None,
              **overrides) -> TrainConfig:
        """Offline: the shipped sample and a tiny random T5. Seconds on a CPU; outputs are gibberish.

        Its own schedule (:data:`~dialogsum_peft.recipes.SMOKE_RECIPE`): 30 steps instead of
        hundreds, so the method's learning rate is tripled. ``recipe`` (quick, thorough, own-data)
        trains that recipe's schedule instead (:func:`~dialogsum_peft.recipes.recipe_schedule`,
        at most 8 examples per forward pass), with the same model, data and learning rate.
        """
        settings = _method_settings(method)
        schedule = SMOKE_RECIPE if recipe in (None, "smoke") else RECIPES[_known_recipe(recipe)]
        base = dict(
            preset="smoke", model_name=TINY_MODEL_NAME, dataset_source=str(sample_data_dir()),
            output_dir="outputs/smoke", eval_batch_size=16, max_new_tokens=24, logging_steps=5,
            save_steps=10, **recipe_schedule(schedule, max_per_device=8, method=method),
        )
        base["learning_rate"] = SMOKE_RECIPE.learning_rates[method]  # on any schedule
        return cls(**{**base, **settings, **overrides})

    @classmethod
    def for_device(cls, info, preset: str = "auto", recipe: str = DEFAULT_RECIPE,
                   method: str = DEFAULT_METHOD, **overrides) -> TrainConfig:
        """Flan-T5-base on DialogSum: ``recipe`` and ``method`` as they are, precision and batch
        split for ``info``."""
        from .hardware import recommend

        card = recommend(info)
        settings = _method_settings(method)  # an unknown method: ConfigError, before the recipe
        base = dict(
            preset=preset, precision=card.precision, optim=card.optim,
            eval_batch_size=card.eval_batch_size,
            **recipe_schedule(RECIPES[_known_recipe(recipe)], card.train_batch_size, method),
        )
        # the method's own settings (settings.METHOD_SETTINGS); its learning rate: the recipe's
        return cls(**{**base, **settings, **overrides})

    @classmethod
    def colab(cls, recipe: str = DEFAULT_RECIPE, **overrides) -> TrainConfig:
        """Free Colab T4 (16 GB, no bf16): fp32, the effective batch as 8 x 4 accumulation steps."""
        from .hardware import DeviceInfo

        t4 = DeviceInfo("cuda", "Tesla T4", 15.0, bf16=False)
        return cls.for_device(t4, preset="colab", recipe=recipe, **overrides)

    @classmethod
    def auto(cls, recipe: str = DEFAULT_RECIPE, **overrides) -> TrainConfig:
        """Flan-T5-base sized for the device this process sees."""
        from .hardware import describe_device

        return cls.for_device(describe_device(), preset="auto", recipe=recipe, **overrides)

    @classmethod
    def from_preset(cls, name: str, recipe: str | None = None, method: str | None = None,
                    **overrides) -> TrainConfig:
        """Preset ``name`` built with ``recipe`` and ``method`` (``None``: the preset's own),
        then ``overrides`` field by field. Every preset takes every recipe and method."""
        presets = dict(zip(PRESETS, (cls.smoke, cls.colab, cls.auto, cls.auto)))
        if name not in presets:
            raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        chosen = {k: v for k, v in (("recipe", recipe), ("method", method)) if v is not None}
        return presets[name](**chosen, **overrides)

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
        return dict(batch_size=self.eval_batch_size, max_new_tokens=self.max_new_tokens,
                    num_beams=self.num_beams, max_source_length=self.max_source_length)

    def identity(self, world_size: int = 1) -> dict[str, Any]:
        """The settings that define what a training run computes (everything not resume-safe),
        with the number of processes and the effective batch it trains with.

        A checkpoint may only be resumed by a config with the same identity, on as many
        processes (each process's data order and RNG state are in the checkpoint); logging,
        checkpoint interval, evaluation and generation settings (``resume_safe`` fields) may change.
        """
        d = self.to_dict()
        identity = {f.name: d[f.name] for f in dataclasses.fields(self)
                    if not f.metadata.get("resume_safe")}
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
                f"a number of processes that divides {self.effective_batch}")
        per_device = max(b for b in range(1, min(share, self.per_device_train_batch_size) + 1)
                         if share % b == 0)
        return dataclasses.replace(self, per_device_train_batch_size=per_device,
                                   gradient_accumulation_steps=share // per_device)

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


def _known_recipe(recipe: str) -> str:
    if recipe not in RECIPES:
        raise ConfigError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    return recipe


def _method_settings(method: str) -> dict[str, Any]:
    if method not in METHOD_SETTINGS:
        raise ConfigError(f"method must be one of {', '.join(METHOD_SETTINGS)}, got {method!r}")
    return {"method": method, **METHOD_SETTINGS[method]}

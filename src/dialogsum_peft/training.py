"""LoRA training: one config dataclass with presets, the Trainer, and adapter save/reload.

Why: a tutorial's hyper-parameters end up scattered over notebook cells. Here one
:class:`TrainConfig` holds them, with presets for the offline smoke path, a free Colab T4 and
whatever GPU is present; :func:`make_trainer` turns it into a ``Seq2SeqTrainer`` with dynamic
padding, length-grouped batches, the right precision and a guard that stops on NaN loss.
Adapters are saved atomically as safetensors and reload to the very same outputs.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .data import HUB_DATASET, tokenize_split
from .hardware import DeviceInfo, describe_device, in_colab, recommend
from .modeling import BASE_MODEL, add_lora

TRAIN_COLUMNS = ("input_ids", "attention_mask", "labels")


@dataclass
class TrainConfig:
    """Every knob of a run. Start from a preset: ``TrainConfig.smoke()``, ``.colab()``, ``.auto()``."""

    preset: str = "custom"
    model_name: str = BASE_MODEL
    dataset_source: str = HUB_DATASET
    output_dir: str = "outputs/dialogsum-lora"
    # LoRA
    lora_r: int = 32
    lora_alpha: int = 32
    lora_target_modules: tuple[str, ...] = ("q", "v")
    lora_dropout: float = 0.05
    # optimisation
    learning_rate: float = 1e-3
    max_steps: int = 1000  # -1: train num_train_epochs instead
    num_train_epochs: float = 1.0
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    warmup_steps: int = 0
    weight_decay: float = 0.0
    optim: str = "adamw_torch"
    precision: str = "fp32"  # "bf16" or "fp32" (fp16 is refused: T5 overflows)
    gradient_checkpointing: bool = False
    train_sampling_strategy: str = "group_by_length"  # or "random" (the seed tutorial's order)
    pad_to_multiple_of: int | None = 8  # on GPUs: tensor-core friendly shapes; None on CPU
    # T5's attention adds a learned position bias; PyTorch's fused SDPA kernels cannot take a
    # bias that needs gradients, so "sdpa" falls back to a slow path. Measured on an H200 (LoRA,
    # bf16, batch 128): eager 349 samples/s and 106 GiB vs sdpa 235 samples/s and 115 GiB.
    attn_implementation: str = "eager"
    seed: int = 42
    # data
    max_source_length: int = 512
    max_target_length: int = 128
    train_limit: int | None = None  # use only the first N training dialogues
    # evaluation / generation
    eval_batch_size: int = 32
    eval_limit: int | None = None  # number of test dialogues to score (None: all)
    max_new_tokens: int = 128
    num_beams: int = 1
    # logging / checkpoints
    logging_steps: int = 10
    save_steps: int = 200
    save_total_limit: int = 2

    def __post_init__(self):
        self.lora_target_modules = tuple(self.lora_target_modules)
        if self.precision not in ("bf16", "fp32"):
            raise ValueError(
                f"precision must be 'bf16' or 'fp32', got {self.precision!r}"
                + (" (T5 overflows in fp16: loss becomes NaN)" if self.precision == "fp16" else "")
            )

    # ---------------------------------------------------------------- presets
    @classmethod
    def smoke(cls, **overrides) -> TrainConfig:
        """Offline: the shipped sample and a tiny random T5. Seconds on a CPU; outputs are gibberish."""
        from .offline import TINY_MODEL_NAME, sample_data_dir

        base = dict(
            preset="smoke", model_name=TINY_MODEL_NAME, dataset_source=str(sample_data_dir()),
            output_dir="outputs/smoke", learning_rate=3e-3, max_steps=30,
            per_device_train_batch_size=8, eval_batch_size=16, max_new_tokens=24,
            logging_steps=5, save_steps=10, precision="fp32", optim="adamw_torch",
        )
        return cls(**{**base, **overrides})

    @classmethod
    def colab(cls, **overrides) -> TrainConfig:
        """Free Colab T4 (16 GB, no bf16): fp32, batch 8, sized to finish in about half an hour."""
        return cls.for_device(DeviceInfo("cuda", "Tesla T4", 15.0, bf16=False), preset="colab",
                              **overrides)

    @classmethod
    def for_device(cls, info: DeviceInfo, preset: str = "full", **overrides) -> TrainConfig:
        """Flan-T5-base on DialogSum with precision and batch size chosen for ``info``."""
        rec = recommend(info)
        # Keep about the same number of training examples whatever the batch size.
        examples = 8000
        base = dict(
            preset=preset, precision=rec.precision, per_device_train_batch_size=rec.train_batch_size,
            eval_batch_size=rec.eval_batch_size, optim=rec.optim,
            max_steps=max(50, examples // rec.train_batch_size),
            learning_rate=1e-3 if rec.train_batch_size <= 16 else 2e-3,
            logging_steps=max(5, 80 // rec.train_batch_size),
        )
        return cls(**{**base, **overrides})

    @classmethod
    def auto(cls, **overrides) -> TrainConfig:
        """Flan-T5-base sized for the device this process sees."""
        return cls.for_device(describe_device(), **overrides)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> TrainConfig:
        presets = {"smoke": cls.smoke, "colab": cls.colab, "full": cls.auto, "auto": cls.auto}
        if name not in presets:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(presets)}")
        return presets[name](**overrides)

    # ---------------------------------------------------------------- (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["lora_target_modules"] = list(self.lora_target_modules)
        return d

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = sorted(set(data) - cls.field_names())
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s): {', '.join(unknown)}")
        return cls(**data)

    def generation_kwargs(self) -> dict[str, Any]:
        """The :func:`dialogsum_peft.generation.summarize` settings of this config."""
        return dict(batch_size=self.eval_batch_size, max_new_tokens=self.max_new_tokens,
                    num_beams=self.num_beams, max_source_length=self.max_source_length)

    @property
    def torch_dtype(self) -> torch.dtype:
        return torch.bfloat16 if self.precision == "bf16" else torch.float32

    @property
    def is_smoke(self) -> bool:
        from .offline import TINY_MODEL_NAME

        return self.model_name == TINY_MODEL_NAME


# -------------------------------------------------------------------------------- model
def load_base_model(config: TrainConfig, dataset_dict=None, device=None):
    """The base model and tokenizer a config names: Flan-T5 from the Hub, or the tiny offline T5.

    The tiny T5's tokenizer is trained on ``dataset_dict`` (the smoke sample) and cached in
    ``<output_dir>/tiny-base`` so every step of a run uses the same one.
    """
    from .modeling import default_device, load_model_and_tokenizer

    device = torch.device(device) if device is not None else default_device()
    if config.is_smoke:
        from transformers import AutoTokenizer, T5ForConditionalGeneration

        from .offline import sample_texts, tiny_model_and_tokenizer

        cache = Path(config.output_dir) / "tiny-base"
        if (cache / "config.json").is_file() and (cache / "tokenizer.json").is_file():
            model = T5ForConditionalGeneration.from_pretrained(
                cache, attn_implementation=config.attn_implementation)
            tokenizer = AutoTokenizer.from_pretrained(cache)
        else:
            if dataset_dict is None:
                raise ValueError("the tiny smoke model needs the dataset to train its tokenizer on")
            tiny_model_and_tokenizer(sample_texts(dataset_dict), save_dir=cache, seed=config.seed)
            return load_base_model(config, device=device)
        return model.to(device), tokenizer
    return load_model_and_tokenizer(config.model_name, dtype=config.torch_dtype, device=device,
                                    attn_implementation=config.attn_implementation)


def add_lora_from_config(model, config: TrainConfig):
    """Wrap ``model`` with LoRA as ``config`` says; the adapter init is seeded with ``config.seed``.

    Without the seed, LoRA's random ``lora_A`` init depends on whatever used the global RNG
    before (e.g. whether the tiny base was built or loaded from cache), so two runs with the
    same config would train different adapters and a resumed run could not be compared.
    """
    from transformers import set_seed

    set_seed(config.seed)
    return add_lora(model, r=config.lora_r, alpha=config.lora_alpha,
                    target_modules=config.lora_target_modules, dropout=config.lora_dropout)


# -------------------------------------------------------------------------------- trainer
class NonFiniteLossError(RuntimeError):
    """Training loss (or the trained weights) became NaN or inf."""


def non_finite_parameters(model, trainable_only: bool = True) -> list[str]:
    """Names of (trainable) parameters holding a NaN or inf: empty when the weights are sound."""
    return [name for name, p in model.named_parameters()
            if (p.requires_grad or not trainable_only) and not torch.isfinite(p).all()]


def _precision_advice(args) -> str:
    precision = "fp16" if args.fp16 else ("bf16" if args.bf16 else "fp32")
    return (f"(precision {precision}, learning rate {args.learning_rate}). "
            "T5 overflows in fp16: use precision 'bf16' on an Ampere-or-newer GPU or "
            "'fp32' elsewhere (Colab T4), and/or lower the learning rate. ")


def _nan_guard_callback():
    from transformers import TrainerCallback

    class NaNGuard(TrainerCallback):
        """Stop at the first NaN/inf loss or gradient norm, saying why and what to do.

        The logged loss is checked in ``on_log``. A checkpoint can be due before the next log
        (``save_steps`` smaller than ``logging_steps``), so before every save ``on_step_end``
        also checks the trainable weights: a checkpoint with NaN weights is never written.
        """

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if control.should_save and model is not None:
                bad = non_finite_parameters(model)
                if bad:
                    raise NonFiniteLossError(
                        f"trainable weights became NaN/inf at step {state.global_step} "
                        f"({len(bad)} tensors, e.g. {bad[0]}) " + _precision_advice(args)
                        + f"Training was stopped before checkpoint-{state.global_step} was "
                        "saved, so no NaN weights are on disk."
                    )

        def on_log(self, args, state, control, logs=None, **kwargs):
            for key in ("loss", "grad_norm"):
                value = (logs or {}).get(key)
                if value is not None and not math.isfinite(float(value)):
                    raise NonFiniteLossError(
                        f"training {key} became {value} at step {state.global_step} "
                        + _precision_advice(args)
                        + "Training was stopped so no NaN weights are saved."
                    )

    return NaNGuard()


def _supported(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Drop arguments this transformers version does not know (and map renamed ones)."""
    params = inspect.signature(cls.__init__).parameters
    out = dict(kwargs)
    if "train_sampling_strategy" not in params and "train_sampling_strategy" in out:
        strategy = out.pop("train_sampling_strategy")
        if "group_by_length" in params:
            out["group_by_length"] = strategy == "group_by_length"
    return {k: v for k, v in out.items() if k in params}


def training_arguments(config: TrainConfig, **overrides):
    """``Seq2SeqTrainingArguments`` for ``config`` (no per-step evaluation, checkpoints kept)."""
    from transformers import Seq2SeqTrainingArguments

    kwargs = dict(
        output_dir=str(Path(config.output_dir) / "checkpoints"),
        per_device_train_batch_size=config.per_device_train_batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        max_steps=config.max_steps,
        num_train_epochs=config.num_train_epochs,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        optim=config.optim,
        bf16=config.precision == "bf16",
        fp16=False,
        gradient_checkpointing=config.gradient_checkpointing,
        train_sampling_strategy=config.train_sampling_strategy,
        eval_strategy="no",
        logging_strategy="steps",
        logging_steps=config.logging_steps,
        logging_nan_inf_filter=False,  # a NaN must reach the guard, not be averaged away
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        save_only_model=False,
        seed=config.seed,
        data_seed=config.seed,
        report_to="none",
        remove_unused_columns=False,
        predict_with_generate=False,
        dataloader_num_workers=0,
        use_cpu=not torch.cuda.is_available(),
    )
    for key in ("fp16", "fp16_full_eval", "half_precision_backend"):
        if key in overrides and overrides[key] not in (False, None, "auto"):
            raise ValueError(f"{key}={overrides[key]!r} refused: T5 overflows in fp16 (the loss "
                             "becomes NaN). Use TrainConfig(precision='bf16') on an Ampere-or-newer "
                             "GPU, or 'fp32' elsewhere.")
    kwargs.update(overrides)
    return Seq2SeqTrainingArguments(**_supported(Seq2SeqTrainingArguments, kwargs))


def prepare_datasets(dataset_dict, tokenizer, config: TrainConfig):
    """Tokenized train (and validation, if present) splits with only the model's columns."""
    out = {}
    for split in ("train", "validation"):
        if split not in dataset_dict:
            continue
        ds = dataset_dict[split]
        if split == "train" and config.train_limit:
            ds = ds.select(range(min(config.train_limit, len(ds))))
        tokenized = tokenize_split(ds, tokenizer, config.max_source_length, config.max_target_length,
                                   desc=f"tokenizing {split}")
        out[split] = tokenized.select_columns(list(TRAIN_COLUMNS))
    if "train" not in out:
        from .data import require_split

        require_split(dataset_dict, "train")
    return out


def _resumable_trainer_class():
    """``Seq2SeqTrainer`` whose length-grouped batch order depends only on (data_seed, epoch).

    transformers builds the training ``LengthGroupedSampler`` without a generator, so each
    epoch's shuffle comes from the global torch RNG at the moment the epoch starts. A run resumed
    in the middle of a later epoch starts that epoch from a different RNG state (the checkpoint's
    RNG is restored only after the dataloader was created) and sees other batches than the
    uninterrupted run would have. Seeding the sampler with ``data_seed + epoch`` (the way
    accelerate's ``SeedableRandomSampler`` does for plain shuffling) makes resume exact.
    """
    from transformers import Seq2SeqTrainer
    from transformers.trainer_pt_utils import LengthGroupedSampler

    class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
        def __init__(self, batch_size: int, lengths: list[int], seed: int):
            super().__init__(batch_size, lengths=lengths, generator=torch.Generator())
            self.seed = seed
            self.epoch = 0

        def set_epoch(self, epoch: int) -> None:  # called by accelerate's DataLoaderShard
            self.epoch = epoch

        def __iter__(self):
            self.generator.manual_seed(self.seed + self.epoch)
            return super().__iter__()

    class ResumableSeq2SeqTrainer(Seq2SeqTrainer):
        def _get_train_sampler(self, *args, **kwargs):  # signature differs across versions
            sampler = super()._get_train_sampler(*args, **kwargs)
            if type(sampler) is LengthGroupedSampler:
                seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
                return EpochSeededLengthGroupedSampler(sampler.batch_size, sampler.lengths, seed)
            return sampler

    return ResumableSeq2SeqTrainer


def make_trainer(model, tokenizer, datasets, config: TrainConfig, callbacks=None, **arg_overrides):
    """A ``Seq2SeqTrainer`` for LoRA training of ``model`` on ``datasets['train']``.

    ``datasets`` is the raw DatasetDict from :func:`dialogsum_peft.data.load_dialogsum` (it is
    tokenized here with the training prompt) or a dict of already tokenized splits (datasets or
    plain sequences of ``{"input_ids", "attention_mask", "labels"}`` dicts). Batches are padded
    per batch (``DataCollatorForSeq2Seq``, labels padded with -100) and grouped by length.
    Checkpoints every ``config.save_steps`` hold adapter, optimizer, scheduler and RNG state;
    ``trainer.train(resume_from_checkpoint=find_last_checkpoint(config.output_dir))`` continues
    a killed run to exactly the weights and losses of an uninterrupted one.
    """
    from transformers import DataCollatorForSeq2Seq

    from .data import require_split

    train = require_split(datasets, "train")
    if "input_ids" not in getattr(train, "column_names", ["input_ids"]):
        datasets = prepare_datasets(datasets, tokenizer, config)
    collator = DataCollatorForSeq2Seq(
        tokenizer, model=model, label_pad_token_id=-100,
        pad_to_multiple_of=config.pad_to_multiple_of if torch.cuda.is_available() else None,
    )
    args = training_arguments(config, **arg_overrides)
    trainer = _resumable_trainer_class()(
        model=model, args=args, data_collator=collator, train_dataset=datasets["train"],
        eval_dataset=datasets.get("validation"), processing_class=tokenizer,
        callbacks=[_nan_guard_callback(), *(callbacks or [])],
    )
    # T5's forward accepts **kwargs but ignores num_items_in_batch and returns the mean over its
    # own batch. Seeing **kwargs, the Trainer would assume a loss normalised over the whole
    # accumulated, all-process batch: it would multiply it by the number of processes and skip
    # the division by the accumulation steps (loss and gradients N times too large).
    trainer.model_accepts_loss_kwargs = False
    return trainer


def loss_history(trainer_or_state) -> list[tuple[int, float]]:
    """(step, training loss) pairs logged during training, for the loss curve."""
    state = getattr(trainer_or_state, "state", trainer_or_state)
    return [(int(e["step"]), float(e["loss"])) for e in state.log_history if "loss" in e]


CHECKPOINT_STATE_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt", "rng_state.pth")


def is_complete_checkpoint(path: str | os.PathLike) -> bool:
    """True when a ``checkpoint-N`` folder holds everything an exact resume needs.

    The Trainer writes a checkpoint file by file (weights, optimizer, scheduler, RNG state,
    ``trainer_state.json`` last) straight into its final folder, so a run killed while saving
    leaves a folder that looks like a checkpoint but cannot be resumed from.
    """
    path = Path(path)
    has_weights = _is_adapter_dir(path) or any(
        (path / n).is_file() for n in ("model.safetensors", "model.safetensors.index.json"))
    return has_weights and all((path / n).is_file() for n in CHECKPOINT_STATE_FILES)


def find_last_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """The newest complete ``checkpoint-N`` folder of a run (to resume from), or ``None``.

    Incomplete folders (a run killed while saving) are skipped with a warning.
    """
    import logging

    ckpt_root = Path(output_dir) / "checkpoints"
    if not ckpt_root.is_dir():
        return None
    found = sorted(
        (int(m.group(1)), p) for p in ckpt_root.iterdir()
        if p.is_dir() and (m := re.fullmatch(r"checkpoint-(\d+)", p.name))
    )
    for _, path in reversed(found):
        if is_complete_checkpoint(path):
            return str(path)
        logging.getLogger(__name__).warning(
            "skipping incomplete checkpoint %s (interrupted while saving?)", path)
    return None


DRIVE_MOUNT_POINT = "/content/drive"


def drive_output_dir(run_name: str, mount: bool = True, mount_point: str = DRIVE_MOUNT_POINT,
                     project: str = "dialogsum_peft") -> str:
    """``<mount_point>/MyDrive/<project>/<run_name>``: a Google Drive folder for a run's outputs.

    Checkpoints written there survive a Colab runtime reset, so a later session resumes with
    ``find_last_checkpoint``. With ``mount=True`` Drive is mounted when it is not yet (Colab
    only: elsewhere a clear ``RuntimeError`` says to use a local ``output_dir``). With
    ``mount=False`` the Drive must already be mounted at ``mount_point``.
    """
    if not isinstance(run_name, str) or not re.fullmatch(r"[\w.-]+", run_name) or run_name in (".", ".."):
        raise ValueError(f"run_name must be a plain folder name (letters, digits, '_', '-', '.'), "
                         f"got {run_name!r}")
    my_drive = Path(mount_point) / "MyDrive"
    if not my_drive.is_dir():
        if not mount:
            raise RuntimeError(f"Google Drive is not mounted at {mount_point}: mount it first "
                               "(drive_output_dir(..., mount=True) in Colab) or save locally.")
        if not in_colab():
            raise RuntimeError(
                "Saving checkpoints to Google Drive works only inside Google Colab (this is not a "
                "Colab runtime). Set SAVE_TO_DRIVE = False to keep checkpoints in the local "
                "output_dir instead.")
        from google.colab import drive  # pragma: no cover - Colab only

        drive.mount(mount_point)  # pragma: no cover - Colab only
    path = my_drive / project / run_name
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


# -------------------------------------------------------------------------------- adapters
def _is_adapter_dir(path: Path) -> bool:
    return (path / "adapter_config.json").is_file() and any(
        (path / n).is_file() for n in ("adapter_model.safetensors", "adapter_model.bin")
    )


def save_adapter(model, path: str | os.PathLike, tokenizer=None) -> Path:
    """Save the LoRA adapter (safetensors) atomically: written to a temporary folder, then renamed.

    A crash while saving leaves either the previous adapter or none, never a half-written one.
    Returns the adapter folder.
    """
    path = Path(path)
    bad = non_finite_parameters(model)
    if bad:
        raise NonFiniteLossError(f"refusing to save an adapter with NaN/inf weights ({len(bad)} "
                                 f"tensors, e.g. {bad[0]}); nothing was written to {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        if not _is_adapter_dir(tmp):
            raise RuntimeError(f"saving produced no adapter files in {tmp}")
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            path.rename(old)
        tmp.rename(path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_adapter(base_model, path: str | os.PathLike, is_trainable: bool = False):
    """Attach a saved LoRA adapter to ``base_model`` (a fresh copy of the same base)."""
    from peft import PeftModel

    return PeftModel.from_pretrained(base_model, check_adapter_dir(path), is_trainable=is_trainable)


def check_adapter_dir(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it holds a saved peft adapter; a clear error otherwise."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"adapter folder not found: {path}")
    if not _is_adapter_dir(path):
        raise ValueError(f"{path} is not a peft adapter folder (it needs adapter_config.json and "
                         "adapter_model.safetensors, as training writes into <output-dir>/adapter)")
    return path


def merge_adapter(peft_model):
    """Fold the LoRA weights into the base weights and return a plain transformers model."""
    return peft_model.merge_and_unload()


def adapter_size_mb(path: str | os.PathLike) -> float:
    """Size of the adapter's weight file(s) in MB."""
    path = Path(path)
    return sum(f.stat().st_size for f in path.glob("adapter_model.*")) / 1e6

"""The Trainer setup shared by the notebook, the command line and the benchmarks.

Why: ``Seq2SeqTrainer`` does the training; three things it gets wrong for this tutorial are
fixed in :class:`DialogSumTrainer`, so the notebook cell that builds a trainer shows plain
Hugging Face arguments and names this one class:

* T5 returns the mean loss of its own batch but accepts ``**kwargs``; seeing them, the Trainer
  assumes a loss summed over the accumulated, all-process batch and scales loss and gradients by
  the number of processes and accumulation steps. We tell it the loss is a per-batch mean.
* the length-grouped sampler shuffles with the global RNG, so a run resumed mid-epoch sees other
  batches; ours is seeded by ``(data_seed, epoch)`` and resumes exactly.
* guards stop a run whose loss becomes NaN/inf, explodes, or whose gradient norm is zero or
  inf, before any checkpoint or adapter with broken weights is written.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import sys
from pathlib import Path
from typing import Any

import torch
from transformers import Seq2SeqTrainer, TrainerCallback
from transformers.trainer_pt_utils import LengthGroupedSampler

from .config import TrainConfig
from .errors import ConfigError, TrainingError
from .modeling import non_finite_parameters
from .recipes import epochs_warning

TRAIN_COLUMNS = ("input_ids", "attention_mask", "labels")
DIVERGENCE_FACTOR = 3.0  # a logged loss this many times the first logged loss means divergence


def housekeeping_arguments(config: TrainConfig) -> dict[str, Any]:
    """The ``Seq2SeqTrainingArguments`` keywords that run the training safely and reproducibly
    but teach nothing about fine-tuning: the notebook's training cell passes them in one call
    (``**housekeeping_arguments(config)``) beside the arguments it writes out, and
    :func:`training_arguments` uses the same call.

    * ``logging_nan_inf_filter=False``: a NaN loss must reach the guard, not be averaged away;
    * ``seed``/``data_seed``: the same initialisation and batch order on every run;
    * ``report_to="none"``: no experiment tracker;
    * ``use_cpu``: without a GPU, accelerate would ignore torchrun's environment and every
      process would train alone (the CPU runs of the tests start two processes);
    * ``dataloader_num_workers``, ``torch_compile``, ``activation_checkpointing``,
      ``train_sampling_strategy`` (length-grouped batches: less padding): speed and memory
      settings from the config.
    """
    return dict(
        logging_nan_inf_filter=False,
        seed=config.seed,
        data_seed=config.seed,
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=config.dataloader_num_workers,
        torch_compile=config.torch_compile,
        activation_checkpointing=config.gradient_checkpointing,
        train_sampling_strategy=config.train_sampling_strategy,
    )


def training_arguments(config: TrainConfig, **overrides):
    """``Seq2SeqTrainingArguments`` for ``config``: the same values the notebook's cell shows
    (the lesson's arguments written out, the rest from :func:`housekeeping_arguments`).

    Under a launcher (``WORLD_SIZE`` processes) the per-device batch and accumulation are
    :meth:`TrainConfig.for_world_size` of the config's, so the effective batch is the recipe's
    on any launch (a :class:`ConfigError` when it cannot be split).
    """
    import transformers
    from transformers import Seq2SeqTrainingArguments

    config = config.for_world_size(int(os.environ.get("WORLD_SIZE", "1")))

    for key in ("fp16", "fp16_full_eval"):
        if overrides.get(key):
            raise ConfigError(f"{key}=True refused: T5 overflows in fp16 (the loss becomes NaN). "
                              "Use precision 'bf16' on an Ampere-or-newer GPU, or 'fp32'.")
    kwargs: dict[str, Any] = dict(
        output_dir=str(Path(config.output_dir) / "checkpoints"),
        per_device_train_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_steps,
        max_steps=config.max_steps,
        num_train_epochs=config.num_train_epochs,
        weight_decay=config.weight_decay,
        optim=config.optim,
        bf16=config.precision == "bf16",
        logging_steps=config.logging_steps,
        # validation loss a few times per run (no generation: cheap); off when eval_steps is 0
        eval_strategy="steps" if config.eval_steps > 0 else "no",
        eval_steps=config.eval_steps if config.eval_steps > 0 else None,
        per_device_eval_batch_size=config.per_device_train_batch_size,
        prediction_loss_only=True,  # keep no logits (500 x length x 32,128 floats)
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        **housekeeping_arguments(config),
    )
    kwargs.update(overrides)
    params = inspect.signature(Seq2SeqTrainingArguments.__init__).parameters
    unknown = sorted(k for k in kwargs if k not in params)
    if unknown:
        raise ConfigError(f"Seq2SeqTrainingArguments of transformers {transformers.__version__} "
                          f"has no argument(s) {', '.join(unknown)}")
    try:
        return Seq2SeqTrainingArguments(**kwargs)
    except ValueError as err:  # e.g. an optimizer name this version does not know
        raise ConfigError(" ".join(str(err).split())[:300]) from None


def prepare_datasets(dataset_dict, tokenizer, config: TrainConfig) -> dict:
    """Tokenized train (and validation, if present) splits with only the model's columns.

    Prints one warning line per split when truncation cut dialogues or summaries, and one when
    dialogues hold characters the tokenizer maps to ``<unk>`` (:mod:`dialogsum_peft.input_report`),
    and one when a step-based recipe would pass more than 5 times over the training split
    (:func:`dialogsum_peft.recipes.epochs_warning`).
    """
    from .data import (build_prompt, require_split, tokenize_split, truncation_counts,
                       truncation_warning)
    from .input_report import measure_inputs

    require_split(dataset_dict, "train")
    out = {}
    for split in ("train", "validation"):
        if split not in dataset_dict:
            continue
        ds = dataset_dict[split]
        if split == "train" and config.train_limit:
            ds = ds.select(range(min(config.train_limit, len(ds))))
        tokenized = tokenize_split(ds, tokenizer, config.max_source_length,
                                   config.max_target_length, desc=f"tokenizing {split}")
        warning = truncation_warning(truncation_counts(tokenized), config.max_source_length,
                                     config.max_target_length, split)
        _say_once(warning)
        # truncation is counted above (summaries too); here what <unk> takes from the prompts
        lost = measure_inputs([build_prompt(d) for d in ds["dialogue"]], tokenizer,
                              None).message(f"{split} dialogues")
        _say_once(lost and f"warning: {lost}")
        out[split] = tokenized.select_columns(list(TRAIN_COLUMNS))
    if not _schedule_sized_for(config):
        _say_once(epochs_warning(config.max_steps, config.effective_batch, len(out["train"])))
    return out


def _schedule_sized_for(config: TrainConfig) -> bool:
    """True for the smoke preset on the shipped sample: its 30 steps are meant to pass over the
    sample's 40 dialogues several times (a pipeline check, not a model)."""
    from .settings import sample_data_dir

    return config.is_smoke and Path(config.dataset_source).resolve() == sample_data_dir().resolve()


def _say_once(warning: str | None) -> None:
    """Print ``warning`` on stderr from the main process only (once, not once per process)."""
    if warning and int(os.environ.get("RANK", "0")) == 0:
        print(warning, file=sys.stderr, flush=True)


# -------------------------------------------------------------------------------- guards
def _advice(args) -> str:
    precision = "bf16" if args.bf16 else ("fp16" if args.fp16 else "fp32")
    return (f"(precision {precision}, learning rate {args.learning_rate}). Lower the learning "
            "rate; T5 overflows in fp16: use 'bf16' on an Ampere-or-newer GPU or 'fp32'.")


class DivergenceGuard(TrainerCallback):
    """Stop at a NaN/inf or exploding loss, a zero/inf gradient norm, or NaN weights.

    The logged loss and gradient norm are checked in ``on_log``. A checkpoint can be due
    before the next log, so before every save the trainable weights are checked too: a
    checkpoint with NaN weights is never written.
    """

    def __init__(self):
        self.first_loss = None

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if control.should_save and model is not None:
            bad = non_finite_parameters(model)
            if bad:
                raise TrainingError(
                    f"trainable weights became NaN/inf at step {state.global_step} "
                    f"({len(bad)} tensors, e.g. {bad[0]}) {_advice(args)} Training stopped "
                    f"before checkpoint-{state.global_step}: no NaN weights are on disk.")

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        loss, grad = logs.get("loss"), logs.get("grad_norm")
        problem = None
        if loss is not None and not math.isfinite(float(loss)):
            problem = f"training loss became {loss}"
        elif grad is not None and (not math.isfinite(float(grad)) or float(grad) == 0.0):
            problem = f"gradient norm became {grad}"
        elif loss is not None:
            if self.first_loss is None:
                self.first_loss = float(loss)
            elif float(loss) > DIVERGENCE_FACTOR * self.first_loss:
                problem = (f"training loss diverged: {float(loss):.4g}, more than "
                           f"{DIVERGENCE_FACTOR:g}x the first logged loss {self.first_loss:.4g}")
        if problem:
            raise TrainingError(f"{problem} at step {state.global_step} {_advice(args)} "
                                "Training stopped before any adapter was written.")


# -------------------------------------------------------------------------------- trainer
class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
    """Length-grouped batches whose order depends only on ``seed + epoch``."""

    def __init__(self, batch_size: int, lengths: list[int], seed: int):
        super().__init__(batch_size, lengths=lengths, generator=torch.Generator())
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:  # called by accelerate's DataLoaderShard
        self.epoch = epoch

    def __iter__(self):
        self.generator.manual_seed(self.seed + self.epoch)
        return super().__iter__()


class DialogSumTrainer(Seq2SeqTrainer):
    """``Seq2SeqTrainer`` + per-batch-mean loss scaling, exact resume, divergence guards; without
    an ``eval_dataset`` (data with no validation split) the validation loss is switched off."""

    def __init__(self, *args, callbacks=None, **kwargs):
        training_args = kwargs.get("args")
        if (kwargs.get("eval_dataset") is None and training_args is not None
                and training_args.eval_strategy != "no"):  # no validation split: nothing to score
            kwargs["args"] = dataclasses.replace(training_args, eval_strategy="no", eval_steps=None)
        super().__init__(*args, callbacks=[DivergenceGuard(), *(callbacks or [])], **kwargs)
        self.model_accepts_loss_kwargs = False  # T5's loss is already a per-batch mean

    def _get_train_sampler(self, *args, **kwargs):  # signature differs across versions
        sampler = super()._get_train_sampler(*args, **kwargs)
        if type(sampler) is LengthGroupedSampler:
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return EpochSeededLengthGroupedSampler(sampler.batch_size, sampler.lengths, seed)
        return sampler


def data_collator(tokenizer, model, config: TrainConfig):
    """``DataCollatorForSeq2Seq``: pads each batch (labels with -100, which the loss ignores)."""
    from transformers import DataCollatorForSeq2Seq

    multiple = config.pad_to_multiple_of if torch.cuda.is_available() else None
    return DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100,
                                  pad_to_multiple_of=multiple)


def make_trainer(model, tokenizer, datasets, config: TrainConfig, callbacks=None, args=None,
                 **arg_overrides):
    """A :class:`DialogSumTrainer` for ``model`` on ``datasets['train']`` (the CLI's trainer).

    ``datasets`` is the DatasetDict of :func:`dialogsum_peft.data.load_dialogsum` (tokenized
    here with the training prompt) or a dict of already tokenized splits. ``args``: training
    arguments already built by :func:`training_arguments` (else built here with ``arg_overrides``).
    """
    from .data import require_split

    train = require_split(datasets, "train")
    if "input_ids" not in getattr(train, "column_names", ["input_ids"]):
        datasets = prepare_datasets(datasets, tokenizer, config)
    args = args or training_arguments(config, **arg_overrides)
    return DialogSumTrainer(
        model=model, args=args,
        data_collator=data_collator(tokenizer, model, config), train_dataset=datasets["train"],
        eval_dataset=datasets.get("validation"), processing_class=tokenizer, callbacks=callbacks,
    )


def _logged(trainer_or_state, key: str) -> list[tuple[int, float]]:
    """(step, value) of every ``log_history`` entry that holds ``key``."""
    state = getattr(trainer_or_state, "state", trainer_or_state)
    return [(int(e["step"]), float(e[key])) for e in state.log_history if key in e]


def loss_history(trainer_or_state) -> list[tuple[int, float]]:
    """(step, training loss) pairs logged during training, for the loss curve."""
    return _logged(trainer_or_state, "loss")


def loss_log(trainer_or_state) -> list[dict[str, float]]:
    """One row per logged step, ``{"step", "loss", "validation_loss"}`` with the keys that were
    logged at that step (what ``loss_history.csv``/``.json`` hold), in step order."""
    rows: dict[int, dict[str, float]] = {}
    for step, loss in loss_history(trainer_or_state):
        rows.setdefault(step, {"step": step})["loss"] = loss
    for step, loss in validation_loss_history(trainer_or_state):
        rows.setdefault(step, {"step": step})["validation_loss"] = loss
    return [rows[step] for step in sorted(rows)]


def validation_loss_history(trainer_or_state) -> list[tuple[int, float]]:
    """(step, validation loss) pairs: the Trainer's ``eval_loss`` on the validation split,
    logged every ``eval_steps`` (empty when the run had no validation split or eval_steps 0)."""
    return _logged(trainer_or_state, "eval_loss")

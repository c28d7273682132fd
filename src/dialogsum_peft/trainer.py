"""``DialogSumTrainer``: ``Seq2SeqTrainer`` with the three fixes this tutorial needs, in this one
file, and the arguments and collator the notebooks, the command line and the benchmarks give it.

* T5 returns the mean loss of its own batch but accepts ``**kwargs``; seeing them, the Trainer
  assumes a loss summed over the accumulated, all-process batch and scales loss and gradients by
  the number of processes and accumulation steps. We tell it the loss is a per-batch mean.
* the length-grouped sampler shuffles with the global RNG, so a run resumed mid-epoch sees other
  batches; :class:`EpochSeededLengthGroupedSampler` is seeded by ``(data_seed, epoch)``.
* :class:`DivergenceGuard` stops a run whose loss becomes NaN/inf, explodes, or whose gradient
  norm is zero or inf, before any checkpoint or adapter with broken weights is written.

How its logs read and are read back (the loss curve): :mod:`dialogsum_peft.training_log`.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import math
import os
from pathlib import Path
from typing import Any

import torch
from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments, TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback
from transformers.trainer_pt_utils import LengthGroupedSampler

from .config import TrainConfig
from .errors import ConfigError, TrainingError, quiet_library_notes
from .modeling import non_finite_parameters
from .training_log import (
    FractionStepsNoteFilter,
    LogLines,
    MtimeNoteFilter,
    ProgressLines,
    SessionSteps,
    session_metrics,
    session_report,
    validation_report,
)

DIVERGENCE_FACTOR = 3.0  # a logged loss this many times the first logged loss means divergence


def _advice(args) -> str:
    precision = "bf16" if args.bf16 else ("fp16" if args.fp16 else "fp32")
    return (
        f"(precision {precision}, learning rate {args.learning_rate}). Lower the learning "
        "rate; T5 overflows in fp16: use 'bf16' on an Ampere-or-newer GPU or 'fp32'."
    )


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
                    f"before checkpoint-{state.global_step}: no NaN weights are on disk."
                )

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
                problem = (
                    f"training loss diverged: {float(loss):.4g}, more than "
                    f"{DIVERGENCE_FACTOR:g}x the first logged loss {self.first_loss:.4g}"
                )
        if problem:
            raise TrainingError(
                f"{problem} at step {state.global_step} {_advice(args)} "
                "Training stopped before any adapter was written."
            )


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
        if (
            kwargs.get("eval_dataset") is None
            and training_args is not None
            and training_args.eval_strategy != "no"
        ):  # no validation split: nothing to score
            kwargs["args"] = dataclasses.replace(training_args, eval_strategy="no", eval_steps=None)
        super().__init__(
            *args, callbacks=[DivergenceGuard(), SessionSteps(), *(callbacks or [])], **kwargs
        )
        self.model_accepts_loss_kwargs = False  # T5's loss is already a per-batch mean
        for printer, lines in ((PrinterCallback, LogLines), (ProgressCallback, ProgressLines)):
            if any(type(c) is printer for c in self.callback_handler.callbacks):
                self.remove_callback(printer)  # raw dicts out, one readable line per log in
                self.add_callback(lines)

    def train(self, resume_from_checkpoint=None, *args, **kwargs):
        """``Trainer.train`` without notes no one can act on: the libraries'
        (:data:`~dialogsum_peft.errors.LIBRARY_NOTES`), and transformers' resume note about
        ``eval_steps`` given as a fraction and its "mtime may not be reliable" note
        (:mod:`~dialogsum_peft.training_log`).
        Resuming a run of several CPU processes with a transformers that cannot
        (:data:`~dialogsum_peft.versions.BREAKAGES`) raises
        :class:`~dialogsum_peft.versions.BrokenVersionsError` before anything is loaded."""
        from .versions import require_working

        if resume_from_checkpoint and self.args.world_size > 1 and self.args.device.type == "cpu":
            require_working("cpu-multiprocess-resume")
        logger = logging.getLogger("transformers.trainer_utils")
        filters = [FractionStepsNoteFilter(self), MtimeNoteFilter()]
        for note_filter in filters:
            logger.addFilter(note_filter)
        try:
            with quiet_library_notes():  # DataLoader's pin_memory note on a CPU, peft's property
                return super().train(resume_from_checkpoint, *args, **kwargs)
        finally:
            for note_filter in filters:
                logger.removeFilter(note_filter)

    def _session(self) -> SessionSteps:
        return next(c for c in self.callback_handler.callbacks if isinstance(c, SessionSteps))

    def session_report(self, result) -> str:
        """One line on what the last ``trainer.train()`` (its ``result``) did in this session
        (:func:`~dialogsum_peft.training_log.session_report`)."""
        return session_report(self._session(), self.state, result.metrics)

    def validation_report(self, result) -> str:
        """One line on the validation passes of the last ``trainer.train()``
        (:func:`~dialogsum_peft.training_log.validation_report`)."""
        return validation_report(self._session(), self.state, result.metrics)

    def training_step(self, model, inputs, *args, **kwargs):
        """``Trainer.training_step``, counting the examples of each batch this process trains
        on (:class:`~dialogsum_peft.training_log.SessionSteps`)."""
        self._session().examples += len(inputs["input_ids"])
        return super().training_step(model, inputs, *args, **kwargs)

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        """``Trainer.log``; at the end of training (the log with ``train_runtime``, which every
        process writes) it adds this session's measured figures
        (:func:`~dialogsum_peft.training_log.session_metrics`: optimizer steps, examples of all
        processes, each per second), in place: ``trainer.train().metrics`` holds them too."""
        if "train_runtime" in logs:
            session = self._session()
            examples = torch.tensor(session.examples, device=self.args.device)
            if self.args.world_size > 1:  # every process is here: a collective call is safe
                examples = self.accelerator.reduce(examples, reduction="sum")
            steps = self.state.global_step - session.start_step if session.trained else 0
            logs.update(session_metrics(steps, int(examples.item()), logs["train_runtime"]))
        super().log(logs, *args, **kwargs)

    def _get_eval_sampler(self, eval_dataset):
        """transformers before 5.2x groups validation batches by length with the global RNG, so
        two evaluations of the same weights give two validation losses (each batch's mean loss
        is weighted by its examples): seeded here as in newer versions."""
        sampler = super()._get_eval_sampler(eval_dataset)
        if type(sampler) is LengthGroupedSampler and sampler.generator is None:
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return LengthGroupedSampler(
                sampler.batch_size,
                lengths=sampler.lengths,
                generator=torch.Generator().manual_seed(seed),
            )
        return sampler

    def _get_train_sampler(self, *args, **kwargs):  # signature differs across versions
        sampler = super()._get_train_sampler(*args, **kwargs)
        if type(sampler) is LengthGroupedSampler:
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return EpochSeededLengthGroupedSampler(sampler.batch_size, sampler.lengths, seed)
        return sampler


# transformers 5.24 renamed ``gradient_checkpointing`` to ``activation_checkpointing`` and warns on
# the old name; 5.15 to 5.23 (Colab's 5.15 among them) know only the old one.
_CHECKPOINTING_ARGUMENT = (
    "activation_checkpointing"
    if "activation_checkpointing" in {f.name for f in dataclasses.fields(Seq2SeqTrainingArguments)}
    else "gradient_checkpointing"
)


def housekeeping_arguments(config: TrainConfig) -> dict[str, Any]:
    """The ``Seq2SeqTrainingArguments`` keywords that run the training safely and reproducibly
    but teach nothing about fine-tuning: the notebook's training cell passes them in one call
    (``**housekeeping_arguments(config)``) beside the arguments it writes out, and
    :func:`training_arguments` uses the same call.

    ``logging_nan_inf_filter=False`` (a NaN loss must reach the guard); ``seed``/``data_seed``
    (the same initialisation and batch order on every run); ``report_to="none"``; ``use_cpu``
    without a GPU (else accelerate ignores torchrun's environment and every CPU process trains
    alone); and the config's speed and memory settings: ``dataloader_num_workers``,
    ``torch_compile``, ``activation_checkpointing`` (before transformers 5.24
    ``gradient_checkpointing``), ``train_sampling_strategy`` (length-grouped: less padding).
    """
    return dict(
        logging_nan_inf_filter=False,
        seed=config.seed,
        data_seed=config.seed,
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=config.dataloader_num_workers,
        torch_compile=config.torch_compile,
        **{_CHECKPOINTING_ARGUMENT: config.gradient_checkpointing},
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

    config = config.for_world_size(int(os.environ.get("WORLD_SIZE", "1")))

    for key in ("fp16", "fp16_full_eval"):
        if overrides.get(key):
            raise ConfigError(
                f"{key}=True refused: T5 overflows in fp16 (the loss becomes NaN). "
                "Use precision 'bf16' on an Ampere-or-newer GPU, or 'fp32'."
            )
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
        raise ConfigError(
            f"Seq2SeqTrainingArguments of transformers {transformers.__version__} "
            f"has no argument(s) {', '.join(unknown)}"
        )
    try:
        return Seq2SeqTrainingArguments(**kwargs)
    except ValueError as err:  # e.g. an optimizer name this version does not know
        raise ConfigError(" ".join(str(err).split())[:300]) from None


def data_collator(tokenizer, model, config: TrainConfig):
    """``DataCollatorForSeq2Seq``: pads each batch (labels with -100, which the loss ignores)."""
    from transformers import DataCollatorForSeq2Seq

    multiple = config.pad_to_multiple_of if torch.cuda.is_available() else None
    return DataCollatorForSeq2Seq(
        tokenizer, model=model, label_pad_token_id=-100, pad_to_multiple_of=multiple
    )

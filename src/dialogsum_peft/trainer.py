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
import logging
import os
import sys
from pathlib import Path
from typing import Any

import torch
from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments
from transformers.trainer_callback import PrinterCallback, ProgressCallback
from transformers.trainer_pt_utils import LengthGroupedSampler

from .config import TrainConfig
from .recipes import epochs_warning
from .errors import ConfigError, quiet_library_notes
from .trainer_parts import (DivergenceGuard, EpochSeededLengthGroupedSampler, FractionStepsNoteFilter,
                            LogLines, MtimeNoteFilter, ProgressLines, SessionSteps,
                            session_report, validation_report)

TRAIN_COLUMNS = ("input_ids", "attention_mask", "labels")
# transformers 5.24 renamed ``gradient_checkpointing`` to ``activation_checkpointing`` and warns on
# the old name; 5.15 to 5.23 (Colab's 5.15 among them) know only the old one.
_CHECKPOINTING_ARGUMENT = ("activation_checkpointing"
                           if "activation_checkpointing" in {
                               f.name for f in dataclasses.fields(Seq2SeqTrainingArguments)}
                           else "gradient_checkpointing")


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
    * ``dataloader_num_workers``, ``torch_compile``, ``activation_checkpointing`` (before
      transformers 5.24: ``gradient_checkpointing``, its deprecated alias since),
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

    Prints one warning line per split when truncation cut dialogues or summaries, and one per
    text field (dialogues, summaries) whose texts hold characters the tokenizer maps to ``<unk>``
    (:func:`dialogsum_peft.input_report.training_text_losses`),
    and one when a step-based recipe would pass more than 5 times over the training split
    (:func:`dialogsum_peft.recipes.epochs_warning`).
    """
    from .data import require_split, tokenize_split, truncation_counts, truncation_warning
    from .input_report import training_text_losses

    require_split(dataset_dict, "train")
    out = {}
    for split in ("train", "validation"):
        if split not in dataset_dict:
            continue
        ds = dataset_dict[split]
        if split == "train" and config.train_limit:
            ds = ds.select(range(min(config.train_limit, len(ds))))
        tokenized = tokenize_split(ds, tokenizer, max_source_length=config.max_source_length,
                                   max_target_length=config.max_target_length,
                                   desc=f"tokenizing {split}")
        warning = truncation_warning(truncation_counts(tokenized), config.max_source_length,
                                     config.max_target_length, split)
        _say_once(warning)
        for line in training_text_losses(ds, tokenizer, split):  # <unk> in prompts and labels
            _say_once(line)
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


class DialogSumTrainer(Seq2SeqTrainer):
    """``Seq2SeqTrainer`` + per-batch-mean loss scaling, exact resume, divergence guards; without
    an ``eval_dataset`` (data with no validation split) the validation loss is switched off."""

    def __init__(self, *args, callbacks=None, **kwargs):
        training_args = kwargs.get("args")
        if (kwargs.get("eval_dataset") is None and training_args is not None
                and training_args.eval_strategy != "no"):  # no validation split: nothing to score
            kwargs["args"] = dataclasses.replace(training_args, eval_strategy="no", eval_steps=None)
        super().__init__(*args, callbacks=[DivergenceGuard(), SessionSteps(), *(callbacks or [])],
                         **kwargs)
        self.model_accepts_loss_kwargs = False  # T5's loss is already a per-batch mean
        for printer, lines in ((PrinterCallback, LogLines), (ProgressCallback, ProgressLines)):
            if any(type(c) is printer for c in self.callback_handler.callbacks):
                self.remove_callback(printer)  # raw dicts out, one readable line per log in
                self.add_callback(lines)

    def train(self, resume_from_checkpoint=None, *args, **kwargs):
        """``Trainer.train``, without notes no one can act on (:data:`~dialogsum_peft.errors.
        LIBRARY_NOTES`, and two of transformers: the resume
        note about ``eval_steps`` given as a fraction and the "mtime may not be reliable" note
        (:class:`~dialogsum_peft.trainer_parts.FractionStepsNoteFilter`, ``MtimeNoteFilter``).
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

    def session_report(self, result) -> str:
        """What the last ``train()`` (``result``) trained in this session, in one line
        (:func:`~dialogsum_peft.trainer_parts.session_report`)."""
        return session_report(self, result)

    def validation_report(self, result) -> str:
        """This session's validation passes and their share of its time, in one line
        (:func:`~dialogsum_peft.trainer_parts.validation_report`)."""
        return validation_report(self, result)

    def _get_eval_sampler(self, eval_dataset):
        """transformers before 5.2x groups validation batches by length with the global RNG, so
        two evaluations of the same weights give two validation losses (each batch's mean loss
        is weighted by its examples): seeded here as in newer versions."""
        sampler = super()._get_eval_sampler(eval_dataset)
        if type(sampler) is LengthGroupedSampler and sampler.generator is None:
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return LengthGroupedSampler(sampler.batch_size, lengths=sampler.lengths,
                                        generator=torch.Generator().manual_seed(seed))
        return sampler

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

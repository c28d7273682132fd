"""The pieces :class:`~dialogsum_peft.trainer.DialogSumTrainer` adds to ``Seq2SeqTrainer``, and
the readers of its log.

Why a module of their own: they are Trainer internals (a callback, a sampler, ``log_history``),
tested on their own, while :mod:`dialogsum_peft.trainer` stays what the notebooks and the command
line call.

* :class:`DivergenceGuard` stops a run whose loss becomes NaN/inf or explodes, or whose gradient
  norm is zero or inf, before any checkpoint or adapter with broken weights is written.
* :class:`EpochSeededLengthGroupedSampler`: the length-grouped sampler shuffles with the global
  RNG, so a run resumed mid-epoch would see other batches; this one is seeded by
  ``(data_seed, epoch)`` and resumes exactly.
* :func:`loss_history`, :func:`validation_loss_history`, :func:`loss_log`: the training and
  validation losses the Trainer logged, for the loss curve and ``loss_history.csv``/``.json``.
* :class:`FractionStepsNoteFilter` takes out of transformers' resume note the lines that compare
  a step interval given as a fraction of the run with the step count it resolved to.
"""

from __future__ import annotations

import logging
import math
import re

import torch
from transformers import TrainerCallback
from transformers.trainer_pt_utils import LengthGroupedSampler

from .errors import TrainingError
from .modeling import non_finite_parameters

DIVERGENCE_FACTOR = 3.0  # a logged loss this many times the first logged loss means divergence


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


# One line of transformers' resume note (trainer_utils.compare_trainer_and_checkpoint_args).
_MISMATCH = re.compile(r"^\t(\w+): (\S+) \(from args\) != (\S+) \(from trainer_state\.json\)$")


class FractionStepsNoteFilter(logging.Filter):
    """A filter for the ``transformers.trainer_utils`` logger while ``trainer`` trains.

    Why: on resume, transformers compares ``TrainingArguments`` with the checkpoint's
    ``TrainerState`` and warns about every difference, but it compares ``eval_steps=0.2`` (our
    recipes' "every fifth of the run") with the 6 steps that fraction became in a 30-step run:
    every resume of an unchanged run printed a warning no one can act on. The lines of such a
    fraction and its ``ceil(fraction * max_steps)`` (transformers' own rounding in
    ``TrainerState.compute_steps``) are taken out of the note, and a note left with none is
    dropped; every other line, and a note in another format, is shown as transformers wrote it.
    """

    def __init__(self, trainer):
        super().__init__()
        self.trainer = trainer

    def filter(self, record: logging.LogRecord) -> bool:
        lines = record.getMessage().split("\n")
        if "do not match the ones in the `trainer_state.json`" not in lines[0]:
            return True
        kept = [line for line in lines[1:]
                if not ((m := _MISMATCH.match(line)) and self._resolved(m[2], m[3]))]
        if len(kept) == len(lines) - 1:
            return True
        record.msg, record.args = "\n".join([lines[0], *kept]), ()
        return any(line.strip() for line in kept)

    def _resolved(self, from_args: str, from_state: str) -> bool:
        try:
            fraction, steps = float(from_args), float(from_state)
        except ValueError:
            return False
        max_steps = self.trainer.state.max_steps
        return 0 < fraction < 1 and max_steps > 0 and steps == math.ceil(fraction * max_steps)

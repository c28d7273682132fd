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
* :class:`SessionSteps` records where this session's training started, so that
  :func:`session_report` and :func:`validation_report` describe this session's steps and time
  (a resumed run's log also holds the earlier sessions').
* :func:`log_line`, :class:`LogLines` and :class:`ProgressLines`: the Trainer's logs as one
  readable line each, in place of the raw dicts its ``PrinterCallback``/``ProgressCallback`` print.
"""

from __future__ import annotations

import logging
import math
import re

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback
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


class MtimeNoteFilter(logging.Filter):
    """Drops transformers' "mtime may not be reliable on this filesystem" note.

    Why: the Trainer orders checkpoints by modification time before deleting the oldest, and says
    the filesystem is unreliable whenever two checkpoints were written less than a second apart
    (a short run, or a fast one), then orders them by step number, which is what it should do and
    what :meth:`dialogsum_peft.run_folder.RunFolder.last_checkpoint` does: a note about the user's
    filesystem that is not true and asks nothing of them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "mtime may not be reliable" not in record.getMessage()


# ------------------------------------------------------------------ this session of a run
class SessionSteps(TrainerCallback):
    """The global step this training session started from: the checkpoint's when it resumed, 0
    for a fresh run (``start_step``), and whether it trained any step (``trained``)."""

    def __init__(self):
        self.start_step, self.trained = 0, False

    def on_train_begin(self, args, state, control, **kwargs):
        self.start_step, self.trained = None, False  # known at the first step, or at the end

    def on_step_begin(self, args, state, control, **kwargs):
        if not self.trained:
            self.start_step, self.trained = state.global_step, True

    def on_train_end(self, args, state, control, **kwargs):
        if self.start_step is None:  # nothing to train: the run was complete
            self.start_step = state.global_step


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 10 else f"{value:,.0f} s"


def _session(trainer) -> SessionSteps:
    found = [c for c in trainer.callback_handler.callbacks if isinstance(c, SessionSteps)]
    if not found:
        raise ValueError("this Trainer does not record its sessions (use DialogSumTrainer)")
    return found[0]


def session_report(trainer, result) -> str:
    """One line on what the last ``trainer.train()`` (its ``result``) did in this session: the
    steps it trained and their time, or that a finished run had nothing left to train (resumed
    from its last checkpoint: the model is that checkpoint's)."""
    session, state = _session(trainer), trainer.state
    end = f"step {state.global_step} of {state.max_steps}"
    if not session.trained:
        return (f"nothing to train in this session: the run was already complete at {end} "
                "(resumed from its last checkpoint, whose model this is)")
    start = session.start_step
    resumed = f", resumed from step {start}" if start else ""
    return (f"trained steps {start + 1} to {state.global_step} of {state.max_steps} in this "
            f"session ({_seconds(result.metrics['train_runtime'])}{resumed})")


def validation_report(trainer, result) -> str:
    """One line on the validation passes of the last ``trainer.train()``: how many ran in this
    session and how long they took of this session's training time; the passes of earlier
    sessions (a resumed run's log holds them) are counted apart, never set against this one's."""
    session = _session(trainer)
    passes = [e for e in trainer.state.log_history if "eval_runtime" in e]
    now = [e for e in passes if e["step"] > session.start_step]
    earlier = len(passes) - len(now)
    if not now:
        return "no validation pass ran in this session" + (
            f"; {earlier} ran in an earlier session" if earlier else "")
    before = f"; {earlier} more ran in an earlier session" if earlier else ""
    seconds = sum(e["eval_runtime"] for e in now)
    return (f"{len(now)} validation pass{'es' if len(now) != 1 else ''} in this session took "
            f"{_seconds(seconds)} of the {_seconds(result.metrics['train_runtime'])} this "
            f"session's training took{before}")


# ------------------------------------------------------------------ log lines
_NAMES = {"loss": "loss", "grad_norm": "gradient norm", "learning_rate": "learning rate"}


def log_line(logs: dict, state, trained: bool = True) -> str:
    """One readable line for a log of the Trainer (``logs`` as ``on_log`` gets it), e.g.
    ``step 20/30 (epoch 4.00): loss 6.912, gradient norm 3.3, learning rate 0.0005``; at the end
    of training ``training ended at step 30/30: 8.1 s in this session, 29.6 examples/s, mean
    training loss 7.2``, or with ``trained`` False (a finished run resumed: no step this session)
    ``nothing to train: the run was already complete at step 30/30``."""
    at = f"step {state.global_step}/{state.max_steps}"
    if "train_runtime" in logs:
        if not trained:
            return f"nothing to train: the run was already complete at {at}"
        parts = [_seconds(float(logs["train_runtime"])) + " in this session"]
        if "train_samples_per_second" in logs:
            parts.append(f"{float(logs['train_samples_per_second']):.3g} examples/s")
        if "train_loss" in logs:
            parts.append(f"mean training loss {float(logs['train_loss']):.4g}")
        return f"training ended at {at}: " + ", ".join(parts)
    epoch = f" (epoch {float(logs['epoch']):.2f})" if "epoch" in logs else ""
    if "eval_loss" in logs:
        took = f" ({_seconds(float(logs['eval_runtime']))})" if "eval_runtime" in logs else ""
        return f"{at}{epoch}: validation loss {float(logs['eval_loss']):.4g}{took}"
    parts = []
    for key, value in logs.items():
        if key in ("epoch", "total_flos") or key.startswith("eval_"):
            continue
        name = _NAMES.get(key, key.replace("_", " "))
        parts.append(f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}")
    return f"{at}{epoch}: " + ", ".join(parts)


class _Lines:
    """Whether this session trained a step, for :func:`log_line`'s last line."""

    trained = False

    def on_train_begin(self, args, state, control, **kwargs):
        self.trained = False
        return super().on_train_begin(args, state, control, **kwargs)

    def on_step_begin(self, args, state, control, **kwargs):
        self.trained = True
        return super().on_step_begin(args, state, control, **kwargs)


class LogLines(_Lines, PrinterCallback):
    """``PrinterCallback`` (the Trainer's log printer without progress bars) printing
    :func:`log_line` lines instead of raw dicts."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_local_process_zero and logs:
            print(log_line(logs, state, self.trained), flush=True)


class ProgressLines(_Lines, ProgressCallback):
    """``ProgressCallback`` (the Trainer's progress bars) writing :func:`log_line` lines above its
    bar instead of raw dicts."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None and logs:
            self.training_bar.write(log_line(logs, state, self.trained))

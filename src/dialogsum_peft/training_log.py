"""The Trainer's log, read and shown: the losses it logged (for the loss curve and
``loss_history.csv``), one readable line per log instead of a raw dict, and two notes of
transformers no one can act on, filtered out.

Why a module of its own: :class:`~dialogsum_peft.trainer.DialogSumTrainer` fixes what the Trainer
computes; this is how its record reads. ``DialogSumTrainer`` puts :class:`LogLines` and
:class:`ProgressLines` in place of the Trainer's ``PrinterCallback``/``ProgressCallback`` and
filters the notes while it trains; :func:`loss_history` and :func:`validation_loss_history`
feed :func:`~dialogsum_peft.reporting.plot_loss_curve`.
"""

from __future__ import annotations

import logging
import math
import re

from transformers.trainer_callback import PrinterCallback, ProgressCallback, TrainerCallback

from .wording import counted


# ------------------------------------------------------------------ the losses it logged
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


# ------------------------------------------------------------------ notes no one can act on
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
        kept = [
            line
            for line in lines[1:]
            if not ((m := _MISMATCH.match(line)) and self._resolved(m[2], m[3]))
        ]
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


def seconds(value: float) -> str:
    """``8.1 s``, ``1,234 s``: a duration for a log line; ``< 0.1 s`` for one that would round
    to 0.0 s."""
    if value < 0.05:
        return "< 0.1 s"
    return f"{value:.1f} s" if value < 10 else f"{value:,.0f} s"


# ------------------------------------------------------------------ this session
class SessionSteps(TrainerCallback):
    """The global step this training session started from: the checkpoint's when it resumed, 0
    for a fresh run (``start_step``), whether it trained any step (``trained``), and the examples
    this process trained on (``examples``, counted by ``DialogSumTrainer.training_step``)."""

    def __init__(self):
        self.start_step, self.trained, self.examples = 0, False, 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.start_step, self.trained, self.examples = None, False, 0  # known at the first step

    def on_step_begin(self, args, state, control, **kwargs):
        if not self.trained:
            self.start_step, self.trained = state.global_step, True

    def on_train_end(self, args, state, control, **kwargs):
        if self.start_step is None:  # nothing to train: the run was complete
            self.start_step = state.global_step


SESSION_KEYS = (
    "session_optimizer_steps",
    "session_examples",
    "session_optimizer_steps_per_second",
    "session_examples_per_second",
)


def session_metrics(steps: int, examples: int, runtime: float) -> dict[str, float]:
    """This session's measured figures, added to the Trainer's end-of-training metrics: the
    optimizer steps it took, the examples it trained on (every process's, counted batch by
    batch: a small data set gives fewer than steps x effective batch) and each per second of
    ``runtime`` (the Trainer's ``train_runtime``: the whole session, validation passes and
    checkpoints included). Not the Trainer's ``train_samples_per_second``, which counts
    ``max_steps`` x the effective batch whatever the data held."""
    per_second = 1 / runtime if runtime > 0 else float("nan")
    values = (steps, examples, round(steps * per_second, 4), round(examples * per_second, 4))
    return dict(zip(SESSION_KEYS, values))


def _rates(metrics) -> str:
    """``"on 16 examples in 0.2 s (9.1 steps/s, 73 examples/s)"`` from end-of-training metrics
    with :func:`session_metrics`' keys; ``"in 0.2 s"`` without them."""
    took = seconds(float(metrics["train_runtime"]))
    if "session_examples" not in metrics:
        return f"in {took}"
    return (
        f"on {counted(metrics['session_examples'], 'example')} in {took} "
        f"({metrics['session_optimizer_steps_per_second']:.3g} steps/s, "
        f"{metrics['session_examples_per_second']:.3g} examples/s)"
    )


def session_report(session: SessionSteps, state, metrics) -> str:
    """One line on what a ``trainer.train()`` (its ``result.metrics``) did in this session: the
    steps it trained, on how many examples, in what time, or that a finished run had nothing left
    to train (resumed from its last checkpoint: the model is that checkpoint's)."""
    end = f"step {state.global_step} of {state.max_steps}"
    if not session.trained:
        return (
            f"nothing to train in this session: the run was already complete at {end} "
            "(resumed from its last checkpoint, whose model this is)"
        )
    start = session.start_step
    resumed = f", resumed from step {start}" if start else ""
    return (
        f"trained steps {start + 1} to {state.global_step} of {state.max_steps} in this "
        f"session {_rates(metrics)}{resumed}"
    )


def validation_report(session: SessionSteps, state, metrics) -> str:
    """One line on the validation passes of a ``trainer.train()``: how many ran in this session
    and how long they took of this session's training time; the passes of earlier sessions (a
    resumed run's log holds them) are counted apart, never set against this one's."""
    passes = [e for e in state.log_history if "eval_runtime" in e]
    now = [e for e in passes if e["step"] > session.start_step]
    earlier = len(passes) - len(now)
    if not now:
        return "no validation pass ran in this session" + (
            f"; {earlier} ran in an earlier session" if earlier else ""
        )
    before = f"; {earlier} more ran in an earlier session" if earlier else ""
    took = sum(e["eval_runtime"] for e in now)
    return (
        f"{len(now)} validation pass{'es' if len(now) != 1 else ''} in this session took "
        f"{seconds(took)} of the {seconds(metrics['train_runtime'])} this "
        f"session's training took{before}"
    )


# ------------------------------------------------------------------ log lines
_NAMES = {"loss": "loss", "grad_norm": "gradient norm", "learning_rate": "learning rate"}


def log_line(logs: dict, state, trained: bool = True) -> str:
    """One readable line for a log of the Trainer (``logs`` as ``on_log`` gets it), e.g.
    ``step 20/30 (epoch 4.00): loss 6.912, gradient norm 3.3, learning rate 0.0005``; at the end
    of training ``training ended at step 30/30: this session trained 30 optimizer steps on 240
    examples in 8.1 s (3.7 steps/s, 29.6 examples/s), mean training loss 7.2`` (measured:
    :func:`session_metrics`), or with ``trained`` False (a finished run resumed: no step this
    session) ``nothing to train: the run was already complete at step 30/30``."""
    at = f"step {state.global_step}/{state.max_steps}"
    if "train_runtime" in logs:
        if not trained:
            return f"nothing to train: the run was already complete at {at}"
        steps = logs.get("session_optimizer_steps")  # measured, not the Trainer's nominal rate
        trained = f"{counted(steps, 'optimizer step')} {_rates(logs)}" if steps else _rates(logs)
        parts = [f"this session trained {trained}"]
        if "train_loss" in logs:
            parts.append(f"mean training loss {float(logs['train_loss']):.4g}")
        return f"training ended at {at}: " + ", ".join(parts)
    epoch = f" (epoch {float(logs['epoch']):.2f})" if "epoch" in logs else ""
    if "eval_loss" in logs:
        took = f" ({seconds(float(logs['eval_runtime']))})" if "eval_runtime" in logs else ""
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

"""What ``train`` writes into its run folder: the list of its files, a lock, the adapter or model
(atomically), the loss history and its plot, the metrics.

Why: the list of what a run folder holds used to exist three times (the files ``--overwrite``
removes, the ``train --help`` text and the code that writes them). :data:`RUN_FILES` names them
once; :class:`TrainRunFolder` is the package's :class:`~dialogsum_peft.run_folder.RunFolder`
(checkpoints, identity) with what only the command line does to it: list, clear, lock, write.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
from pathlib import Path
from typing import Any

from ..adapters import is_adapter_dir, is_model_dir
from ..atomic import atomic_dir, write_text_atomic
from ..errors import RunFolderError
from ..run_folder import CHECKPOINTS, RunFolder

logger = logging.getLogger(__name__)

LOCK_FILE = ".train.lock"
ADAPTER = "adapter"
MODEL = "model"
CONFIG = "config.json"
LOSS_CSV = "loss_history.csv"
LOSS_JSON = "loss_history.json"
LOSS_PLOT = "loss_curve.png"
METRICS = "train_metrics.json"

# What ``train`` writes into a run folder, in the order ``train --help`` lists it
# (``--overwrite`` removes exactly these).
RUN_FILES: dict[str, str] = {
    CONFIG: "the settings",
    ADAPTER: "a PEFT method's weights + tokenizer + model card (README.md)",
    MODEL: "--method full: the whole model + tokenizer",
    LOSS_CSV: "the training and validation loss per logged step",
    LOSS_JSON: "the same as JSON",
    LOSS_PLOT: "its plot",
    METRICS: "this session's optimizer steps and examples, each per second (measured), the "
    "steps, world size, adapter size; the Trainer's own metrics under 'trainer'",
    CHECKPOINTS: "checkpoint-N folders and run.json, the run's identity",
}
RUN_OUTPUTS = tuple(RUN_FILES)
# Beside the Trainer's own metrics in train_metrics.json: what its rates count.
TRAINER_NOTE = (
    "transformers' Trainer.train() metrics as it reports them: train_samples_per_second counts "
    "max_steps x the effective batch, not the examples seen (a data set smaller than the batch "
    "gives fewer); session_examples_per_second counts them"
)


def describe_run_files() -> str:
    """The ``train --help`` text listing :data:`RUN_FILES` (a folder name ends with ``/``)."""
    return "; ".join(
        f"{name}{'/' if '.' not in name else ''} ({what})" for name, what in RUN_FILES.items()
    )


class TrainRunFolder(RunFolder):
    """The run folder of ``train``: a :class:`~dialogsum_peft.run_folder.RunFolder` whose files
    are :data:`RUN_FILES`, with the lock that stops a second training from writing into it."""

    def present(self) -> list[str]:
        """The training outputs (checkpoints, adapter, model) already in the folder."""
        names = []
        ckpt = self.path / CHECKPOINTS
        if ckpt.is_dir() and any(p.name.startswith("checkpoint-") for p in ckpt.iterdir()):
            names.append(CHECKPOINTS)
        return names + [n for n in (ADAPTER, MODEL) if (self.path / n).exists()]

    def clear(self) -> None:
        """Remove every file of :data:`RUN_FILES` (``--overwrite``); other files stay."""
        for name in RUN_OUTPUTS:
            path = self.path / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)

    def lock(self) -> RunLock:
        """The folder's lock (one training at a time), not yet taken."""
        return RunLock(self.path)

    def write_json(self, name: str, data: Any, indent: int = 2) -> Path:
        """Write ``data`` as JSON to ``folder / name`` atomically (a temporary file renamed in)."""
        write_text_atomic(self.path / name, json.dumps(data, indent=indent) + "\n")
        return self.path / name


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """``<output_dir>/.train.lock`` holding the owner's pid: one training per folder at a time.

    A lock left by a dead process (a killed run) is taken over with a warning.
    """

    def __init__(self, output_dir: str | os.PathLike):
        self.path = Path(output_dir) / LOCK_FILE
        self.held = False

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self.path.read_text(encoding="utf-8", errors="replace").split()
                pid = int(owner[0]) if owner and owner[0].isdigit() else -1
                host = owner[1] if len(owner) > 1 else socket.gethostname()
                if host == socket.gethostname() and pid > 0 and not _pid_alive(pid):
                    logger.warning(
                        "taking over the stale lock %s of process %d, which is gone", self.path, pid
                    )
                    self.path.unlink(missing_ok=True)
                    continue
                raise RunFolderError(
                    f"another training (process {pid} on {host}) is writing to "
                    f"{self.path.parent}; wait for it, or use another --output-dir"
                ) from None
            with os.fdopen(fd, "w") as fh:
                fh.write(me)
            self.held = True
            return self
        raise RunFolderError(f"could not take the lock {self.path}")  # pragma: no cover

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


# ------------------------------------------------------------------------------- what train saves
def _save_atomic(model, path: str | os.PathLike, tokenizer, complete) -> Path:
    """``model.save_pretrained`` (safetensors) into a temporary folder, checked, then renamed in.

    A crash while saving leaves the previous folder or none, never a half-written one; NaN/inf
    weights are refused before anything is written.
    """
    from ..errors import TrainingError
    from ..modeling import non_finite_parameters

    path = Path(path)
    bad = non_finite_parameters(model)
    if bad:
        raise TrainingError(
            f"refusing to save weights with NaN/inf ({len(bad)} tensors, e.g. "
            f"{bad[0]}); nothing was written to {path}"
        )
    with atomic_dir(path) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        if not complete(tmp):
            raise RuntimeError(f"saving produced no weights file in {tmp}")
    return path


def save_adapter(model, path: str | os.PathLike, tokenizer=None) -> Path:
    """Save a peft model's adapter (and the tokenizer) atomically; returns the folder."""
    return _save_atomic(model, path, tokenizer, is_adapter_dir)


def save_model(model, path: str | os.PathLike, tokenizer=None) -> Path:
    """Save a fully fine-tuned model (and the tokenizer) atomically; returns the folder."""
    return _save_atomic(model, path, tokenizer, is_model_dir)


def save_figure(fig, path) -> None:
    """Write ``fig`` as a PNG file and free it (headless: the Agg backend, no window). The PNG's
    ``Title`` text field holds the figure's title (its axes' titles), so a script, or a test, can
    read what the picture says it shows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    title = " / ".join(t for t in (ax.get_title() for ax in fig.axes) if t)
    fig.savefig(path, dpi=120, metadata={"Title": title} if title else None)
    plt.close(fig)


def write_training_outputs(
    trainer, peft_model, tokenizer, config, result, world_size: int, out: TrainRunFolder
) -> None:
    """Write what ``train`` leaves in ``out`` after training (the adapter or model, the loss
    history as CSV and JSON, its plot, the metrics) and say where, on stdout."""
    import csv

    from ..adapters import adapter_size_mb
    from ..methods import is_peft
    from ..offline import is_smoke_model
    from ..reporting import dialogues_of, plot_loss_curve
    from ..training_log import loss_history, loss_log, validation_loss_history

    if is_peft(config.method):
        adapter = save_adapter(peft_model, out / ADAPTER, tokenizer=tokenizer)
        from ..sharing import write_model_card  # the card: what it is, how it was trained

        write_model_card(adapter, config, world_size=world_size, steps=trainer.state.global_step)
    else:
        adapter = save_model(peft_model, out / MODEL, tokenizer=tokenizer)
    history, log = loss_history(trainer), loss_log(trainer)
    with open(out / LOSS_CSV, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["step", "loss", "validation_loss"])
        writer.writeheader()
        writer.writerows(log)  # a step without one of the losses leaves its cell empty
    out.write_json(LOSS_JSON, log, indent=1)
    validation = validation_loss_history(trainer)
    size_mb = adapter_size_mb(adapter)  # read once: for the metrics and the line below
    from ..training_log import SESSION_KEYS

    raw = {k: v for k, v in result.metrics.items() if k not in SESSION_KEYS}
    metrics = {k: result.metrics[k] for k in SESSION_KEYS if k in result.metrics}  # measured
    metrics.update(
        trainer=raw,  # transformers' own figures, as it reports them (TRAINER_NOTE)
        trainer_note=TRAINER_NOTE,
        global_step=trainer.state.global_step,
        world_size=world_size,
        effective_batch=(
            trainer.args.per_device_train_batch_size
            * trainer.args.gradient_accumulation_steps
            * world_size
        ),
        adapter_mb=round(size_mb, 3),
        smoke=is_smoke_model(peft_model),
        validation_loss=validation[-1][1] if validation else None,
    )
    out.write_json(METRICS, metrics)
    if history:
        title = (  # what trained, and on which data (the method's, not always LoRA's)
            f"{config.method} training loss, {config.model_name} on "
            f"{dialogues_of(config.dataset_source, len(trainer.train_dataset), 'train')}"
        )
        save_figure(plot_loss_curve(trainer, title=title), out / LOSS_PLOT)
        print(
            f"loss: {history[0][1]:.4f} at step {history[0][0]} -> "
            f"{history[-1][1]:.4f} at step {history[-1][0]}"
        )
        if validation:
            print(
                f"validation loss: {validation[0][1]:.4f} at step {validation[0][0]} -> "
                f"{validation[-1][1]:.4f} at step {validation[-1][0]}"
            )
    else:
        print(
            f"no loss was logged (fewer than logging_steps={config.logging_steps} steps): "
            "no loss curve"
        )
    print(f"{'adapter' if is_peft(config.method) else 'model'}: {adapter} ({size_mb:.2f} MB)")
    print(
        f"training log: {out / LOSS_CSV}, {out / LOSS_JSON}"
        + (f", plot {out / LOSS_PLOT}" if history else "")
    )

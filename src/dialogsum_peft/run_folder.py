"""A training run's folder and its checkpoints as one object: where the run writes, the checkpoint
it resumes from, and the identity of the run that owns them.

Why: a Colab session disconnects, a laptop sleeps, someone starts the same command twice. The
Trainer writes ``checkpoint-N`` folders file by file and will happily resume from a checkpoint
of *another* run that used the same folder. Here a folder records the identity of the run that
owns it (``checkpoints/run.json``); resuming with a config that would compute something else is
refused with the differing fields named; a half-written checkpoint (it must parse, not just
exist) is skipped. :class:`RunFolder` does all of it itself: the notebooks' resume step
(:meth:`RunFolder.resume_or_start`) and the command line's ``train`` (which adds the files it
writes and a lock: :mod:`dialogsum_peft.command_line.run_outputs`) go through it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from .atomic import write_text_atomic
from .errors import RunFolderError
from .settings import ADAPTER_WEIGHTS, MODEL_WEIGHTS

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"  # <run folder>/checkpoints: the Trainer's checkpoint-N folders
RUN_FILE = "run.json"  # in <run folder>/checkpoints: the identity of the run that owns them
CHECKPOINT_STATE_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt")
# The Trainer saves the RNG state as rng_state.pth in one process and as rng_state_<rank>.pth,
# one per process, in a multi-process run (transformers' Trainer._save_rng_state).
RNG_STATE_PATTERN = re.compile(r"rng_state(_\d+)?\.pth")


class RunFolder:
    """The folder of one training run: ``folder / NAME`` is one of its files, ``folder.checkpoints``
    the Trainer's ``checkpoint-N`` folders and ``run.json``.

    ``RunFolder(path)`` checks that this process can create and write ``path`` (raising
    :class:`~dialogsum_peft.errors.RunFolderError` otherwise) and keeps it in :attr:`path`.
    """

    def __init__(self, path: str | os.PathLike):
        self.path: Path = check_writable(path)
        self.checkpoints: Path = self.path / CHECKPOINTS

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def __str__(self) -> str:
        return str(self.path)

    def resume_or_start(self, identity: dict[str, Any], resume: bool = True) -> str | None:
        """The checkpoint to resume from, or ``None`` after preparing the folder for a fresh run:
        the notebook's resume step in one call (``trainer.train(resume_from_checkpoint=...)``).

        With ``resume`` and a complete checkpoint (:meth:`last_checkpoint`), checks that the
        folder's run identity is ``identity`` (:meth:`check_identity`: a
        :class:`~dialogsum_peft.errors.RunFolderError` naming the differences otherwise) and
        returns the checkpoint's path. Otherwise deletes the old checkpoints (they would mix with
        this run's) and writes ``identity``, so a later resume can check it.
        """
        last = self.last_checkpoint() if resume else None
        if last:
            self.check_identity(identity)
            return last
        shutil.rmtree(self.checkpoints, ignore_errors=True)
        self.write_identity(identity)
        return None

    def last_checkpoint(self) -> str | None:
        """The newest complete ``checkpoint-N`` (to resume from), or ``None``.

        transformers' ``get_last_checkpoint`` names the newest folder; this adds the completeness
        check (:func:`is_complete_checkpoint`) and falls back to older checkpoints, with a
        warning, when the newest is broken.
        """
        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint

        if not self.checkpoints.is_dir() or get_last_checkpoint(str(self.checkpoints)) is None:
            return None
        pattern = re.compile(rf"{PREFIX_CHECKPOINT_DIR}-(\d+)")
        found = sorted(
            (int(m.group(1)), p)
            for p in self.checkpoints.iterdir()
            if p.is_dir() and (m := pattern.fullmatch(p.name))
        )
        for _, path in reversed(found):
            if is_complete_checkpoint(path):
                return str(path)
            logger.warning("skipping incomplete checkpoint %s (interrupted while saving?)", path)
        return None

    # ------------------------------------------------------------------ the run's identity
    def identity(self) -> dict[str, Any] | None:
        """The identity of the run that owns the checkpoints (``run.json``), ``None`` when none
        is recorded; an unreadable one is a :class:`~dialogsum_peft.errors.RunFolderError`."""
        path = self.checkpoints / RUN_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise RunFolderError(
                f"{path} is unreadable ({err}); the checkpoints beside it cannot "
                "be attributed to a run: train afresh with --overwrite"
            ) from None
        if not isinstance(data, dict):
            raise RunFolderError(f"{path} does not describe a run; train afresh with --overwrite")
        return data

    def write_identity(self, identity: dict[str, Any]) -> None:
        write_text_atomic(
            self.checkpoints / RUN_FILE, json.dumps(identity, indent=2, sort_keys=True) + "\n"
        )

    def check_identity(self, identity: dict[str, Any]) -> None:
        """Refuse to resume checkpoints that another configuration (another run) wrote: a
        :class:`~dialogsum_peft.errors.RunFolderError` naming each field that differs."""
        stored = self.identity()
        if stored is None:
            raise RunFolderError(
                f"{self.checkpoints} has no {RUN_FILE}, so nothing says which run wrote its "
                "checkpoints; train afresh (command line: --overwrite; notebook: RESUME = False)"
            )
        if "world_size" not in stored:  # written before it was recorded
            stored = {
                **stored,
                "world_size": 1,
                "effective_batch": stored.get("per_device_train_batch_size", 0)
                * stored.get("gradient_accumulation_steps", 0),
            }
        keys = sorted(set(stored) | set(identity))
        diff = [
            f"{k}: {stored.get(k)!r} -> {identity.get(k)!r}"
            for k in keys
            if stored.get(k) != identity.get(k)
        ]
        if diff:
            raise RunFolderError(
                f"cannot resume: the checkpoints in {self.path} belong to a run with other "
                f"settings ({'; '.join(diff)}). Resume with the run's own settings (command line: "
                f"--config {self.path / 'config.json'}; notebook: the knobs it ran with) or start "
                "afresh (command line: --overwrite; notebook: RESUME = False)"
            )


# ------------------------------------------------------------------ one checkpoint
def _weights_file(path: Path) -> Path | None:
    for name in (ADAPTER_WEIGHTS, MODEL_WEIGHTS):
        if (path / name).is_file():
            return path / name
    return None


def checkpoint_world_size(path: str | os.PathLike) -> int | None:
    """The number of processes that wrote the checkpoint ``path`` (a ``checkpoint-N`` folder):
    the ``world_size`` of the run identity beside it (``checkpoints/run.json``), 1 for an
    identity written before the world size was recorded (as :func:`check_resume_identity`
    reads it), ``None`` when no identity says (a folder without ``run.json``)."""
    run_file = Path(path).parent / RUN_FILE
    if not run_file.is_file():
        return None
    try:
        identity = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    size = identity.get("world_size", 1) if isinstance(identity, dict) else None
    return size if isinstance(size, int) and size >= 1 else None


def rng_state_files(path: str | os.PathLike, world_size: int | None = None) -> list[Path]:
    """The RNG state files a checkpoint of a ``world_size``-process run needs, all present, or
    ``[]`` when one is missing.

    The Trainer saves ``rng_state.pth`` in a one-process run and ``rng_state_0.pth`` ...
    ``rng_state_<N-1>.pth``, one per process, in an N-process run
    (``Trainer._save_rng_state``); a resume without a process's file restores nothing for that
    process and goes on, no longer exact. ``world_size`` ``None`` (nothing recorded it): one
    file, or an unbroken run of ranks from 0, whichever the folder holds.
    """
    path = Path(path)
    if world_size is not None:
        names = (
            ["rng_state.pth"]
            if world_size <= 1
            else [f"rng_state_{r}.pth" for r in range(world_size)]
        )
        files = [path / n for n in names]
        return files if all(f.is_file() for f in files) else []
    if (path / "rng_state.pth").is_file():
        return [path / "rng_state.pth"]
    ranks = sorted(
        int(m.group(1)[1:])
        for p in path.iterdir()
        if (m := RNG_STATE_PATTERN.fullmatch(p.name)) and m.group(1)
    )
    if not ranks or ranks != list(range(len(ranks))):
        return []
    return [path / f"rng_state_{r}.pth" for r in ranks]


def is_complete_checkpoint(path: str | os.PathLike, world_size: int | None = None) -> bool:
    """True when a ``checkpoint-N`` folder holds everything an exact resume needs, and it parses.

    Complete means every file its world size needs: the weights, ``trainer_state.json``, the
    optimizer and scheduler states and one RNG state per process (:func:`rng_state_files`;
    ``world_size`` defaults to the one recorded beside the checkpoint,
    :func:`checkpoint_world_size`). A run killed while saving leaves files that exist but are cut
    short, so each one is opened: ``trainer_state.json`` loads as JSON, the weights' safetensors
    header reads, the optimizer, scheduler and RNG states load (``weights_only``, as the Trainer
    loads them).
    """
    import torch
    from safetensors import safe_open
    from transformers.trainer_pt_utils import (
        safe_globals,
    )  # numpy RNG state, as the Trainer loads it

    path = Path(path)
    weights = _weights_file(path)
    if weights is None or not all((path / n).is_file() for n in CHECKPOINT_STATE_FILES):
        return False
    rng_files = rng_state_files(path, world_size or checkpoint_world_size(path))
    if not rng_files:
        return False
    try:
        json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        with safe_open(str(weights), framework="pt") as fh:
            fh.keys()
        with safe_globals():
            for file in [path / "optimizer.pt", path / "scheduler.pt", *rng_files]:
                torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to read means "not resumable"
        logger.warning("checkpoint %s does not load (%s)", path, " ".join(str(err).split())[:200])
        return False
    return True


def check_writable(output_dir: str | os.PathLike) -> Path:
    """``output_dir`` (which may not exist yet) if this process can create and write it."""
    out = Path(output_dir).expanduser()
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise RunFolderError(f"{probe} is a file, not a folder: choose another output folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise RunFolderError(f"cannot write to {probe}: choose an output folder you can write to")
    return out

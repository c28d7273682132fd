"""A training run's folder as one object: its resolved path, the files ``train`` writes into it
(named once, here), its lock, the run's identity and atomic writes.

Why: the list of what a run folder holds used to exist three times (the files ``--overwrite``
removes, the ``train --help`` text and the code that writes them), and each command re-derived
the path, the lock and the identity checks from free functions. :class:`RunFolder` is the one
place that knows them; the command line uses it, ``train --help`` prints its file list, and the
lower-level functions it calls (:mod:`dialogsum_peft.checkpoints`) stay usable from notebooks.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from .checkpoints import (RunLock, check_resume_identity, check_writable, find_last_checkpoint,
                          write_run_identity, write_text_atomic)

CHECKPOINTS = "checkpoints"
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
    ADAPTER: "a PEFT method's weights + tokenizer",
    MODEL: "--method full: the whole model + tokenizer",
    LOSS_CSV: "the training and validation loss per logged step",
    LOSS_JSON: "the same as JSON",
    LOSS_PLOT: "its plot",
    METRICS: "the Trainer's metrics, steps, world size, adapter size",
    CHECKPOINTS: "checkpoint-N folders and run.json, the run's identity",
}
RUN_OUTPUTS = tuple(RUN_FILES)


def describe_run_files() -> str:
    """The ``train --help`` text listing :data:`RUN_FILES` (a folder name ends with ``/``)."""
    return "; ".join(f"{name}{'/' if '.' not in name else ''} ({what})"
                     for name, what in RUN_FILES.items())


class RunFolder:
    """The folder of one training run.

    ``RunFolder(path)`` checks that this process can create and write ``path`` (raising
    :class:`~dialogsum_peft.errors.RunFolderError` otherwise) and keeps the resolved path in
    :attr:`path`; every file of the run is ``folder / NAME`` with a name of :data:`RUN_FILES`.
    """

    def __init__(self, path: str | os.PathLike):
        self.path: Path = check_writable(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def __str__(self) -> str:
        return str(self.path)

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

    def last_checkpoint(self) -> str | None:
        return find_last_checkpoint(self.path)

    def write_identity(self, identity: dict[str, Any]) -> None:
        write_run_identity(self.path, identity)

    def check_identity(self, identity: dict[str, Any]) -> None:
        """Refuse to resume checkpoints another configuration wrote (RunFolderError)."""
        check_resume_identity(self.path, identity)

    def write_text(self, name: str, text: str) -> Path:
        """Write ``text`` to ``folder / name`` atomically (a temporary file renamed in)."""
        write_text_atomic(self.path / name, text)
        return self.path / name

    def write_json(self, name: str, data: Any, indent: int = 2) -> Path:
        return self.write_text(name, json.dumps(data, indent=indent) + "\n")

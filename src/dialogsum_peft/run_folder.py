"""A training run's folder as one object: its resolved path, its checkpoints and the run's identity.

Why: each caller re-derived the path and the identity checks from free functions.
:class:`RunFolder` is the one place that knows them; the notebooks' resume step and the command
line's ``train`` (which adds the files it writes and a lock:
:mod:`dialogsum_peft.command_line.run_outputs`) use it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .checkpoints import (check_resume_identity, check_writable, find_last_checkpoint,
                          write_run_identity)

CHECKPOINTS = "checkpoints"


class RunFolder:
    """The folder of one training run.

    ``RunFolder(path)`` checks that this process can create and write ``path`` (raising
    :class:`~dialogsum_peft.errors.RunFolderError` otherwise) and keeps the resolved path in
    :attr:`path`; the run's files are ``folder / NAME``.
    """

    def __init__(self, path: str | os.PathLike):
        self.path: Path = check_writable(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def __str__(self) -> str:
        return str(self.path)

    def last_checkpoint(self) -> str | None:
        return find_last_checkpoint(self.path)

    def write_identity(self, identity: dict[str, Any]) -> None:
        write_run_identity(self.path, identity)

    def check_identity(self, identity: dict[str, Any]) -> None:
        """Refuse to resume checkpoints another configuration wrote (RunFolderError)."""
        check_resume_identity(self.path, identity)

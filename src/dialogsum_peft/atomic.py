"""Write files and folders so that a crash leaves the old version or none, never half of one.

Why: a run folder, an adapter, an evaluation's results, an export and the smoke model's cache
are all read back later by another command or session; a folder half-written by a killed
process would be read as complete. Every writer in the package goes through these three
functions: a temporary file or folder beside the target, then a rename (atomic on one file
system). Python's ``tempfile`` and ``os.replace`` do the work; what is ours is replacing a whole
folder by two renames.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_dir(new: str | os.PathLike, target: str | os.PathLike) -> None:
    """Put the finished folder ``new`` at ``target``, replacing what was there, by renames."""
    new, target = Path(new), Path(target)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_dir(target: str | os.PathLike, replace: bool = True) -> Iterator[Path]:
    """A fresh temporary folder beside ``target`` to write into; when the block ends without an
    error it becomes ``target``, otherwise it is removed and ``target`` is untouched.

    ``replace=True``: an existing ``target`` is replaced (:func:`replace_dir`). ``replace=False``:
    an existing ``target`` wins and the new folder is dropped (two processes building the same
    cache: the first one to finish is kept). Raises ``OSError`` when the parent folder cannot be
    created or written.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        if replace:
            replace_dir(tmp, target)
        else:
            try:
                tmp.rename(target)
            except OSError:  # another process finished the same folder first: keep theirs
                shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

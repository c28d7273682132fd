"""The exceptions a user of the tutorial can meet, one family so every front end reports them alike.

Why: a failure the user can fix (a bad setting, a broken file, a folder that belongs to another
run) must read as one sentence that says what and where, not as a traceback from deep inside
torch or transformers. The API raises these typed errors; the command line prints their message
as one ``error:`` line and exits with status 2; the notebook shows the message.
"""

from __future__ import annotations


class DialogSumError(Exception):
    """Base class: something the user asked for cannot be done; the message says why and where.

    In a notebook (IPython) it shows as its one line, ``SomeError: message``, without a traceback
    (``_render_traceback_``, IPython's hook for exceptions that render themselves)."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class ConfigError(DialogSumError, ValueError):
    """A setting is out of range or of the wrong type (checked before anything is loaded)."""


class DataError(DialogSumError, ValueError):
    """A dataset or input file is unusable; the message names the file, split, row or line."""


class RunFolderError(DialogSumError):
    """The output folder belongs to another run, is locked, or cannot be written."""


class AdapterError(DialogSumError, ValueError):
    """An adapter folder is missing, incomplete, corrupt or holds non-finite weights."""


class SplitIndexError(DialogSumError, IndexError):
    """A row index outside the split it indexes; the message names the split and its size."""


class TrainingError(DialogSumError, RuntimeError):
    """Training diverged (NaN/inf loss or weights, exploding loss, zero or inf gradient norm)."""


class HubUnavailableError(DialogSumError, RuntimeError):
    """The Hub could not give us a model or dataset (offline, or the id does not exist)."""


def one_line(text: object) -> str:
    """``text`` with all whitespace runs (newlines included) collapsed to single spaces."""
    return " ".join(str(text).split())


class DialogSumWarning(UserWarning):
    """Something the user should know, not a failure (the command line prints ``warning: ...``)."""


def format_warning(message, category, filename, lineno, line=None, _default=None) -> str:
    """``warnings.formatwarning`` that shows the package's own warnings as one ``warning: ...``
    line (no file name, line number or source line: they are about the user's data, not our
    code) and every other warning as Python does. Installed by ``dialogsum_peft/__init__.py``."""
    import warnings  # noqa: F401 - the fallback when no default was captured

    if isinstance(category, type) and issubclass(category, DialogSumWarning):
        return f"warning: {one_line(message)}\n"
    return (_default or warnings.formatwarning)(message, category, filename, lineno, line)


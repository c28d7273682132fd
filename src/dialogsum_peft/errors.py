"""The exceptions a user of the tutorial can meet, one family so every front end reports them alike.

Why: a failure the user can fix (a bad setting, a broken file, a folder that belongs to another
run) must read as one sentence that says what and where, not as a traceback from deep inside
torch or transformers. The API raises these typed errors; the command line prints their message
as one ``error:`` line and exits with status 2; the notebook shows the message.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager


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


class SplitMissingError(DataError, KeyError):
    """A split the data does not have (``ds["test"]`` of a folder without test.jsonl, ``train``
    on data without a train split); the message names the data, the files that would hold the
    split and what the data holds. A KeyError as well, as any missing key of a dict."""

    def __str__(self) -> str:  # KeyError's own str() quotes the message
        return str(self.args[0]) if self.args else ""


class RunFolderError(DialogSumError):
    """The output folder belongs to another run, is locked, or cannot be written."""


class AdapterError(DialogSumError, ValueError):
    """An adapter folder is missing, incomplete, corrupt or holds non-finite weights."""


class WrongTypeError(DialogSumError, TypeError):
    """A value given to a helper (a notebook knob, a row index, a dialogue, results) is of the
    wrong type; the message names what it takes."""


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
    """A ``warnings.formatwarning`` that shows the package's own warnings as one ``warning: ...``
    line (no file name, line number or source line: they are about the user's data, not our
    code) and any other warning as ``_default`` (Python's own format) does."""
    if isinstance(category, type) and issubclass(category, DialogSumWarning):
        return f"warning: {one_line(message)}\n"
    return (_default or warnings.formatwarning)(message, category, filename, lineno, line)


def warn(message: str, category: type[DialogSumWarning], stacklevel: int = 2) -> None:
    """Issue one of the package's warnings, shown as one ``warning: ...`` line wherever Python
    shows it (a notebook cell, a script, the command line).

    The format applies to this warning, during this call: Python's ``warnings.formatwarning`` is
    put back when it returns, so importing or using the package changes nothing in how other
    libraries' warnings look. Filters, ``catch_warnings`` and ``pytest.warns`` see an ordinary
    warning of ``category``; ``stacklevel`` counts from the caller of this function, as for
    ``warnings.warn``.
    """
    default = warnings.formatwarning
    warnings.formatwarning = lambda *args, **kwargs: format_warning(
        *args, **kwargs, _default=default
    )
    try:
        warnings.warn(message, category, stacklevel=stacklevel + 1)
    finally:
        warnings.formatwarning = default


# Two warnings of other libraries that the package's own calls trigger and no user can act on
# (library interplay, not their code), each matched by its exact message: peft 0.21 reads
# model.is_gradient_checkpointing, which transformers 5.2x deprecated, when it wraps or loads a
# model; and without a GPU the DataLoader says on every epoch that it cannot pin memory (pinning
# only matters for copies to a GPU).
LIBRARY_NOTES = (
    (r"`is_gradient_checkpointing` is deprecated", FutureWarning),
    (r".*'pin_memory' argument is set as true but no accelerator", UserWarning),
)


@contextmanager
def quiet_library_notes():
    """A block in which :data:`LIBRARY_NOTES` are not shown: put around the package's own calls
    that trigger them (``get_peft_model``, ``PeftModel.from_pretrained``, ``Trainer.train``),
    never installed for the whole process."""
    with warnings.catch_warnings():
        for message, category in LIBRARY_NOTES:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield

"""The package's warnings read as one "warning: ..." line wherever Python shows them (notebook
cells included), other libraries' warnings keep Python's format, and importing the package
changes nothing global: no replaced formatwarning, no process-wide filter."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

from dialogsum_peft.errors import LIBRARY_NOTES, quiet_library_notes


def _stderr(code: str) -> list[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stderr.splitlines()


def test_package_warnings_are_one_line_and_others_unchanged():
    err = _stderr(
        "import warnings\n"
        "from dialogsum_peft.errors import warn\n"
        "from dialogsum_peft.tokenization import InputLossWarning\n"
        "warn('2 of 5 dialogues are cut\\n  at 512', InputLossWarning)\n"
        "warnings.warn('odd', UserWarning)\n"
    )
    assert err[0] == "warning: 2 of 5 dialogues are cut at 512"
    assert err[1].endswith(": UserWarning: odd")  # Python's own "file:line: Category: message"


def test_importing_the_package_changes_nothing_global():
    """Before: ``import dialogsum_peft`` replaced ``warnings.formatwarning`` and added two
    process-wide filters, which changed how every other library's warnings looked in a
    learner's notebook."""
    modules = [
        "dialogsum_peft",
        "dialogsum_peft.data",
        "dialogsum_peft.evaluation",
        "dialogsum_peft.reporting",
        "dialogsum_peft.trainer",
        "dialogsum_peft.methods",
        "dialogsum_peft.command_line.cli",
    ]
    libraries = [
        "torch",
        "transformers",
        "peft",
        "datasets",
        "accelerate",
        "scipy.stats",
        "pandas",
        "matplotlib.pyplot",
    ]  # which add filters of their own at import
    err = _stderr(
        "import importlib, warnings\n"
        f"for m in {libraries!r}: importlib.import_module(m)\n"
        "before = (warnings.formatwarning, warnings.showwarning, list(warnings.filters))\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "from dialogsum_peft.errors import warn\n"
        "from dialogsum_peft.tokenization import InputLossWarning\n"
        "warn('cut', InputLossWarning)\n"  # a package warning, shown and put back
        "after = (warnings.formatwarning, warnings.showwarning, list(warnings.filters))\n"
        "import sys; print(before == after, file=sys.stderr)\n"
    )
    assert err == ["warning: cut", "True"]


@pytest.mark.parametrize("message, category", LIBRARY_NOTES)
def test_library_notes_are_quiet_only_around_the_packages_own_calls(message, category):
    text = message.replace(".*", "the ").replace("`", "`")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_library_notes():
            warnings.warn(text, category)
        warnings.warn(text, category)  # outside the block: shown
    assert [str(w.message) for w in caught] == [text]


def test_peft_wrapping_by_the_package_shows_no_library_note(tiny, smoke_config):
    """apply_method's get_peft_model: no FutureWarning about is_gradient_checkpointing (peft 0.21
    reading a property transformers 5.2x deprecated), whatever the filters outside."""
    from dialogsum_peft.methods import apply_method

    model, _ = tiny
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        apply_method(model, smoke_config)
    assert [str(w.message) for w in caught if issubclass(w.category, FutureWarning)] == []

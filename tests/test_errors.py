"""The package's warnings read as one "warning: ..." line wherever Python shows them (notebook
cells included), other libraries' warnings keep Python's format, and importing the package
changes nothing global: no replaced formatwarning, no process-wide filter."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

from dialogsum_peft.errors import LIBRARY_NOTES, DialogSumError, quiet_library_notes


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


# Review item 12: a value a learner types into a notebook cell that a helper refuses showed as a
# full traceback (a plain TypeError or ValueError). Each is the package's one-line kind now, as
# IPython shows it (a DialogSumError renders itself: ``_render_traceback_``).
NOTEBOOK_MISTAKES = [
    ("check_index(test, '3')", "WrongTypeError: a row index is a whole number (e.g. 3), got '3'"),
    ("check_index(test, True)", "WrongTypeError: a row index is a whole number"),
    ("pick_index(test, 2.0)", "WrongTypeError: a row index is a whole number"),
    ("example_report(test, '3', {})", "WrongTypeError: a row index"),
    ("show_random_elements(test, 50)", "ConfigError: num_examples=50: the test split has 10"),
    ("show_random_elements(test, '3')", "ConfigError: num_examples is a whole number"),
    ("limit_split(test, 0)", "ConfigError: the evaluation size is a whole number of at least 1"),
    ("limit_split(test, '5')", "ConfigError: the evaluation size is a whole number"),
    ("build_prompt(3)", "WrongTypeError: a dialogue is a string, got int"),
    ("try_dialogue(None, None, 3, **gen)", "WrongTypeError: a dialogue is a string, got int"),
    ("compute_rouge('a summary', 'a reference')", "DataError: predictions must be a list"),
    ("rouge_table(results, protocol='max')", "ConfigError: unknown multi_ref 'max'"),
    ("rouge_table({'LoRA': {'rouge1': 0.4}})", "WrongTypeError: results['LoRA'] is a dict"),
    ("win_table(results, 'a', 'b', rouge_types=['rouge3'])", "ConfigError: unknown ROUGE type"),
    ("notebook_config('smok')", "ConfigError: DIALOGSUM_MODE/mode must be one of"),
    ("notebook_config('smoke', 'thorogh')", "ConfigError: unknown recipe 'thorogh'"),
]


@pytest.mark.parametrize("call, shown", NOTEBOOK_MISTAKES)
def test_a_notebook_mistake_shows_as_one_line(sample, call, shown, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from dialogsum_peft.metrics import EvalResult, score_pairs

    monkeypatch.delenv("DIALOGSUM_MODE", raising=False)
    test = sample["test"]
    refs = list(test["references"])
    shell = InteractiveShell.instance()
    shell.user_ns.update(
        test=test,
        gen={"batch_size": 1, "max_new_tokens": 4, "num_beams": 1, "max_source_length": 64},
        results={
            n: EvalResult([r[0] for r in refs], score_pairs([r[0] for r in refs], refs))
            for n in ("a", "b")
        },
    )
    setup = (
        "from dialogsum_peft.dialogues import check_index, example_report, pick_index, "
        "show_random_elements\n"
        "from dialogsum_peft.data import build_prompt\n"
        "from dialogsum_peft.evaluation import compute_rouge, limit_split, try_dialogue\n"
        "from dialogsum_peft.notebook_setup import notebook_config\n"
        "from dialogsum_peft.reporting import rouge_table, win_table\n"
    )
    assert shell.run_cell(setup).success
    with capture_output() as shown_output:
        result = shell.run_cell(call)
    assert isinstance(result.error_in_exec, DialogSumError), result.error_in_exec
    lines = shown_output.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(shown), lines

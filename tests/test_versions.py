"""The known broken combinations of library versions: when each applies, and the one-line refusal."""

from __future__ import annotations

import importlib.metadata

import pytest

from dialogsum_peft.errors import DialogSumError
from dialogsum_peft.versions import (
    BREAKAGES,
    BrokenVersionsError,
    known_breakages,
    library_versions,
    require_working,
)


def test_library_versions_are_the_installed_distributions():
    import peft
    import torch
    import transformers
    from packaging.version import Version

    versions = library_versions()
    assert versions["transformers"] == transformers.__version__
    assert versions["peft"] == peft.__version__
    # PyPI's CUDA build of torch 2.11 is "2.11.0" to pip and "2.11.0+cu130" to itself
    assert Version(versions["torch"]).public == Version(torch.__version__).public
    assert library_versions(("no-such-distribution",)) == {"no-such-distribution": "not installed"}


@pytest.mark.parametrize(
    "peft, transformers, broken",
    [
        ("0.20.0", "5.15.0", False),  # Colab's set and the floors
        ("0.20.0", "5.17.9", False),
        ("0.20.0", "5.18.0", True),  # transformers renamed the method peft 0.20 calls
        ("0.21.1", "5.25.0", True),
        ("0.21.2", "5.25.0", False),  # the newest
        ("0.21.2", "5.15.0", False),
    ],
)
def test_peft_before_0_21_2_breaks_with_transformers_5_18(peft, transformers, broken):
    versions = {"peft": peft, "transformers": transformers}
    names = [b.name for b in known_breakages(versions)]
    assert ("peft-seq2seq-generate" in names) is broken
    if broken:
        with pytest.raises(BrokenVersionsError) as err:
            require_working("peft-seq2seq-generate", versions)
        message = str(err.value)
        assert "\n" not in message and isinstance(err.value, DialogSumError)
        assert f"peft {peft}" in message and f"transformers {transformers}" in message
        assert "pip install -U 'peft>=0.21.2'" in message
    else:
        require_working("peft-seq2seq-generate", versions)


def test_a_missing_package_breaks_nothing():
    assert known_breakages({"peft": "not installed", "transformers": "5.25.0"}) == []


def test_the_installed_set_has_no_breakage_the_notebooks_meet():
    """Every package set .ci/run tests (colab, floors, newest) must run the notebooks."""
    assert [b.name for b in known_breakages() if b.in_notebooks] == []


def test_every_breakage_is_documented_with_its_fix():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "versions.md").read_text()
    for breakage in BREAKAGES:
        assert breakage.fix in page, breakage.name
        for package, spec in breakage.when.items():
            assert f"{package} {spec}" in page, (breakage.name, package)


def test_the_requirement_names_are_installed_distributions():
    """library_versions reads metadata by distribution name: each name it reports is real."""
    for name in library_versions():
        importlib.metadata.version(name)

"""scripts/package_set.py: how the colab and floors package sets are derived from the project's
files (building a set and running the suite in it is .ci/run's job, minutes per set)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("package_set", ROOT / "scripts" / "package_set.py")
package_set = importlib.util.module_from_spec(spec)
spec.loader.exec_module(package_set)


def test_every_requirement_has_a_floor_and_the_floors_are_the_stated_ones():
    floors = package_set.floors(ROOT / "requirements.txt", ROOT / "requirements-serve.txt")
    assert floors["transformers"] == "5.15" and floors["peft"] == "0.20"
    assert floors["ctranslate2"] == "4.6.3"
    lines = package_set.requirement_lines(
        ROOT / "requirements.txt", ROOT / "requirements-serve.txt"
    )
    assert len(floors) == len(lines)  # one floor per requirement, none skipped


def test_a_requirement_without_a_floor_is_refused(tmp_path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("torch>=2.6,<3  # fine\nnumpy  # no floor\n-e .\n")
    with pytest.raises(SystemExit, match="'numpy' has no floor"):
        package_set.floors(reqs)


def test_colab_pins_drop_local_versions_and_every_colab_version_meets_our_ranges():
    """What makes the install cell add packages and upgrade none: Colab's version of each of our
    requirements is inside its range."""
    from packaging.requirements import Requirement

    pins = package_set.read_pins(package_set.COLAB_FREEZE)
    assert pins["torch"] == "2.11.0"  # "2.11.0+cu128" in the file
    assert pins["transformers"] == "5.15.0" and pins["peft"] == "0.20.0"
    for line in package_set.requirement_lines(ROOT / "requirements.txt"):
        requirement = Requirement(line)
        name = package_set.canonical(requirement.name)
        if name in pins:
            assert requirement.specifier.contains(pins[name]), (line, pins[name])


def test_same_version_ignores_trailing_zeros_and_local_labels():
    assert package_set.same_version("2.6", "2.6.0+cu124")
    assert package_set.same_version("0.20", "0.20.0")
    assert not package_set.same_version("4.66", "4.66.3")


def test_the_suite_requires_ctranslate2_only_in_the_sets_that_install_it(monkeypatch, tmp_path):
    """Colab's set has no ctranslate2: its tests skip there even though .ci/run's first set
    exported the requirement; the floors set installs requirements-serve.txt, so they must run."""
    monkeypatch.setenv(package_set.REQUIRE_CTRANSLATE2, "1")  # as .ci/run leaves it
    python = str(tmp_path / "bin" / "python")
    colab = package_set.suite_env("colab", python, tmp_path)
    floors = package_set.suite_env("floors", python, tmp_path)
    assert colab[package_set.REQUIRE_CTRANSLATE2] == "0"
    assert floors[package_set.REQUIRE_CTRANSLATE2] == "1"
    assert colab["PATH"].startswith(str(tmp_path / "bin")) and colab["DIALOGSUM_SKIP_INSTALL"]
    assert "ctranslate2" not in package_set.read_pins(package_set.COLAB_FREEZE)

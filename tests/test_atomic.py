"""dialogsum_peft.atomic: a folder or file is replaced whole or not at all, and nothing temporary
is left behind, whatever happens while writing."""

from __future__ import annotations

import pytest

from dialogsum_peft.atomic import atomic_dir, replace_dir, write_text_atomic


def test_atomic_dir_replaces_the_whole_folder_on_success(tmp_path):
    target = tmp_path / "adapter"
    target.mkdir()
    (target / "stale.bin").write_text("old run")
    with atomic_dir(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target and not any(tmp.iterdir())
        (tmp / "weights.safetensors").write_text("new")
        assert (target / "stale.bin").is_file()  # the old folder stays until the block ends
    assert sorted(p.name for p in target.iterdir()) == ["weights.safetensors"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]  # no temporary folder left


def test_atomic_dir_leaves_the_target_untouched_on_error(tmp_path):
    target = tmp_path / "results"
    target.mkdir()
    (target / "scores.json").write_text("{}")
    with pytest.raises(KeyboardInterrupt):
        with atomic_dir(target) as tmp:
            (tmp / "scores.json").write_text('{"half": ')
            raise KeyboardInterrupt  # a user stopping the run mid-write
    assert (target / "scores.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "new") as tmp:
            raise RuntimeError("failed before anything was written")
    assert not (tmp_path / "new").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "results"
    ]


def test_atomic_dir_without_replace_keeps_what_another_process_finished(tmp_path):
    target = tmp_path / "cache"
    with atomic_dir(target, replace=False) as tmp:
        (tmp / "model").write_text("ours")
        target.mkdir()  # another process finished the same build first
        (target / "model").write_text("theirs")
    assert (target / "model").read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_write_text_atomic_and_replace_dir(tmp_path):
    path = tmp_path / "sub" / "run.json"
    write_text_atomic(path, "première\n")
    assert path.read_text(encoding="utf-8") == "première\n"
    write_text_atomic(path, "second\n")
    assert path.read_text() == "second\n" and sorted(p.name for p in path.parent.iterdir()) == [
        "run.json"
    ]
    new, target = tmp_path / "new", tmp_path / "target"
    new.mkdir()
    (new / "a").write_text("a")
    replace_dir(new, target)
    assert (target / "a").read_text() == "a" and not new.exists()

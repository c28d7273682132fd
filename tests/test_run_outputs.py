"""train's run folder (TrainRunFolder): the one list of its files, what is present,
--overwrite's clearing, the lock and atomic writes, on real folders."""

import json

import pytest

from dialogsum_peft.command_line.flags import TRAIN_EPILOG
from dialogsum_peft.command_line.run_outputs import RUN_FILES, RUN_OUTPUTS, TrainRunFolder
from dialogsum_peft.errors import RunFolderError


def test_help_lists_every_file_the_run_folder_holds():
    text = " ".join(TRAIN_EPILOG.split())
    for name in RUN_OUTPUTS:
        assert (
            f"{name}{'/' if '.' not in name else ''} ({' '.join(RUN_FILES[name].split())})" in text
        )


def test_present_and_clear_touch_only_the_run_files(tmp_path):
    folder = TrainRunFolder(tmp_path / "run")
    assert folder.present() == [] and folder.path == tmp_path / "run"
    (folder / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    (folder / "adapter").mkdir()
    folder.write_json("train_metrics.json", {"global_step": 2})
    (folder / "notes.txt").write_text("mine")
    assert folder.present() == ["checkpoints", "adapter"]
    assert json.loads((folder / "train_metrics.json").read_text()) == {"global_step": 2}
    folder.clear()
    assert sorted(p.name for p in folder.path.iterdir()) == ["notes.txt"]


def test_a_file_is_no_run_folder_and_one_training_holds_the_lock(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFolderError, match="is a file, not a folder"):
        TrainRunFolder(tmp_path / "file" / "run")
    folder = TrainRunFolder(tmp_path / "run")
    with folder.lock():
        with pytest.raises(RunFolderError, match="another training"):
            folder.lock().acquire()
    folder.lock().acquire().release()  # released: free again

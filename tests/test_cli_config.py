"""Issue 17, fault 3: a path the user gives (``~`` included) is resolved once, and every reader and
writer of the run uses that one value. ``HOME`` is a temporary folder, the working directory
another, so a file written under a literal ``./~`` folder is caught."""

from __future__ import annotations

import json

import pytest

from dialogsum_peft.adapters import check_adapter_dir
from dialogsum_peft.cli import build_parser, main
from dialogsum_peft.cli_config import resolve_config
from dialogsum_peft.config import TrainConfig


@pytest.fixture()
def home(tmp_path, monkeypatch):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    return home


def test_tilde_paths_in_flags_name_one_folder_for_every_reader_and_writer(home, tmp_path):
    # Before the fix: `assert (run / "adapter" / ...).is_file()` failed: checkpoints, lock,
    # run.json and config.json went to $HOME/runs/x, the adapter, loss history and metrics to
    # ./~/runs/x.
    assert main(["train", "--preset", "smoke", "--output-dir=~/runs/x", "--max-steps", "1",
                 "--save-steps", "1", "--train-limit", "8"]) == 0
    run = home / "runs" / "x"
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    for name in ("config.json", "train_metrics.json", "loss_history.json", "checkpoints/run.json"):
        assert (run / name).is_file(), name
    assert json.loads((run / "config.json").read_text())["output_dir"] == str(run)
    assert not (tmp_path / "cwd" / "~").exists()

    assert main(["evaluate", "--preset", "smoke", "--output-dir=~/runs/x",
                 "--adapter=~/runs/x/adapter", "--results-dir=~/evals/e", "--limit", "2", "--no-base",
                 "--max-new-tokens", "4"]) == 0
    assert (home / "evals" / "e" / "scores.json").is_file()

    (home / "in.txt").write_text("#Person1#: hi\n#Person2#: yo\n\n#Person1#: bye\n", "utf-8")
    assert main(["summarize", "--preset", "smoke", "--adapter=~/runs/x/adapter",
                 "--input=~/in.txt", "--output=~/out/s.txt", "--max-new-tokens", "4"]) == 0
    assert len((home / "out" / "s.txt").read_text("utf-8").splitlines()) == 2

    assert check_adapter_dir("~/runs/x/adapter") == run / "adapter"  # the Python API too
    assert not (tmp_path / "cwd" / "~").exists()


def test_tilde_paths_in_a_config_file_and_the_python_api(home):
    config_file = home / "cfg.json"
    config_file.write_text(json.dumps({"output_dir": "~/runs/y", "dataset_source": "~/data"}))
    args = build_parser().parse_args(["train", "--preset", "smoke", "--config=~/cfg.json"])
    config = resolve_config(args)
    assert config.output_dir == str(home / "runs" / "y")
    assert config.dataset_source == str(home / "data")
    assert TrainConfig.smoke(output_dir="~/z").output_dir == str(home / "z")
    assert TrainConfig.smoke(model_name="google/flan-t5-base").model_name == "google/flan-t5-base"
    args = build_parser().parse_args(["train", "--resume=~/runs/y/checkpoints/checkpoint-2"])
    assert args.resume == str(home / "runs/y/checkpoints/checkpoint-2")
    assert build_parser().parse_args(["train", "--resume"]).resume == "last"

"""Issue 17, fault 3: a path the user gives (``~`` included) is resolved once, and every reader and
writer of the run uses that one value. ``HOME`` is a temporary folder, the working directory
another, so a file written under a literal ``./~`` folder is caught."""

from __future__ import annotations

import json

import pytest

from dialogsum_peft.adapters import check_adapter_dir
from dialogsum_peft.command_line.cli import build_parser, main
from dialogsum_peft.command_line.cli_config import resolve_config
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
    assert (
        main(
            [
                "train",
                "--preset",
                "smoke",
                "--output-dir=~/runs/x",
                "--max-steps",
                "1",
                "--save-steps",
                "1",
                "--train-limit",
                "8",
            ]
        )
        == 0
    )
    run = home / "runs" / "x"
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    for name in ("config.json", "train_metrics.json", "loss_history.json", "checkpoints/run.json"):
        assert (run / name).is_file(), name
    assert json.loads((run / "config.json").read_text())["output_dir"] == str(run)
    assert not (tmp_path / "cwd" / "~").exists()

    assert (
        main(
            [
                "evaluate",
                "--preset",
                "smoke",
                "--output-dir=~/runs/x",
                "--adapter=~/runs/x/adapter",
                "--results-dir=~/evals/e",
                "--limit",
                "2",
                "--no-base",
                "--max-new-tokens",
                "4",
            ]
        )
        == 0
    )
    assert (home / "evals" / "e" / "scores.json").is_file()

    (home / "in.txt").write_text("#Person1#: hi\n#Person2#: yo\n\n#Person1#: bye\n", "utf-8")
    assert (
        main(
            [
                "summarize",
                "--preset",
                "smoke",
                "--adapter=~/runs/x/adapter",
                "--input=~/in.txt",
                "--output=~/out/s.txt",
                "--max-new-tokens",
                "4",
            ]
        )
        == 0
    )
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


# Issue 32, fault 1: a preset, a --config file and flags combine by one rule; a flag that cannot
# apply is refused in one line, never dropped.
def _resolve(*argv):
    return resolve_config(build_parser().parse_args(["train", *argv]))


def test_recipe_flag_sets_the_schedule_on_every_preset_and_over_a_config_file(tmp_path):
    from dialogsum_peft.recipes import RECIPES

    own = RECIPES["own-data"]
    # Before the fix: recipe "smoke", 30 steps: the smoke preset dropped --recipe.
    smoke = _resolve("--preset", "smoke", "--recipe", "own-data", "--dataset", str(tmp_path))
    assert (smoke.preset, smoke.recipe, smoke.max_steps) == ("smoke", "own-data", -1)
    assert smoke.num_train_epochs == own.num_train_epochs
    assert smoke.effective_batch == own.effective_batch and smoke.warmup_steps == own.warmup_steps
    assert smoke.learning_rate == TrainConfig.smoke().learning_rate  # the preset's rate stays
    assert smoke == TrainConfig.smoke(recipe="own-data", dataset_source=str(tmp_path))
    # a saved run's config.json: --recipe replaces its schedule, the rest of the file stays
    TrainConfig.smoke(lora_r=4, max_steps=7).save(tmp_path / "run.json")
    rerun = _resolve("--config", str(tmp_path / "run.json"), "--recipe", "own-data")
    assert (rerun.recipe, rerun.max_steps, rerun.num_train_epochs) == ("own-data", -1, 3.0)
    assert rerun.lora_r == 4 and rerun.preset == "smoke"
    # a schedule flag is more specific than the recipe: it wins
    assert _resolve("--preset", "smoke", "--recipe", "own-data", "--max-steps", "5").max_steps == 5
    assert _resolve("--config", str(tmp_path / "run.json")).max_steps == 7  # the file alone


def test_method_flag_sets_the_methods_settings_over_a_config_file(tmp_path):
    TrainConfig.smoke(method="full").save(tmp_path / "full.json")
    lora = _resolve("--config", str(tmp_path / "full.json"), "--method", "lora")
    # Before the fix: method lora with full fine-tuning's learning rate and adafactor
    assert lora == TrainConfig.smoke(method="lora")
    assert (
        _resolve(
            "--config", str(tmp_path / "full.json"), "--method", "ia3", "--lr", "0.5"
        ).learning_rate
        == 0.5
    )


@pytest.mark.parametrize(
    "argv, words",
    [
        (
            ["--preset", "smoke", "--method", "ia3", "--lora-r", "4"],
            "--lora-r is a setting of --method lora or lora-all; this run trains ia3",
        ),
        (
            ["--preset", "smoke", "--num-virtual-tokens", "5"],
            "--num-virtual-tokens is a setting of --method prompt-tuning; this run trains lora",
        ),
        (
            ["--config", "{partial}", "--recipe", "own-data"],
            "names none (preset None): add --preset",
        ),
        (["--preset", "smoke", "--max-steps", "3", "--epochs", "2"], "not both"),
    ],
)
def test_a_flag_that_cannot_apply_is_one_error_line(tmp_path, capsys, argv, words):
    (tmp_path / "partial.json").write_text('{"learning_rate": 0.0001}')
    argv = [a.replace("{partial}", str(tmp_path / "partial.json")) for a in argv]
    assert main(["train", *argv, "--output-dir", str(tmp_path / "run")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert not (tmp_path / "run").exists()


def test_a_recipe_or_method_from_a_config_file_that_the_preset_cannot_build_names_the_file(
    tmp_path, capsys
):
    """Review item 2: ``train --config <a smoke run's config.json> --preset colab`` said
    "unknown recipe 'smoke'" although no recipe was typed: the error names the file it came
    from and the flag that chooses another."""
    smoke_run = tmp_path / "config.json"
    TrainConfig.smoke().save(smoke_run)
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({**json.loads(smoke_run.read_text()), "method": "lorra"}))
    cases = [
        (["--config", str(smoke_run), "--preset", "colab"], "recipe 'smoke'", "--recipe {"),
        (["--config", str(smoke_run), "--preset", "auto"], "recipe 'smoke'", "--recipe {"),
        (["--config", str(odd), "--preset", "smoke"], "got 'lorra'", "give the setting as a flag"),
    ]
    for argv, named, remedy in cases:
        assert main(["train", *argv, "--output-dir", str(tmp_path / "run")]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: the config file {argv[1]}"), lines
        assert named in lines[0] and remedy in lines[0], lines
    assert not (tmp_path / "run").exists()
    # what the message asks for works, and the smoke preset still takes its own file
    assert _resolve(
        "--config", str(smoke_run), "--preset", "colab", "--recipe", "quick"
    ).recipe == ("quick")
    assert _resolve("--config", str(smoke_run), "--preset", "smoke").recipe == "smoke"

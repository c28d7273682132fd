"""dialogsum_peft.notebook_setup: the run's config from a notebook's knob cell, its output folder
(the repository's outputs/, DIALOGSUM_OUTPUT_DIR, one subfolder per method), Google Drive, the
environment report and the settings table."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dialogsum_peft.config import TrainConfig
from dialogsum_peft.errors import ConfigError, RunFolderError
from dialogsum_peft.hardware import DeviceInfo, in_colab
from dialogsum_peft.notebook_setup import (
    drive_output_dir,
    environment_report,
    notebook_config,
    repo_root,
    resolve_output_dir,
    settings_table,
)


def test_resolve_output_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("DIALOGSUM_OUTPUT_DIR", raising=False)
    root = repo_root()
    assert root is not None and (root / "src" / "dialogsum_peft").is_dir()
    assert resolve_output_dir("outputs/smoke") == root / "outputs" / "smoke"
    assert resolve_output_dir(tmp_path / "abs") == tmp_path / "abs"
    monkeypatch.setenv("DIALOGSUM_OUTPUT_DIR", str(tmp_path / "env"))
    assert resolve_output_dir("outputs/smoke") == tmp_path / "env"


def test_notebook_config_smoke(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIALOGSUM_MODE", "smoke")  # wins over the MODE argument
    monkeypatch.setenv("DIALOGSUM_OUTPUT_DIR", str(tmp_path / "run"))
    config = notebook_config("full", "thorough", eval_size=5, seed=7)
    assert config == TrainConfig.smoke(eval_limit=5, seed=7, output_dir=str(tmp_path / "run"))
    out = capsys.readouterr().out
    assert "MODE='full' -> running in SMOKE mode" in out and str(tmp_path / "run") in out
    assert out.count("!! SMOKE MODE") == 1 and "WARNING" not in out


def test_notebook_config_full_without_gpu(monkeypatch, capsys):
    monkeypatch.setenv("DIALOGSUM_MODE", "full")
    monkeypatch.delenv("DIALOGSUM_OUTPUT_DIR", raising=False)
    config = notebook_config("auto", "thorough")
    # The recipe as it is, in a folder of its own: switching recipes never mixes checkpoints.
    folder = repo_root() / "outputs" / "dialogsum-lora-thorough"
    assert config == TrainConfig.auto(recipe="thorough", output_dir=str(folder))
    out = capsys.readouterr().out
    assert "running in FULL mode" in out and "SMOKE" not in out
    assert "WARNING: no GPU found" in out and "24,920 examples" in out  # 2 epochs x 12,460
    notebook_config("full", "quick")
    assert "8,000 examples" in capsys.readouterr().out  # 250 steps x 32
    with pytest.raises(ConfigError, match="unknown recipe 'fast'"):
        notebook_config("full", "fast")


def test_notebook_config_drive_outside_colab(monkeypatch):
    monkeypatch.setenv("DIALOGSUM_MODE", "smoke")
    with pytest.raises(RunFolderError, match="SAVE_TO_DRIVE = False"):
        notebook_config(save_to_drive=True)


def test_notebook_config_reads_local_model_and_data_folders(tmp_path, monkeypatch, capsys):
    """A full run offline: the model and data knobs (or DIALOGSUM_MODEL/DIALOGSUM_DATA, which
    win) name local folders, and from_pretrained/load_dialogsum read them (config.model_path)."""
    monkeypatch.setenv("DIALOGSUM_MODE", "full")
    monkeypatch.setenv("DIALOGSUM_OUTPUT_DIR", str(tmp_path / "run"))
    model, data = tmp_path / "flan-t5-base", tmp_path / "dialogsum"
    config = notebook_config(model=str(model), data=str(data))
    assert (config.model_name, config.dataset_source) == (str(model), str(data))
    assert config.model_path == str(model) and not config.is_smoke
    monkeypatch.setenv("DIALOGSUM_MODEL", str(tmp_path / "other"))
    monkeypatch.setenv("DIALOGSUM_DATA", str(tmp_path / "other-data"))
    config = notebook_config(model=str(model), data=str(data), announce=False)
    assert (config.model_name, config.dataset_source) == (
        str(tmp_path / "other"),
        str(tmp_path / "other-data"),
    )
    monkeypatch.delenv("DIALOGSUM_MODEL")
    monkeypatch.delenv("DIALOGSUM_DATA")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # issue 32, fault 3: no Hub, local folders: full
    monkeypatch.delenv("DIALOGSUM_MODE", raising=False)
    model.mkdir()
    data.mkdir()
    assert (
        notebook_config("auto", model=str(model), data=str(data), announce=False).preset == "auto"
    )
    monkeypatch.setenv("DIALOGSUM_MODE", "smoke")  # smoke mode: the tiny T5 and the sample
    smoke = notebook_config(announce=False)
    assert smoke.model_name == TrainConfig.smoke().model_name
    assert Path(smoke.model_path, "config.json").is_file()  # the tiny T5's folder, built
    # Before the fix: MODEL and DATA were dropped without a word in smoke mode
    with pytest.raises(
        ConfigError,
        match="MODEL and DATA apply to full mode, and this run is "
        "in smoke mode \\(DIALOGSUM_MODE=smoke\\)",
    ):
        notebook_config(model=str(model), data=str(data), announce=False)
    monkeypatch.delenv("DIALOGSUM_MODE")  # auto without the Hub, the data from the Hub: smoke
    with pytest.raises(ConfigError, match="MODEL apply .*MODE='auto' and the Hugging Face Hub"):
        notebook_config("auto", model=str(model), announce=False)


def test_notebook_config_gives_each_method_its_own_folder(tmp_path, monkeypatch, capsys):
    """The methods notebook: one run name with the recipe in it, one subfolder per method, also
    when DIALOGSUM_OUTPUT_DIR moves the run (every method's checkpoints stay apart)."""
    monkeypatch.setenv("DIALOGSUM_MODE", "smoke")
    monkeypatch.delenv("DIALOGSUM_OUTPUT_DIR", raising=False)
    schedule = dict(max_steps=4, per_device_train_batch_size=4)
    configs = {
        m: notebook_config(
            method=m,
            run_name="peft-methods-{recipe}",
            subfolder=m,
            smoke_schedule=schedule,
            announce=m == "lora",
        )
        for m in ("lora", "ia3")
    }
    root = repo_root() / "outputs" / "peft-methods-smoke"
    assert {m: Path(c.output_dir) for m, c in configs.items()} == {
        "lora": root / "lora",
        "ia3": root / "ia3",
    }
    assert configs["ia3"].method == "ia3" and configs["ia3"].max_steps == 4
    assert capsys.readouterr().out.count("running in SMOKE mode") == 1
    monkeypatch.setenv("DIALOGSUM_OUTPUT_DIR", str(tmp_path / "env"))
    moved = notebook_config(
        method="ia3", run_name="peft-methods-{recipe}", subfolder="ia3", announce=False
    )
    assert Path(moved.output_dir) == tmp_path / "env" / "ia3"


@pytest.mark.skipif(in_colab(), reason="tests the non-Colab path")
def test_drive_output_dir_outside_colab(tmp_path):
    with pytest.raises(RunFolderError, match=r"only inside Google Colab.*SAVE_TO_DRIVE = False"):
        drive_output_dir("run1", mount=True, mount_point=str(tmp_path / "drive"))
    assert not (tmp_path / "drive").exists()  # nothing created on the way out
    with pytest.raises(RunFolderError, match="not mounted"):
        drive_output_dir("run1", mount=False, mount_point=str(tmp_path / "drive"))
    # an already-mounted Drive (here a folder laid out like one) gets the run folder
    (tmp_path / "drive" / "MyDrive").mkdir(parents=True)
    path = drive_output_dir("run1", mount=False, mount_point=str(tmp_path / "drive"))
    assert path == str(tmp_path / "drive" / "MyDrive" / "dialogsum_peft" / "run1")
    assert Path(path).is_dir()
    for bad in ("", "../escape", "a/b", ".."):
        with pytest.raises(RunFolderError, match="plain folder name"):
            drive_output_dir(bad, mount=False, mount_point=str(tmp_path / "drive"))


def test_environment_report_cpu_and_gpu():
    import transformers

    cpu = environment_report(DeviceInfo())
    assert f"transformers {transformers.__version__}" in " ".join(cpu.split())
    # issue 32 (11): before the mode is known, no warning (a smoke run on a CPU is what it is for:
    # the report warned "Full training would take hours here" above the smoke banner)
    assert "CPU only" in cpu and "WARNING" not in cpu and "Change runtime type -> GPU" in cpu
    assert "smoke mode" in cpu
    gpu = environment_report(DeviceInfo("cuda", "Tesla T4", 14.7, bf16=False))
    assert "Tesla T4, 14.7 GiB" in gpu and "fp32" in gpu and "WARNING" not in gpu
    assert in_colab() is False


def test_environment_report_warns_of_a_broken_combination_in_one_line():
    """peft 0.20 with transformers 5.18 or newer cannot build a seq2seq peft model: the report
    names both versions and the fix; the versions the package sets test raise no warning."""
    gpu = DeviceInfo("cuda", "Tesla T4", 14.7, bf16=False)
    broken = environment_report(gpu, versions={"peft": "0.20.0", "transformers": "5.25.0"})
    warnings = [line for line in broken.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1
    assert "peft 0.20.0" in warnings[0] and "transformers 5.25.0" in warnings[0]
    assert "pip install -U 'peft>=0.21.2'" in warnings[0]
    for tested in (
        {"peft": "0.20.0", "transformers": "5.15.0"},  # Colab's, the floors
        {"peft": "0.21.2", "transformers": "5.25.0"},
    ):  # the newest
        assert "WARNING" not in environment_report(gpu, versions=tested)


def test_settings_table_shows_what_applies_to_each_method():
    """Issue 18: the settings table was config.to_dict()'s 40 rows, and the methods notebook's
    gave IA3, prompt tuning and full fine-tuning a LoRA rank of 32 and targets q, v."""
    from dialogsum_peft.config import TrainConfig
    from dialogsum_peft.methods import METHODS, NOT_APPLICABLE, peft_config

    one = settings_table(TrainConfig.smoke())
    assert (
        len(one) <= 12
        and list(one.columns) == ["setting"]
        and NOT_APPLICABLE not in set(one["setting"])
    )
    assert (
        one.loc["LoRA rank r", "setting"] == "32 (alpha 32)"
        and one.loc["target modules", "setting"] == "q, v"
    )
    assert one.loc["effective batch = batch x accumulation", "setting"] == "8 = 8 x 1"
    full = settings_table(TrainConfig.auto(recipe="quick"))
    assert full.loc["training length", "setting"] == "250 steps"
    assert full.loc["effective batch = batch x accumulation", "setting"].startswith("32 = ")

    table = settings_table({m: TrainConfig.smoke(method=m) for m in METHODS})
    assert (
        len(table) <= 12 and list(table.columns) == list(METHODS) and not table.isna().any().any()
    )
    ia3 = set(peft_config(TrainConfig.smoke(method="ia3")).target_modules)  # what it rescales
    assert table.loc["target modules", "ia3"] == "k, v, wo" and ia3 == {"k", "v", "wo"}
    assert table.loc["target modules", "lora-all"] == "q, k, v, o, wi_0, wi_1, wo"
    for method in ("ia3", "prompt-tuning", "full"):
        assert table.loc["LoRA rank r", method] == NOT_APPLICABLE, method
    assert table.loc["target modules", "prompt-tuning"] == NOT_APPLICABLE
    assert table.loc["virtual tokens", "prompt-tuning"] == "20"
    assert (
        table.loc["virtual tokens", ["lora", "lora-all", "ia3", "full"]] == NOT_APPLICABLE
    ).all()


def test_settings_table_shows_a_long_data_path_whole(tmp_path):
    """pandas cuts a cell at 50 characters in a notebook's view: "/content/drive/MyDrive/..."."""
    from dialogsum_peft.config import TrainConfig
    from dialogsum_peft.offline import sample_data_dir

    data = tmp_path / ("a-folder-name-long-enough-to-pass-fifty-characters" * 2)
    shutil.copytree(sample_data_dir(), data)
    table = settings_table(TrainConfig.smoke(dataset_source=str(data)))
    for text in (table._repr_html_(), table.to_string(), repr(table)):
        assert str(data) in text


def test_notebook_knobs_are_checked_in_every_mode_and_smoke_says_what_recipe_does(
    tmp_path, monkeypatch, capsys
):
    """Review item 1: smoke mode took any RECIPE, a misspelt one included, and trained its own
    schedule without a word. The knobs are checked in every mode, and smoke mode says in one
    line that RECIPE applies in full mode, with the schedule it trains instead."""
    monkeypatch.setenv("DIALOGSUM_OUTPUT_DIR", str(tmp_path / "run"))
    for mode in ("smoke", "full"):
        monkeypatch.setenv("DIALOGSUM_MODE", mode)
        with pytest.raises(ConfigError, match=r"^unknown recipe 'thorogh' \(the RECIPE knob\); "):
            notebook_config(mode, recipe="thorogh", announce=False)
        with pytest.raises(ConfigError, match=r"^method must be one of .*, got 'lorra'$"):
            notebook_config(mode, method="lorra", announce=False)
    monkeypatch.setenv("DIALOGSUM_MODE", "smoke")
    config = notebook_config("smoke", recipe="thorough")
    assert config == TrainConfig.smoke(output_dir=str(tmp_path / "run"))  # the short schedule
    lines = capsys.readouterr().out.splitlines()
    said = [line for line in lines if "RECIPE" in line]
    assert said == [
        "RECIPE='thorough' applies in full mode; smoke mode trains its own short schedule "
        f"({config.max_steps} steps x {config.effective_batch} examples)"
    ]
    shorter = notebook_config("smoke", smoke_schedule=dict(max_steps=4))
    assert shorter.max_steps == 4 and "(4 steps x" in capsys.readouterr().out
    monkeypatch.delenv("DIALOGSUM_MODE")
    with pytest.raises(ConfigError, match="mode must be one of auto, full, smoke, got 'smok'"):
        notebook_config("smok", announce=False)

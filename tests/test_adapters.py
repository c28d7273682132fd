"""Issue 17, fault 4 and issue 32, fault 2: an adapter runs only on the base it was trained on.
Without a base named, every command loads the adapter's own; a base named otherwise, or one whose
shapes cannot fit, is refused naming both, in every command and API that loads an adapter."""

from __future__ import annotations

import copy
import json
import shutil

import pytest
import torch
from transformers import AutoTokenizer, T5ForConditionalGeneration

from conftest import gen, lora, randomize_lora_b, summarize_sample_argv
from dialogsum_peft.adapters import check_adapter_fits
from dialogsum_peft.command_line.cli import build_parser, main
from dialogsum_peft.command_line.cli_config import resolve_config
from dialogsum_peft.command_line.export import export, trained_base
from dialogsum_peft.command_line.loading import load_adapter, merged_copy
from dialogsum_peft.command_line.run_outputs import save_adapter
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.errors import AdapterError
from dialogsum_peft.generation import summarize
from dialogsum_peft.methods import apply_method
from dialogsum_peft.offline import sample_data_dir, tiny_base_dir, tiny_t5_config

XXL = "google/flan-t5-xxl"
SMOKE_GEN = ["--preset", "smoke", "--max-new-tokens", "3"]


def _adapter(model, tok, folder, method="lora", base=None):
    """An adapter saved to ``folder`` from a copy of ``model`` (get_peft_model changes the model
    it wraps: a second adapter on the same model would stack on the first)."""
    tuned = apply_method(
        copy.deepcopy(model), TrainConfig.smoke(method=method), str(tiny_base_dir())
    )
    path = save_adapter(tuned, folder, tok)
    if base is not None:
        config_file = path / "adapter_config.json"
        config = json.loads(config_file.read_text())
        config["base_model_name_or_path"] = base
        config_file.write_text(json.dumps(config))
    return path


@pytest.fixture()
def xxl_adapter(tiny, tmp_path):
    model, tok = tiny
    return _adapter(model, tok, tmp_path / "adapter", base=XXL)


def _one_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0] == lines[-1], lines
    return errors[0]


@pytest.mark.parametrize(
    "named", [["--preset", "smoke"], ["--model", "{tiny}"], ["--config", "{config}"]]
)
def test_an_adapter_for_another_base_is_refused_by_every_command_naming_both(
    xxl_adapter, tiny_dir, tmp_path, capsys, named
):
    # Before the fix (issue 17): it loaded onto the tiny T5 with a warning, and wrote summaries.
    TrainConfig.smoke().save(tmp_path / "config.json")
    named = [a.format(tiny=tiny_dir, config=tmp_path / "config.json") for a in named]
    data = str(sample_data_dir() / "test.jsonl")
    runs = {
        "summarize": ["--input", data, "--output", str(tmp_path / "s.jsonl")],
        "evaluate": ["--no-base", "--limit", "2", "--output-dir", str(tmp_path / "run")],
        "export": ["--to", str(tmp_path / "export")],
    }
    for command, argv in runs.items():
        assert main([command, *named, "--adapter", str(xxl_adapter), *argv]) == 2, command
        error = _one_error(capsys)
        assert f"the adapter {xxl_adapter} was trained on {XXL}, not on " in error, error
        assert "(--preset smoke)" in error or "(--model)" in error or "--config file" in error
    assert not any((tmp_path / name).exists() for name in ("s.jsonl", "run", "export"))


def test_the_api_and_the_notebook_check_refuse_another_base(tiny, tmp_path, xxl_adapter):
    model, tok = tiny
    both = f"trained on {XXL}, not on {model.name_or_path}"
    with pytest.raises(AdapterError, match=both):
        check_adapter_fits(xxl_adapter, model, tok)  # the notebook's cell, before from_pretrained
    with pytest.raises(AdapterError, match=both):
        load_adapter(model, xxl_adapter, tok)
    with pytest.raises(AdapterError, match=f"trained on {XXL}, not on tiny-random-t5"):
        export(TrainConfig.smoke(), xxl_adapter, tmp_path / "export")
    assert not (tmp_path / "export").exists()

    fresh = T5ForConditionalGeneration.from_pretrained(model.config._name_or_path)
    own = _adapter(fresh, tok, tmp_path / "own")
    load_adapter(T5ForConditionalGeneration.from_pretrained(model.config._name_or_path), own, tok)


def test_without_a_base_named_every_command_loads_the_adapters_own_base(tiny_dir, tmp_path, capsys):
    """An adapter trained on a local copy of a base: summarize, evaluate and export load that
    copy (offline) with no --model, --preset or --config; the smoke path's adapters get the
    smoke preset and its banner."""
    base = tmp_path / "my-base"
    shutil.copytree(tiny_dir, base)
    model = T5ForConditionalGeneration.from_pretrained(base)
    tok = AutoTokenizer.from_pretrained(base)
    adapter = save_adapter(lora(model), tmp_path / "adapter", tok)
    assert trained_base((adapter, "lora")) == str(base)
    dialogues = tmp_path / "in.txt"
    dialogues.write_text("#Person1#: Hi.\n#Person2#: Hello.\n", encoding="utf-8")
    # Before the fix: "Could not load model 'google/flan-t5-base' from the Hugging Face Hub"
    summarize_argv = ["summarize", "--adapter", str(adapter), "--input", str(dialogues)]
    summarize_argv += ["--max-new-tokens", "4"]
    assert main([*summarize_argv, "--output", str(tmp_path / "a.txt")]) == 0
    # the same with the base named
    assert main([*summarize_argv, "--model", str(base), "--output", str(tmp_path / "b.txt")]) == 0
    assert (tmp_path / "a.txt").read_text() == (tmp_path / "b.txt").read_text()
    assert (
        main(
            [
                "evaluate",
                "--adapter",
                str(adapter),
                "--dataset",
                str(sample_data_dir()),
                "--limit",
                "2",
                "--no-base",
                "--max-new-tokens",
                "4",
                "--output-dir",
                str(tmp_path / "run"),
            ]
        )
        == 0
    )
    scores = json.loads((tmp_path / "run" / "evaluation" / "scores.json").read_text())
    assert scores["model"] == str(base)
    assert main(["export", "--adapter", str(adapter), "--to", str(tmp_path / "export")]) == 0
    assert json.loads((tmp_path / "export" / "export.json").read_text())["base_model"] == str(base)
    capsys.readouterr()
    # a smoke adapter: the smoke preset (its generation settings, its banner)
    smoke = _adapter(T5ForConditionalGeneration.from_pretrained(tiny_dir), tok, tmp_path / "smoke")
    args = build_parser().parse_args(["summarize", "--adapter", str(smoke)])
    assert resolve_config(args, trained_base((smoke, "lora"))) == TrainConfig.smoke()


def test_a_full_runs_model_records_its_base_in_the_run_folder(tiny_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_dir, run / "model")
    TrainConfig.smoke(method="full").save(run / "config.json")
    assert trained_base((run / "model", "full")) == "tiny-random-t5"
    args = build_parser().parse_args(["evaluate", "--adapter", str(run / "model")])
    assert resolve_config(args, trained_base((run / "model", "full"))).is_smoke
    shutil.copytree(run / "model", tmp_path / "moved")  # outside its run: nothing records it
    assert trained_base((tmp_path / "moved", "full")) is None


@pytest.mark.parametrize("method", ["lora", "prompt-tuning"])
def test_an_adapter_whose_shapes_cannot_fit_is_refused_naming_both_bases(
    tiny, tmp_path, method, capsys
):
    model, tok = tiny
    # saved and loaded like any base (a model built in memory has no folder: peft 0.20 warns
    # at save_pretrained that it cannot read its config)
    T5ForConditionalGeneration(tiny_t5_config(len(tok), d_model=48)).save_pretrained(tmp_path / "b")
    wide = T5ForConditionalGeneration.from_pretrained(tmp_path / "b")
    adapter = _adapter(wide, tok, tmp_path / "wide", method=method, base="acme/t5-wide")
    with pytest.raises(AdapterError, match="trained on acme/t5-wide"):
        load_adapter(model, adapter, tok)
    # the command line: one error line, exit 2
    assert main(summarize_sample_argv(adapter, *SMOKE_GEN)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len([e for e in err if e.startswith("error: ")]) == 1 and "acme/t5-wide" in err[-1]


def test_merged_adapter_generates_the_same_summaries(tiny, sample):
    model, tok = tiny
    peft_model = randomize_lora_b(lora(model), scale=1.0)
    dialogues = list(sample["test"]["dialogue"])
    unmerged = summarize(peft_model, tok, dialogues, progress=False, **gen(max_new_tokens=8))
    merged = merged_copy(peft_model)
    assert not any("lora_" in n for n, _ in merged.named_parameters())
    assert summarize(merged, tok, dialogues, progress=False, **gen(max_new_tokens=8)) == unmerged
    # the peft model is untouched: still an adapter, still switchable off for zero-shot
    assert any("lora_" in n for n, _ in peft_model.named_parameters())
    assert (
        summarize(peft_model, tok, dialogues, progress=False, **gen(max_new_tokens=8)) == unmerged
    )


def test_prompt_tuning_has_nothing_to_merge(tiny):
    from dialogsum_peft.errors import AdapterError
    from dialogsum_peft.offline import tiny_base_dir

    model, _ = tiny
    config = TrainConfig.smoke(method="prompt-tuning")
    with pytest.raises(AdapterError, match="prompt-tuning adapter has no weights to merge"):
        merged_copy(apply_method(model, config, str(tiny_base_dir())))


def test_a_pickle_only_adapter_is_refused_with_the_command_that_converts_it(tiny, tmp_path, capsys):
    """Issue 32: the `.bin`-only message said what was wrong, not how to convert; the command
    it now gives, run as it is, converts the adapter to safetensors."""
    import subprocess
    import sys

    from safetensors.torch import load_file

    from dialogsum_peft.command_line.loading import check_trained_dir

    model, tok = tiny
    adapter = _adapter(model, tok, tmp_path / "adapter")
    weights = adapter / "adapter_model.safetensors"
    torch.save(load_file(weights), adapter / "adapter_model.bin")
    weights.unlink()
    assert main(summarize_sample_argv(adapter, *SMOKE_GEN)) == 2
    error = _one_error(capsys)
    assert "holds adapter_model.bin, a pickle" in error and "safe_serialization=True" in error
    command = error.split("python -c ")[1].strip('"')
    subprocess.run([sys.executable, "-c", command], check=True, capture_output=True)
    assert check_trained_dir(adapter) == (adapter, "lora") and weights.is_file()


def test_an_adapters_base_folder_that_is_gone_is_one_error_line(tiny, tmp_path, capsys):
    model, tok = tiny
    for base, words in (
        (tmp_path / "gone-model", "give --model with that base model"),
        (tmp_path / "dialogsum_peft-tiny-t5-0123", "train the adapter again"),
    ):
        adapter = _adapter(model, tok, tmp_path / f"adapter-{base.name}", base=str(base))
        assert main(summarize_sample_argv(adapter)) == 2
        error = _one_error(capsys)
        assert f"was trained on {base}, which is not here: " in error and words in error

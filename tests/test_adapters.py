"""Issue 17, fault 4: an adapter made for another base says so (both names), and one whose shapes
cannot fit the base is refused, in every command and API that loads an adapter."""

from __future__ import annotations

import json
import warnings

import pytest
from transformers import T5ForConditionalGeneration

from dialogsum_peft.adapters import (AdapterBaseWarning, check_adapter_fits, load_adapter,
                                     save_adapter)
from dialogsum_peft.cli import main
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.errors import AdapterError
from dialogsum_peft.methods import apply_method
from dialogsum_peft.offline import sample_data_dir, tiny_base_dir, tiny_t5_config
import torch
from conftest import lora
from dialogsum_peft.adapters import merged_copy
from dialogsum_peft.generation import summarize

XXL = "google/flan-t5-xxl"
SMOKE_GEN = ["--preset", "smoke", "--max-new-tokens", "3"]


def _adapter(model, tok, folder, method="lora", base=None):
    tuned = apply_method(model, TrainConfig.smoke(method=method), str(tiny_base_dir()))
    path = save_adapter(tuned, folder, tok)
    if base is not None:
        config_file = path / "adapter_config.json"
        config = json.loads(config_file.read_text())
        config["base_model_name_or_path"] = base
        config_file.write_text(json.dumps(config))
    return path


def _base_warnings(caught):
    return [str(w.message) for w in caught if issubclass(w.category, AdapterBaseWarning)]


@pytest.fixture()
def xxl_adapter(tiny, tmp_path):
    model, tok = tiny
    return _adapter(model, tok, tmp_path / "adapter", base=XXL)


def test_an_adapter_for_another_base_warns_on_every_command(xxl_adapter, tiny_dir, tmp_path, capsys):
    # Before the fix: `assert len(warned) == 1` failed: the adapter loaded without a word.
    data = str(sample_data_dir() / "test.jsonl")
    runs = {"summarize": ["summarize", *SMOKE_GEN, "--adapter", str(xxl_adapter), "--input", data,
                          "--output", str(tmp_path / "s.jsonl")],
            "evaluate": ["evaluate", *SMOKE_GEN, "--adapter", str(xxl_adapter), "--no-base",
                         "--limit", "2", "--output-dir", str(tmp_path / "run")]}
    for name, argv in runs.items():
        assert main(argv) == 0, name
        warned = [line for line in capsys.readouterr().err.splitlines()
                  if line.startswith("warning: the adapter")]
        assert len(warned) == 1, name
        assert f"trained on {XXL} and is loaded onto {tiny_dir}" in warned[0]


def test_the_api_and_the_notebook_check_warn_and_the_same_base_does_not(tiny, tmp_path, xxl_adapter):
    model, tok = tiny
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_adapter_fits(xxl_adapter, model, tok)  # the notebook's cell, before from_pretrained
        load_adapter(model, xxl_adapter, tok)
    assert len(_base_warnings(caught)) == 2 and XXL in _base_warnings(caught)[0]

    fresh = T5ForConditionalGeneration.from_pretrained(model.config._name_or_path)
    own = _adapter(fresh, tok, tmp_path / "own")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_adapter(T5ForConditionalGeneration.from_pretrained(model.config._name_or_path),
                     own, tok)
    assert _base_warnings(caught) == []


@pytest.mark.parametrize("method", ["lora", "prompt-tuning"])
def test_an_adapter_whose_shapes_cannot_fit_is_refused_naming_both_bases(tiny, tmp_path, method,
                                                                         capsys):
    model, tok = tiny
    wide = T5ForConditionalGeneration(tiny_t5_config(len(tok), d_model=48))
    adapter = _adapter(wide, tok, tmp_path / "wide", method=method, base="acme/t5-wide")
    with pytest.raises(AdapterError, match="trained on acme/t5-wide"), warnings.catch_warnings():
        warnings.simplefilter("ignore", AdapterBaseWarning)  # LoRA: the names differ too
        load_adapter(model, adapter, tok)
    # the command line: one error line, exit 2
    assert main(["summarize", *SMOKE_GEN, "--adapter", str(adapter), "--input",
                 str(sample_data_dir() / "test.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len([e for e in err if e.startswith("error: ")]) == 1 and "acme/t5-wide" in err[-1]


def test_merged_adapter_generates_the_same_summaries(tiny, sample):
    model, tok = tiny
    peft_model = lora(model)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen))
    dialogues = list(sample["test"]["dialogue"])
    unmerged = summarize(peft_model, tok, dialogues, max_new_tokens=8, progress=False)
    merged = merged_copy(peft_model)
    assert not any("lora_" in n for n, _ in merged.named_parameters())
    assert summarize(merged, tok, dialogues, max_new_tokens=8, progress=False) == unmerged
    # the peft model is untouched: still an adapter, still switchable off for zero-shot
    assert any("lora_" in n for n, _ in peft_model.named_parameters())
    assert summarize(peft_model, tok, dialogues, max_new_tokens=8, progress=False) == unmerged


def test_prompt_tuning_has_nothing_to_merge(tiny):
    from dialogsum_peft.errors import AdapterError
    from dialogsum_peft.offline import tiny_base_dir

    model, _ = tiny
    config = TrainConfig.smoke(method="prompt-tuning")
    with pytest.raises(AdapterError, match="prompt-tuning adapter has no weights to merge"):
        merged_copy(apply_method(model, config, str(tiny_base_dir())))

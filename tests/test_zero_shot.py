"""Every zero-shot output made from a peft model equals the base model's, for every peft method.

Issue 16: ``disable_adapter()`` alone left prompt tuning's virtual tokens in ``generate``, so the
"zero-shot" row of a prompt-tuned model was the prompt-tuned model. Each place that makes a
zero-shot output from a peft model is checked here against a base model loaded on its own.
"""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoTokenizer, T5ForConditionalGeneration

from conftest import gen
from dialogsum_peft.command_line.cli import main
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.evaluation import (
    LORA,
    ZERO_SHOT,
    evaluate_model,
    evaluate_zero_shot_and_lora,
    limit_split,
    zero_shot_and_lora_summaries,
)
from dialogsum_peft.generation import summarize
from dialogsum_peft.methods import METHODS, apply_method, is_peft
from dialogsum_peft.zero_shot import zero_shot_model

PEFT_METHODS = [m for m in METHODS if is_peft(m)]
GEN = dict(gen(max_new_tokens=8), progress=False)


def trained_like(tiny_dir, method):
    """A peft model of ``method`` on a fresh tiny base, its adapter weights moved off their
    no-op start (as training would), so the adapter changes what the model writes."""
    base = T5ForConditionalGeneration.from_pretrained(tiny_dir).eval()
    model = apply_method(base, TrainConfig.smoke(method=method), str(tiny_dir))
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 2)
    return model.eval()


@pytest.fixture(scope="module")
def dialogues(sample):
    return list(sample["test"]["dialogue"][:2])


@pytest.fixture(scope="module")
def base_summaries(tiny_dir, dialogues):
    """The base model loaded on its own: what every zero-shot output must equal."""
    base = T5ForConditionalGeneration.from_pretrained(tiny_dir).eval()
    return summarize(base, AutoTokenizer.from_pretrained(tiny_dir), dialogues, **GEN)


@pytest.mark.parametrize("method", PEFT_METHODS)
def test_zero_shot_model_writes_what_the_base_writes(method, tiny_dir, dialogues, base_summaries):
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    model = trained_like(tiny_dir, method)
    assert summarize(model, tokenizer, dialogues, **GEN) != base_summaries  # the adapter acts
    with zero_shot_model(model) as base:
        assert summarize(base, tokenizer, dialogues, **GEN) == base_summaries
    assert summarize(model, tokenizer, dialogues, **GEN) != base_summaries  # and is back on


def test_zero_shot_model_refuses_a_plain_model(tiny):
    with pytest.raises(TypeError, match="load the base"):
        with zero_shot_model(tiny[0]):
            pass


def test_notebook_helpers_zero_shot_is_the_base_under_prompt_tuning(
    tiny_dir, sample, dialogues, base_summaries
):
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    model = trained_like(tiny_dir, "prompt-tuning")
    summaries = zero_shot_and_lora_summaries(model, tokenizer, dialogues, **GEN)
    assert summaries[ZERO_SHOT] == base_summaries
    assert summaries[LORA] != base_summaries
    config = TrainConfig.smoke(max_new_tokens=8)
    split = limit_split(sample["test"], 2)
    results = evaluate_zero_shot_and_lora(model, tokenizer, split, config, progress=False)
    base = T5ForConditionalGeneration.from_pretrained(tiny_dir).eval()
    alone = evaluate_model(base, tokenizer, split, progress=False, **config.generation_kwargs())
    assert results[ZERO_SHOT].predictions == alone.predictions
    assert results[ZERO_SHOT].pair_scores == alone.pair_scores


def test_cli_evaluate_base_row_is_the_base_for_a_prompt_tuning_adapter(tiny_dir, tmp_path):
    from dialogsum_peft.command_line.run_outputs import save_adapter

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    adapter = save_adapter(trained_like(tiny_dir, "prompt-tuning"), tmp_path / "adapter", tokenizer)
    common = [
        "evaluate",
        "--preset",
        "smoke",
        "--limit",
        "2",
        "--max-new-tokens",
        "8",
        "--predictions-format",
        "jsonl",
    ]
    assert main([*common, "--adapter", str(adapter), "--results-dir", str(tmp_path / "pt")]) == 0
    assert main([*common, "--results-dir", str(tmp_path / "alone")]) == 0

    def predictions(folder, name):
        lines = (tmp_path / folder / f"predictions-{name}.jsonl").read_text().splitlines()
        return [json.loads(line)["prediction"] for line in lines]

    assert predictions("pt", "base") == predictions("alone", "base")
    assert predictions("pt", "prompt-tuning") != predictions("pt", "base")

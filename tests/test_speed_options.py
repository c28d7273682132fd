"""The speed options (all off by default until a GPU measurement says they help) change speed,
not results: checked on the tiny T5 on a CPU against the default path, tolerances stated."""

from __future__ import annotations

import pytest
import torch

from conftest import lora, usable_cores
from dialogsum_peft.adapters import merged_copy
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.generation import summarize
from dialogsum_peft.methods import apply_method
from dialogsum_peft.modeling import load_base_model
from dialogsum_peft.trainer import make_trainer
from dialogsum_peft.trainer_parts import loss_history


def losses(sample, tmp_path, **settings) -> list[float]:
    """The training losses of a 3-step run. No validation loss (eval_steps 0): these tests
    compare training losses only, and with workers every evaluation would start its own."""
    config = TrainConfig.smoke(output_dir=str(tmp_path), max_steps=3, logging_steps=1,
                               save_steps=100, train_limit=24, eval_steps=0, **settings)
    model, tok = load_base_model(config)
    trainer = make_trainer(apply_method(model, config), tok, sample, config)
    trainer.train()
    return [loss for _, loss in loss_history(trainer)]


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


def test_fused_adamw_trains_like_adamw(sample, tmp_path):
    plain = losses(sample, tmp_path / "a", optim="adamw_torch")
    fused = losses(sample, tmp_path / "b", optim="adamw_torch_fused")
    assert fused == pytest.approx(plain, rel=1e-5)  # same maths, other kernel


def test_dataloader_workers_change_nothing_but_speed(sample, tmp_path):
    workers = min(2, usable_cores())  # no more workers than cores
    assert losses(sample, tmp_path / "w", dataloader_num_workers=workers) == \
        losses(sample, tmp_path / "n", dataloader_num_workers=0)  # same batches, same order


def test_torch_compile_and_workers_reach_the_trainer(tmp_path):
    """Compile's numerics (its own dropout RNG, fused kernels) are checked on the GPU benchmark
    run, where it is measured; here: the setting reaches the Trainer, and only when set."""
    from dialogsum_peft.trainer import training_arguments

    plain = training_arguments(TrainConfig.smoke(output_dir=str(tmp_path)))
    assert plain.torch_compile is False and plain.dataloader_num_workers == 0
    tuned = training_arguments(TrainConfig.smoke(output_dir=str(tmp_path), torch_compile=True,
                                                 dataloader_num_workers=2))
    assert tuned.torch_compile is True and tuned.dataloader_num_workers == 2


def test_speed_flags_reach_the_command_line():
    from dialogsum_peft.cli import build_parser
    from dialogsum_peft.cli_config import resolve_config

    parser = build_parser()
    config = resolve_config(parser.parse_args(["train", "--preset", "smoke", "--torch-compile",
                                               "--dataloader-num-workers", "2",
                                               "--attn-implementation", "flex_attention"]))
    assert config.torch_compile and config.dataloader_num_workers == 2
    assert config.attn_implementation == "flex_attention"
    config = resolve_config(parser.parse_args(["evaluate", "--preset", "smoke",
                                               "--merge-for-generation"]))
    assert config.merge_for_generation

"""dialogsum_peft.command_line.loading: loading by name (safetensors, the full-mode path on a local
folder) and never fp16."""

import pytest
import torch

from conftest import gen
from dialogsum_peft.command_line.loading import (
    load_base_model,
    load_model_and_tokenizer,
    pick_dtype,
)
from dialogsum_peft.config import TrainConfig


def test_pick_dtype_never_fp16():
    assert pick_dtype("cpu") is torch.float32
    if torch.cuda.is_available():  # pragma: no cover - GPU machines only
        assert pick_dtype("cuda") in (torch.bfloat16, torch.float32)


def test_fp16_is_refused_with_reason():
    with pytest.raises(ValueError, match="fp16"):
        load_model_and_tokenizer("google/flan-t5-base", dtype=torch.float16)


def test_full_mode_loading_path_on_a_local_checkpoint(tiny_dir, sample):
    """The notebook's full-mode branch (load_model_and_tokenizer via from_pretrained) on a
    local checkpoint folder: the same code that loads google/flan-t5-base from the Hub."""
    from dialogsum_peft.generation import summarize

    model, tok = load_model_and_tokenizer(str(tiny_dir), device="cpu")
    assert next(model.parameters()).dtype is torch.float32  # pick_dtype on a CPU
    assert model.config._attn_implementation == "eager"
    config = TrainConfig.auto(model_name=str(tiny_dir))
    assert config.preset == "auto" and config.precision == "fp32"  # CPU: for_device picks fp32
    assert config.is_smoke  # the tiny T5's folder is still the smoke model: its banner shows
    model2, tok2 = load_base_model(config, device="cpu")
    dialogues = list(sample["validation"]["dialogue"][:2])
    assert summarize(model, tok, dialogues, progress=False, **gen(max_new_tokens=6)) == summarize(
        model2, tok2, dialogues, progress=False, **gen(max_new_tokens=6)
    )

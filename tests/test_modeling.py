"""dialogsum_peft.modeling: loading (safetensors, the full-mode path on a local folder), LoRA on
q and v only, and never fp16."""

import pytest
import torch

from conftest import lora
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.modeling import load_model_and_tokenizer, pick_dtype


def test_lora_freezes_base_and_targets_only_q_v(tiny):
    model, _ = tiny
    peft_model = lora(model, lora_r=4, lora_alpha=8)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert {n.split(".")[-4] for n in trainable} == {"q", "v"}
    assert peft_model.peft_config["default"].task_type == "SEQ_2_SEQ_LM"


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
    from dialogsum_peft.modeling import load_base_model

    model, tok = load_model_and_tokenizer(str(tiny_dir), device="cpu")
    assert next(model.parameters()).dtype is torch.float32  # pick_dtype on a CPU
    assert model.config._attn_implementation == "eager"
    config = TrainConfig.auto(model_name=str(tiny_dir))
    assert config.preset == "auto" and config.precision == "fp32"  # CPU: for_device picks fp32
    assert config.is_smoke  # the tiny T5's folder is still the smoke model: its banner shows
    model2, tok2 = load_base_model(config, device="cpu")
    dialogues = list(sample["validation"]["dialogue"][:2])
    assert summarize(model, tok, dialogues, max_new_tokens=6, progress=False) == \
        summarize(model2, tok2, dialogues, max_new_tokens=6, progress=False)

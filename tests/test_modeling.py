import pytest
import torch

from conftest import lora
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.hardware import DeviceInfo, recommend
from dialogsum_peft.methods import apply_method
from dialogsum_peft.modeling import (
    count_parameters, flan_t5_base_shaped_model, load_model_and_tokenizer, pick_dtype,
)


def test_flan_t5_base_shape_counts_without_download(capsys):
    model = flan_t5_base_shaped_model(device="meta")
    full = count_parameters(model)
    assert full.total == 247_577_856 and full.trainable == full.total and full.percent == 100.0
    peft_model = apply_method(model, TrainConfig())  # the tutorial's r=32, alpha=32 on q and v
    counted = count_parameters(peft_model)
    assert counted.trainable == 3_538_944  # 72 q/v projections x r x (768 + 768)
    assert counted.total == 247_577_856 + 3_538_944
    assert counted.percent == pytest.approx(100 * 3_538_944 / (247_577_856 + 3_538_944))
    peft_model.print_trainable_parameters()  # peft's own count and format
    assert str(counted) in capsys.readouterr().out
    assert "trainable params: 3,538,944 || all params: 251,116,800" in str(counted)


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


@pytest.mark.parametrize("info, precision, batch", [
    (DeviceInfo(), "fp32", 8),
    (DeviceInfo("cuda", "Tesla T4", 14.7, bf16=False), "fp32", 8),
    (DeviceInfo("cuda", "Tesla V100-SXM2-32GB", 31.7, bf16=False), "fp32", 16),
    (DeviceInfo("cuda", "NVIDIA L4", 22.0, bf16=True), "bf16", 16),
    (DeviceInfo("cuda", "NVIDIA A100-SXM4-40GB", 39.4, bf16=True), "bf16", 32),
    (DeviceInfo("cuda", "NVIDIA H100 80GB HBM3", 79.2, bf16=True), "bf16", 64),
    (DeviceInfo("cuda", "NVIDIA H200", 139.8, bf16=True), "bf16", 128),
])
def test_recommendation_by_device(info, precision, batch):
    rec = recommend(info)
    assert (rec.precision, rec.train_batch_size) == (precision, batch)
    assert rec.eval_batch_size >= rec.train_batch_size
    assert rec.optim == ("adamw_torch_fused" if info.kind == "cuda" else "adamw_torch")


@pytest.mark.parametrize("lora_r", [0, 4])
def test_forward_flops_match_torch_flop_counter(lora_r):
    """The FLOP formula the benchmarks use for MFU agrees with PyTorch's own counter."""
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import T5ForConditionalGeneration

    from dialogsum_peft.measuring import t5_forward_flops
    from dialogsum_peft.offline import tiny_t5_config

    config = tiny_t5_config(500)
    config._attn_implementation = "eager"  # plain matmuls, which the counter sees one by one
    model = T5ForConditionalGeneration(config).eval()
    if lora_r:
        model = lora(model, lora_r=lora_r, lora_alpha=8)
    src, tgt = torch.randint(3, 500, (1, 37)), torch.randint(3, 500, (1, 11))
    with FlopCounterMode(display=False) as counter:
        model(input_ids=src, labels=tgt)
    assert counter.get_total_flops() == t5_forward_flops(config, 37, 11, lora_r=lora_r)


def test_every_tier_fits_its_smallest_card_in_the_worst_case():
    """Batch tiers stay within the measured worst-case memory per example, with headroom."""
    from dialogsum_peft.hardware import (
        _BF16_TIERS, _FP32_TIERS, MEMORY_HEADROOM, WORST_CASE_GIB_PER_EXAMPLE,
    )

    for precision, tiers in (("bf16", _BF16_TIERS), ("fp32", _FP32_TIERS)):
        for min_gib, batch, _ in tiers:
            card = max(min_gib, 15.0)  # the smallest card a tier can get is a 16 GB one
            assert batch * WORST_CASE_GIB_PER_EXAMPLE[precision] <= MEMORY_HEADROOM * card, (precision, batch)


def test_full_mode_loading_path_on_a_local_checkpoint(tiny_dir, sample):
    """The notebook's full-mode branch (load_model_and_tokenizer via from_pretrained) on a
    local checkpoint folder: the same code that loads google/flan-t5-base from the Hub."""
    from dialogsum_peft.generation import summarize
    from dialogsum_peft.modeling import load_base_model

    model, tok = load_model_and_tokenizer(str(tiny_dir), device="cpu")
    assert next(model.parameters()).dtype is torch.float32  # pick_dtype on a CPU
    assert model.config._attn_implementation == "eager"
    config = TrainConfig.auto(model_name=str(tiny_dir))
    assert not config.is_smoke and config.precision == "fp32"  # CPU: for_device picks fp32
    model2, tok2 = load_base_model(config, device="cpu")
    dialogues = list(sample["validation"]["dialogue"][:2])
    assert summarize(model, tok, dialogues, max_new_tokens=6, progress=False) == \
        summarize(model2, tok2, dialogues, max_new_tokens=6, progress=False)

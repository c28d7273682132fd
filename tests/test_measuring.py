"""dialogsum_peft.measuring: flan-t5-base's parameter counts from its shape alone, and a FLOP
formula that agrees with PyTorch's own counter."""

import pytest
import torch

from conftest import lora
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.measuring import flan_t5_base_shaped_model
from dialogsum_peft.methods import apply_method
from dialogsum_peft.modeling import count_parameters


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

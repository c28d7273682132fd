"""Every fine-tuning method: its trainable parameters (checked against peft's own count and the
layer shapes), and a real train + evaluate through the command line on the tiny T5."""

from __future__ import annotations

import json

import pytest
import torch

from dialogsum_peft.command_line.cli import main
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.measuring import flan_t5_base_shaped_model
from dialogsum_peft.methods import METHODS, T5_LINEAR_LAYERS, apply_method, saved_method
from dialogsum_peft.modeling import count_parameters
from dialogsum_peft.offline import tiny_base_dir

BASE_TOTAL = 247_577_856  # flan-t5-base


def linear_layers(model, names):
    """(in, out) features of every nn.Linear whose name ends in one of ``names``."""
    return [
        (m.in_features, m.out_features)
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Linear) and n.split(".")[-1] in names
    ]


def expected_trainable(method: str, model, config) -> int:
    """The count worked out from the model's layer shapes, independently of peft."""
    if method in ("lora", "lora-all"):
        layers = linear_layers(model, config.lora_target_modules)
        return sum(config.lora_r * (i + o) for i, o in layers)
    if method == "ia3":  # a vector on the output of k and v, on the input of the feed-forward wo
        return sum(o for _, o in linear_layers(model, ("k", "v"))) + sum(
            i for i, _ in linear_layers(model, ("wo",))
        )
    if method == "prompt-tuning":  # virtual tokens before the encoder's and the decoder's input
        return 2 * config.num_virtual_tokens * model.config.d_model
    return BASE_TOTAL


@pytest.mark.parametrize("method", METHODS)
def test_trainable_parameters_on_flan_t5_base_shape(method):
    model = flan_t5_base_shaped_model(device="meta")
    config = TrainConfig.auto(method=method)
    expected = expected_trainable(method, model, config)
    tuned = apply_method(model, config, str(tiny_base_dir()))  # tokenizer for prompt init text
    counted = count_parameters(tuned)
    assert counted.trainable == expected
    if method != "full":
        assert (counted.trainable, counted.total) == tuned.get_nb_trainable_parameters()
    if method == "lora":
        assert counted.trainable == 3_538_944  # the tutorial's LoRA r=32 on q and v
    assert counted.total == BASE_TOTAL + (0 if method == "full" else counted.trainable)


def test_method_presets_set_their_learning_rate_and_nothing_else_of_the_recipe():
    lora = TrainConfig.auto()
    for method in METHODS:
        config = TrainConfig.auto(method=method)
        assert config.method == method
        assert (config.max_steps, config.effective_batch, config.warmup_steps) == (
            lora.max_steps,
            lora.effective_batch,
            lora.warmup_steps,
        )
    assert (
        TrainConfig.auto(method="prompt-tuning").learning_rate
        > 10 * TrainConfig.auto(method="lora").learning_rate
    )
    assert TrainConfig.auto(method="lora-all").lora_target_modules == T5_LINEAR_LAYERS
    assert TrainConfig.auto(method="full").optim == "adafactor"


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_train_then_evaluate_each_method(method, tmp_path):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--preset",
                "smoke",
                "--method",
                method,
                "--output-dir",
                str(out),
                "--max-steps",
                "2",
                "--logging-steps",
                "1",
                "--save-steps",
                "2",
                "--train-limit",
                "8",
            ]
        )
        == 0
    )
    folder = out / ("model" if method == "full" else "adapter")
    assert saved_method(folder) == ("lora" if method == "lora-all" else method)
    assert json.loads((out / "config.json").read_text())["method"] == method
    assert (
        main(
            [
                "evaluate",
                "--preset",
                "smoke",
                "--output-dir",
                str(out),
                "--adapter",
                str(folder),
                "--limit",
                "2",
                "--max-new-tokens",
                "4",
            ]
        )
        == 0
    )
    scores = json.loads((out / "evaluation" / "scores.json").read_text())
    name = saved_method(folder)
    assert list(scores["scores"]) == ["base", name] and scores["method"] == name
    assert 0 <= scores["scores"][name]["mean"]["rouge1"] <= 1


def test_full_fine_tuning_keeps_fp32_master_weights_under_bf16():
    """A bf16 weight rounds small updates away: full fine-tuning loads fp32 weights and lets the
    Trainer's bf16 autocast do the maths; the frozen bases of peft methods load in bf16."""
    from dialogsum_peft.hardware import DeviceInfo
    from dialogsum_peft.trainer import training_arguments

    h100 = DeviceInfo("cuda", "NVIDIA H100", 79.0, bf16=True)
    full, lora = (TrainConfig.for_device(h100, method=m, output_dir="x") for m in ("full", "lora"))
    assert full.precision == lora.precision == "bf16"
    assert full.torch_dtype is torch.float32 and lora.torch_dtype is torch.bfloat16
    assert training_arguments(full, use_cpu=True).bf16  # mixed precision all the same

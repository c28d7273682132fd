"""TrainConfig: one recipe on every card, and every bad value refused before anything runs."""

from __future__ import annotations

import dataclasses

import pytest

from dialogsum_peft.config import MAX_NEW_TOKENS_LIMIT, RECIPES, TrainConfig
from dialogsum_peft.errors import ConfigError
from dialogsum_peft.hardware import DeviceInfo, recommend
from dialogsum_peft.trainer import training_arguments

CARDS = {
    "T4": DeviceInfo("cuda", "Tesla T4", 15.0, bf16=False),
    "L4": DeviceInfo("cuda", "NVIDIA L4", 22.0, bf16=True),
    "A100-40GB": DeviceInfo("cuda", "NVIDIA A100-SXM4-40GB", 39.4, bf16=True),
    "H100": DeviceInfo("cuda", "NVIDIA H100 80GB HBM3", 79.1, bf16=True),
    "H200": DeviceInfo("cuda", "NVIDIA H200", 139.8, bf16=True),
    "CPU": DeviceInfo(),
}
RECIPE_FIELDS = (
    "learning_rate",
    "warmup_steps",
    "lr_scheduler_type",
    "max_steps",
    "num_train_epochs",
    "weight_decay",
    "lora_r",
    "lora_alpha",
    "lora_target_modules",
    "lora_dropout",
    "max_source_length",
    "max_target_length",
    "seed",
    "train_sampling_strategy",
)


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_every_card_trains_the_same_recipe(recipe):
    """Cards differ only in precision and in how the effective batch is split."""
    configs = {name: TrainConfig.for_device(info, recipe=recipe) for name, info in CARDS.items()}
    t4 = configs["T4"]
    for name, config in configs.items():
        assert config.effective_batch == RECIPES[recipe].effective_batch, name
        assert {f: getattr(config, f) for f in RECIPE_FIELDS} == {
            f: getattr(t4, f) for f in RECIPE_FIELDS
        }, name
        assert config.per_device_train_batch_size <= recommend(CARDS[name]).train_batch_size
    assert configs["T4"].precision == "fp32" and configs["H100"].precision == "bf16"
    assert TrainConfig.colab(recipe=recipe).identity() == t4.identity()


def test_recipes_say_how_much_they_train():
    quick, thorough = RECIPES["quick"], RECIPES["thorough"]
    assert quick.max_steps * quick.effective_batch == 8000  # its description: "8,000 examples"
    assert "8,000 examples" in quick.description
    assert thorough.max_steps == -1 and thorough.num_train_epochs >= 2
    assert quick.warmup_steps > 0 and thorough.warmup_steps > 0  # both warm up
    assert TrainConfig.auto(recipe="thorough").recipe == "thorough"
    with pytest.raises(ConfigError, match="unknown recipe 'huge'"):
        TrainConfig.auto(recipe="huge")


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("learning_rate", -0.01, "learning_rate must be in (0, 1]"),
        ("learning_rate", 1e6, "learning_rate must be in (0, 1]"),
        ("learning_rate", "fast", "learning_rate must be a number, got 'fast' (str)"),
        ("per_device_train_batch_size", 0, "per_device_train_batch_size must be at least 1"),
        ("gradient_accumulation_steps", 0, "gradient_accumulation_steps must be at least 1"),
        ("logging_steps", 0, "logging_steps must be at least 1"),
        ("save_steps", 0, "save_steps must be at least 1"),
        ("num_train_epochs", -1, "num_train_epochs must be in (0, 100]"),
        ("max_steps", 0, "max_steps must be -1 (use epochs) or >= 1"),
        ("train_limit", 0, "train_limit must be None or >= 1"),
        ("train_limit", -5, "train_limit must be None or >= 1"),
        ("eval_limit", 0, "eval_limit must be None or >= 1"),
        ("max_new_tokens", 0, f"max_new_tokens must be between 1 and {MAX_NEW_TOKENS_LIMIT}"),
        ("max_new_tokens", 100000, f"max_new_tokens must be between 1 and {MAX_NEW_TOKENS_LIMIT}"),
        ("num_beams", 0, "num_beams must be between 1 and"),
        ("eval_batch_size", 0, "eval_batch_size must be at least 1"),
        ("lora_r", 0, "lora_r must be at least 1"),
        ("lora_dropout", 1.5, "lora_dropout must be in [0, 1)"),
        ("lora_target_modules", (), "lora_target_modules must be at least one module name"),
        ("precision", "fp16", "T5 overflows in fp16"),
        ("max_steps", 2.5, "max_steps must be a whole number"),
        ("max_steps", True, "max_steps must be a whole number"),
        ("seed", None, "seed must not be empty"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(field, value, message):
    with pytest.raises(ConfigError) as err:
        TrainConfig.smoke(**{field: value})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_identity_is_what_a_run_computes():
    config = TrainConfig.smoke()
    identity = config.identity()
    for safe in (
        "logging_steps",
        "save_steps",
        "save_total_limit",
        "eval_batch_size",
        "max_new_tokens",
        "num_beams",
        "eval_limit",
        "output_dir",
    ):
        assert safe not in identity
    for defining in (
        "model_name",
        "dataset_source",
        "lora_r",
        "lora_alpha",
        "lora_target_modules",
        "seed",
        "per_device_train_batch_size",
        "gradient_accumulation_steps",
        "learning_rate",
        "lr_scheduler_type",
        "warmup_steps",
        "max_steps",
        "precision",
        "max_source_length",
    ):
        assert defining in identity
    assert dataclasses.replace(config, logging_steps=1).identity() == identity
    assert dataclasses.replace(config, learning_rate=0.5).identity() != identity


def test_every_field_has_help_text():
    for f in dataclasses.fields(TrainConfig):
        assert f.metadata.get("help"), f.name


def test_an_unknown_training_argument_is_an_error_not_a_silent_drop(tmp_path):
    import transformers

    from dialogsum_peft.trainer import training_arguments

    config = TrainConfig.smoke(output_dir=str(tmp_path))
    with pytest.raises(ConfigError) as err:
        training_arguments(config, group_by_lenght=True)
    assert "group_by_lenght" in str(err.value) and transformers.__version__ in str(err.value)
    assert training_arguments(config).train_sampling_strategy == "group_by_length"


# Issue 17, fault 5: one recipe whatever the launch. Before the fix `for_world_size` did not
# exist (AttributeError) and a 2-process run trained with twice the effective batch.
@pytest.mark.parametrize(
    "batch, accum, world, expected",
    [
        (8, 1, 2, (4, 1)),
        (32, 1, 4, (8, 1)),
        (8, 4, 4, (8, 1)),
        (8, 4, 8, (4, 1)),
        (6, 2, 4, (3, 1)),
        (4, 8, 2, (4, 4)),
        (8, 1, 1, (8, 1)),
        (8, 1, 8, (1, 1)),
    ],
)
def test_the_effective_batch_holds_for_any_world_size(batch, accum, world, expected):
    config = TrainConfig.smoke(per_device_train_batch_size=batch, gradient_accumulation_steps=accum)
    split = config.for_world_size(world)
    got = (split.per_device_train_batch_size, split.gradient_accumulation_steps)
    assert got == expected
    assert got[0] * got[1] * world == config.effective_batch == batch * accum
    assert split.per_device_train_batch_size <= batch  # never more memory per device


def test_an_effective_batch_that_cannot_be_split_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="effective batch 6 .* cannot be split over 4 processes"):
        TrainConfig.smoke(
            per_device_train_batch_size=3, gradient_accumulation_steps=2
        ).for_world_size(4)


def test_the_run_identity_records_world_size_and_effective_batch():
    config = TrainConfig.smoke(per_device_train_batch_size=4, gradient_accumulation_steps=2)
    assert config.identity()["world_size"] == 1 and config.identity(2)["world_size"] == 2
    assert config.identity(2)["effective_batch"] == 8
    assert config.identity(1) != config.identity(2)


def test_fp16_refused_at_config_time(tmp_path):
    with pytest.raises(ConfigError, match="T5 overflows in fp16"):
        TrainConfig(precision="fp16")
    config = TrainConfig.smoke(output_dir=str(tmp_path))
    for override in ({"fp16": True}, {"fp16_full_eval": True}):
        with pytest.raises(ConfigError, match=r"refused: T5 overflows in fp16"):
            training_arguments(config, **override)
    assert training_arguments(config, fp16=False).fp16 is False

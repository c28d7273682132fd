"""Recipes: what a full-mode run trains, and the warning when a step-based recipe would pass
over a small data set of one's own many times."""

from __future__ import annotations

import pytest

from dialogsum_peft.config import TrainConfig
from dialogsum_peft.hardware import DeviceInfo
from dialogsum_peft.recipes import MAX_EPOCHS_WITHOUT_WARNING, RECIPES, epochs_warning

DIALOGSUM_TRAIN = 12_460
T4 = DeviceInfo("cuda", "Tesla T4", 15.0, bf16=False)


def test_dialogsum_recipes_do_not_warn_on_dialogsum():
    for recipe in RECIPES.values():
        assert epochs_warning(recipe.max_steps, recipe.effective_batch, DIALOGSUM_TRAIN) is None
    quick = RECIPES["quick"]
    assert quick.max_steps * quick.effective_batch / DIALOGSUM_TRAIN == pytest.approx(
        0.642, abs=1e-3
    )


def test_quick_on_500_dialogues_of_ones_own_warns_with_the_epochs():
    quick = RECIPES["quick"]
    warning = epochs_warning(quick.max_steps, quick.effective_batch, 500)
    assert warning.startswith("250 steps x 32 examples is 16.0 epochs") and "own-data" in warning


def test_the_warning_starts_just_past_the_limit():
    n = 320  # 10 steps x 32 = 1 epoch of 320
    assert epochs_warning(10 * MAX_EPOCHS_WITHOUT_WARNING, 32, n) is None
    assert epochs_warning(10 * MAX_EPOCHS_WITHOUT_WARNING + 1, 32, n) is not None
    assert epochs_warning(-1, 32, 10) is None  # epoch-based: the number of epochs is what it says


def test_own_data_recipe_trains_epochs_whatever_the_size():
    config = TrainConfig.for_device(T4, recipe="own-data")
    assert (
        config.max_steps == -1 and config.num_train_epochs == RECIPES["own-data"].num_train_epochs
    )
    assert config.effective_batch == RECIPES["own-data"].effective_batch == 32

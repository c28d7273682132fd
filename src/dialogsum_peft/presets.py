"""Where a run's settings come from: the presets every :class:`~dialogsum_peft.config.TrainConfig`
starts from (``TrainConfig.smoke()``, ``.for_device()``, ``.colab()``, ``.auto()``), each built
with a recipe and a method.

Why a module of its own: a preset combines the recipes (:mod:`dialogsum_peft.recipes`), each
method's settings (:mod:`dialogsum_peft.settings`) and the card (:mod:`dialogsum_peft.hardware`);
``config.py`` holds what a setting is (its default, help and range). ``TrainConfig`` inherits
these class methods from :class:`Presets`.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError
from .recipes import DEFAULT_RECIPE, RECIPES, SMOKE_RECIPE, recipe_schedule
from .settings import DEFAULT_METHOD, METHOD_SETTINGS, TINY_MODEL_NAME, sample_data_dir


class Presets:
    """The presets of :class:`~dialogsum_peft.config.TrainConfig` (its base class): every preset
    takes every recipe and method, then field overrides."""

    @classmethod
    def smoke(cls, method: str = DEFAULT_METHOD, recipe: str | None = None, **overrides):
        """Offline: the shipped sample and a tiny random T5. Seconds on a CPU; outputs are gibberish.

        Its own schedule (:data:`~dialogsum_peft.recipes.SMOKE_RECIPE`): 30 steps instead of
        hundreds, so the method's learning rate is tripled. ``recipe`` (quick, thorough, own-data)
        trains that recipe's schedule instead (:func:`~dialogsum_peft.recipes.recipe_schedule`,
        at most 8 examples per forward pass), with the same model, data and learning rate.
        """
        settings = _method_settings(method)
        schedule = SMOKE_RECIPE if recipe in (None, "smoke") else RECIPES[check_recipe(recipe)]
        base = dict(
            preset="smoke",
            model_name=TINY_MODEL_NAME,
            dataset_source=str(sample_data_dir()),
            output_dir="outputs/smoke",
            eval_batch_size=16,
            max_new_tokens=24,
            logging_steps=5,
            save_steps=10,
            **recipe_schedule(schedule, max_per_device=8, method=method),
        )
        base["learning_rate"] = SMOKE_RECIPE.learning_rates[method]  # on any schedule
        return cls(**{**base, **settings, **overrides})

    @classmethod
    def for_device(
        cls,
        info,
        preset: str = "auto",
        recipe: str = DEFAULT_RECIPE,
        method: str = DEFAULT_METHOD,
        **overrides,
    ):
        """Flan-T5-base on DialogSum: ``recipe`` and ``method`` as they are, precision and batch
        split for ``info``."""
        from .hardware import recommend

        card = recommend(info)
        settings = _method_settings(method)  # an unknown method: ConfigError, before the recipe
        base = dict(
            preset=preset,
            precision=card.precision,
            optim=card.optim,
            eval_batch_size=card.eval_batch_size,
            **recipe_schedule(RECIPES[check_recipe(recipe)], card.train_batch_size, method),
        )
        # the method's own settings (settings.METHOD_SETTINGS); its learning rate: the recipe's
        return cls(**{**base, **settings, **overrides})

    @classmethod
    def colab(cls, recipe: str = DEFAULT_RECIPE, **overrides):
        """Free Colab T4 (16 GB, no bf16): fp32, the effective batch as 8 x 4 accumulation steps."""
        from .hardware import DeviceInfo

        t4 = DeviceInfo("cuda", "Tesla T4", 15.0, bf16=False)
        return cls.for_device(t4, preset="colab", recipe=recipe, **overrides)

    @classmethod
    def auto(cls, recipe: str = DEFAULT_RECIPE, **overrides):
        """Flan-T5-base sized for the device this process sees."""
        from .hardware import describe_device

        return cls.for_device(describe_device(), preset="auto", recipe=recipe, **overrides)


def check_recipe(recipe, knob: str | None = None) -> str:
    """``recipe`` when it names one of :data:`~dialogsum_peft.recipes.RECIPES`; otherwise a
    :class:`~dialogsum_peft.errors.ConfigError` naming the choices and, when given, the ``knob``
    it came from (``"the RECIPE knob"``)."""
    if not isinstance(recipe, str) or recipe not in RECIPES:
        where = f" ({knob})" if knob else ""
        raise ConfigError(f"unknown recipe {recipe!r}{where}; choose one of {', '.join(RECIPES)}")
    return recipe


def check_method(method) -> str:
    """``method`` when it is one of :data:`~dialogsum_peft.settings.METHOD_SETTINGS`; otherwise a
    :class:`~dialogsum_peft.errors.ConfigError` naming the choices."""
    if not isinstance(method, str) or method not in METHOD_SETTINGS:
        raise ConfigError(f"method must be one of {', '.join(METHOD_SETTINGS)}, got {method!r}")
    return method


def _method_settings(method: str) -> dict[str, Any]:
    return {"method": check_method(method), **METHOD_SETTINGS[method]}

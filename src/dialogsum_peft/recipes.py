"""What a run trains, whatever the card: the recipes, and each method's learning rate in them.

Why: ROUGE measured on one GPU should say something about a run on another. A recipe fixes the
effective batch, the schedule with warm-up, the number of training examples and the learning
rate of each method (:data:`LEARNING_RATES`); a card only chooses the precision and how the
effective batch is split into per-device batch x gradient accumulation (``TrainConfig.for_device``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import DialogSumWarning, warn

# The peak learning rate of each method, in every recipe. It differs by method because what is
# trained differs:
# * LoRA (and LoRA on every linear layer): 1e-3, 10-100x a full fine-tuning rate; the adapter
#   starts at B=0 and has to grow (peft's examples/conditional_generation seq2seq LoRA notebooks
#   use 1e-3; the course lab and a published flan-t5-base DialogSum LoRA notebook, r=8, 2 epochs
#   on a T4, used 1e-3 at batch 8). We use it at an effective batch of 32: enough examples per
#   step for a stable gradient, small enough for a T4 to reach it with 4 accumulation steps.
# * IA3: 3e-3 (the IA3 paper's): a few scale factors that start at 1 need a larger step.
# * prompt tuning: 3e-2 (peft's prompt-tuning example; Lester et al. used 0.3 with Adafactor):
#   20 input embeddings must move far from the words they were initialised from.
# * full fine-tuning: 3e-4 with Adafactor (settings.METHOD_SETTINGS), whose memory use (no second
#   moment matrices per weight) lets flan-t5-base fit a free T4 in fp32.
# Not yet measured on a GPU here: ``pytest -m full`` checks what the quick recipe scores.
LEARNING_RATES: Mapping[str, float] = MappingProxyType(
    {
        "lora": 1e-3,
        "lora-all": 1e-3,
        "ia3": 3e-3,
        "prompt-tuning": 3e-2,
        "full": 3e-4,
    }
)


@dataclass(frozen=True)
class Recipe:
    """What a run trains, whatever the card: its effective batch, its schedule (linear warm-up,
    then ``lr_scheduler_type``), how long (``max_steps``, or ``num_train_epochs`` when that is -1)
    and the peak learning rate of each method (``learning_rates``, :data:`LEARNING_RATES`)."""

    name: str
    effective_batch: int
    warmup_steps: float  # < 1: a fraction of the training steps (transformers 5 semantics)
    lr_scheduler_type: str
    max_steps: int  # -1: train num_train_epochs instead
    num_train_epochs: float
    description: str
    learning_rates: Mapping[str, float] = field(default_factory=lambda: LEARNING_RATES, hash=False)


RECIPES = {
    "quick": Recipe(
        "quick",
        32,
        0.06,
        "linear",
        max_steps=250,
        num_train_epochs=1.0,
        description="250 steps x 32 = 8,000 examples (about 2/3 of an epoch)",
    ),
    "thorough": Recipe(
        "thorough",
        32,
        0.06,
        "linear",
        max_steps=-1,
        num_train_epochs=2.0,
        description="2 epochs of DialogSum's 12,460 training dialogues",
    ),
    # Your own data: a step count sized for DialogSum would be 16 epochs of 500 dialogues.
    "own-data": Recipe(
        "own-data",
        32,
        0.06,
        "linear",
        max_steps=-1,
        num_train_epochs=3.0,
        description="3 epochs over your own training dialogues, whatever their number",
    ),
}
DEFAULT_RECIPE = "quick"
# The smoke preset's own schedule (TrainConfig.smoke): the tiny T5 on the shipped sample, a
# pipeline check of 30 steps instead of hundreds, so each method's learning rate is tripled.
SMOKE_RECIPE = Recipe(
    "smoke",
    8,
    0.0,
    "linear",
    max_steps=30,
    num_train_epochs=1.0,
    description="30 steps x 8 examples of the shipped sample (the tiny T5)",
    learning_rates=MappingProxyType({m: 3 * lr for m, lr in LEARNING_RATES.items()}),
)
# The TrainConfig fields a recipe's schedule sets (recipe_schedule): --recipe replaces exactly
# these. (Its learning rate is the method's in it: --method sets that one too.)
RECIPE_FIELDS = (
    "recipe",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "warmup_steps",
    "lr_scheduler_type",
    "max_steps",
    "num_train_epochs",
)


def split_batch(examples: int, max_per_device: int) -> tuple[int, int]:
    """``examples`` per optimizer step as (per-device batch, gradient accumulation): the largest
    batch not above ``max_per_device`` that divides it, times the accumulation that completes it."""
    per_device = max(b for b in range(1, min(max_per_device, examples) + 1) if examples % b == 0)
    return per_device, examples // per_device


def recipe_schedule(recipe: Recipe, max_per_device: int, method: str) -> dict:
    """The :data:`RECIPE_FIELDS` of ``recipe`` and ``method``'s ``learning_rate`` in it: its
    schedule, and its effective batch split into the largest per-device batch not above
    ``max_per_device`` that divides it, times the gradient accumulation that completes it.
    Raises ``KeyError`` for a method the recipe has no learning rate for."""
    per_device, accumulation = split_batch(recipe.effective_batch, max_per_device)
    return dict(
        recipe=recipe.name,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accumulation,
        warmup_steps=recipe.warmup_steps,
        lr_scheduler_type=recipe.lr_scheduler_type,
        max_steps=recipe.max_steps,
        num_train_epochs=recipe.num_train_epochs,
        learning_rate=recipe.learning_rates[method],
    )


# More passes than this over the training data by a step-based recipe earns a warning: the
# recipes above were sized for DialogSum (quick: 0.64 epochs, thorough: 2).
MAX_EPOCHS_WITHOUT_WARNING = 5


class ScheduleWarning(DialogSumWarning):
    """A step-based recipe would pass many times over a small training split: it may over-fit."""


def epochs_warning(max_steps: int, effective_batch: int, num_train_examples: int) -> str | None:
    """What :func:`warn_epochs` says when ``max_steps`` optimizer steps of ``effective_batch``
    examples (all processes together) pass more than :data:`MAX_EPOCHS_WITHOUT_WARNING` times over
    ``num_train_examples`` training dialogues; ``None`` otherwise and for epoch-based runs
    (``max_steps`` -1)."""
    if max_steps <= 0 or num_train_examples <= 0:
        return None
    epochs = max_steps * effective_batch / num_train_examples
    if epochs <= MAX_EPOCHS_WITHOUT_WARNING:
        return None
    return (
        f"{max_steps} steps x {effective_batch} examples is {epochs:.1f} epochs over "
        f"{num_train_examples:,} training dialogues (more than {MAX_EPOCHS_WITHOUT_WARNING}): "
        "the model may over-fit; for your own data use --recipe own-data (3 epochs) or "
        "--epochs N"
    )


def warn_epochs(max_steps: int, effective_batch: int, num_train_examples: int) -> None:
    """A :class:`ScheduleWarning` (one ``warning:`` line) with :func:`epochs_warning`'s message,
    when it has one."""
    message = epochs_warning(max_steps, effective_batch, num_train_examples)
    if message:
        warn(message, ScheduleWarning, stacklevel=3)

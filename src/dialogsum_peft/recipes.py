"""What a full-mode run trains, whatever the card: the quick and thorough recipes.

Why: ROUGE measured on one GPU should say something about a run on another. A recipe fixes the
effective batch, schedule with warm-up and number of training examples (the learning rate is
the method's, :data:`dialogsum_peft.settings.METHOD_SETTINGS`); a card
only chooses the precision and how the effective batch is split into per-device batch x
gradient accumulation (``TrainConfig.for_device``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """What a full-mode run trains, whatever the card. The learning rate is the method's
    (:data:`dialogsum_peft.settings.METHOD_SETTINGS`), the same for every recipe.

    Learning rate: LoRA on T5 is trained with rates around 1e-3, 10-100x a full fine-tuning rate
    (peft's ``examples/conditional_generation`` seq2seq LoRA notebooks use 1e-3; the course lab
    and a published flan-t5-base DialogSum LoRA notebook (r=8, 2 epochs, T4) used 1e-3 with
    batch 8). We use 1e-3 at an effective batch of 32 (enough examples per step for a stable
    gradient, small enough for a T4 to reach it with 4 accumulation steps), linear decay and 6%
    linear warm-up (the adapter starts at B=0, a short warm-up avoids a first-step jump).
    Not yet measured on a GPU here: ``pytest -m full`` checks what the quick recipe scores.
    """

    name: str
    effective_batch: int
    warmup_steps: float  # < 1: a fraction of the training steps (transformers 5 semantics)
    lr_scheduler_type: str
    max_steps: int  # -1: train num_train_epochs instead
    num_train_epochs: float
    description: str

    @property
    def training_examples(self) -> int | None:
        return self.max_steps * self.effective_batch if self.max_steps > 0 else None


RECIPES = {
    "quick": Recipe("quick", 32, 0.06, "linear", max_steps=250, num_train_epochs=1.0,
                    description="250 steps x 32 = 8,000 examples (about 2/3 of an epoch)"),
    "thorough": Recipe("thorough", 32, 0.06, "linear", max_steps=-1, num_train_epochs=2.0,
                       description="2 epochs of DialogSum's 12,460 training dialogues"),
    # Your own data: a step count sized for DialogSum would be 16 epochs of 500 dialogues.
    "own-data": Recipe("own-data", 32, 0.06, "linear", max_steps=-1, num_train_epochs=3.0,
                       description="3 epochs over your own training dialogues, whatever their "
                                   "number"),
}
DEFAULT_RECIPE = "quick"
# The TrainConfig fields a recipe sets (recipe_schedule): --recipe replaces exactly these.
RECIPE_FIELDS = ("recipe", "per_device_train_batch_size", "gradient_accumulation_steps",
                 "warmup_steps", "lr_scheduler_type", "max_steps", "num_train_epochs")


def recipe_schedule(name: str, max_per_device: int) -> dict:
    """The :data:`RECIPE_FIELDS` of recipe ``name``: its schedule, and its effective batch split
    into the largest per-device batch not above ``max_per_device`` that divides it, times the
    gradient accumulation that completes it. Raises ``KeyError`` for an unknown recipe."""
    rec = RECIPES[name]
    per_device = max(b for b in range(1, min(max_per_device, rec.effective_batch) + 1)
                     if rec.effective_batch % b == 0)
    return dict(recipe=name, per_device_train_batch_size=per_device,
                gradient_accumulation_steps=rec.effective_batch // per_device,
                warmup_steps=rec.warmup_steps, lr_scheduler_type=rec.lr_scheduler_type,
                max_steps=rec.max_steps, num_train_epochs=rec.num_train_epochs)
# More passes than this over the training data by a step-based recipe earns a warning: the
# recipes above were sized for DialogSum (quick: 0.64 epochs, thorough: 2).
MAX_EPOCHS_WITHOUT_WARNING = 5


def epochs_warning(max_steps: int, effective_batch: int, num_train_examples: int) -> str | None:
    """A ``warning:`` line when ``max_steps`` optimizer steps of ``effective_batch`` examples
    (all processes together) pass more than :data:`MAX_EPOCHS_WITHOUT_WARNING` times over
    ``num_train_examples`` training dialogues; ``None`` otherwise and for epoch-based runs
    (``max_steps`` -1)."""
    if max_steps <= 0 or num_train_examples <= 0:
        return None
    epochs = max_steps * effective_batch / num_train_examples
    if epochs <= MAX_EPOCHS_WITHOUT_WARNING:
        return None
    return (f"warning: {max_steps} steps x {effective_batch} examples is {epochs:.1f} epochs over "
            f"{num_train_examples:,} training dialogues (more than {MAX_EPOCHS_WITHOUT_WARNING}): "
            "the model may over-fit; for your own data use --recipe own-data (3 epochs) or "
            "--epochs N")

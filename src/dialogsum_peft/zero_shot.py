"""The zero-shot model inside a peft model: its untouched base weights, whatever the method.

Why: ``peft_model.disable_adapter()`` switches LoRA and IA3 layers off, but for prompt-learning
methods (prompt tuning) it only swaps ``forward``: peft's ``generate`` still prepends the trained
virtual tokens, so a "zero-shot" row generated through the peft model was the prompt-tuned
model's own output (a known peft limitation). Generating through ``get_base_model()`` *inside*
``disable_adapter()`` runs the base weights alone for every method: LoRA and IA3 layers are
off, and prompt tuning's virtual tokens live only in the peft wrapper.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def zero_shot_model(peft_model) -> Iterator:
    """Yields the pre-trained model inside ``peft_model`` with every adapter switched off.

    Use it for every zero-shot output made from a peft model::

        with zero_shot_model(peft_model) as base:
            summaries = summarize(base, tokenizer, dialogues, **config.generation_kwargs())

    Its outputs equal those of the base model loaded on its own (tested for each peft method
    in :data:`dialogsum_peft.methods.METHODS`). The adapter is on again after the block.
    Raises TypeError for a model that is not a ``peft.PeftModel`` (a fully fine-tuned model
    holds no zero-shot model: load the base on its own).
    """
    from peft import PeftModel

    if not isinstance(peft_model, PeftModel):
        raise TypeError(
            f"zero_shot_model needs a peft model, got {type(peft_model).__name__}; "
            "a fully fine-tuned model holds no zero-shot model: load the base instead"
        )
    with peft_model.disable_adapter():
        yield peft_model.get_base_model()

"""Helpers for the tutorial: Flan-T5 learns to summarize DialogSum dialogues with LoRA (peft).

The layout follows who calls what; imports only point down (no cycles, function-level ones too).

* **The lesson's helpers**, what the notebooks import (each notebook names at most 5 modules):
  ``data`` (DialogSum, the prompt), ``trainer`` (a notebook's config from its knobs, tokenized
  splits, ``DialogSumTrainer``, resuming), ``evaluation`` (ROUGE of predictions and models,
  zero-shot against LoRA, where a model fails), ``reporting`` (tables, plots, examples, the
  environment), ``adapters`` (save, check, load) and, for the methods notebook, ``comparison``.
* **After training**, one module per notebook section, beside those five: ``try_it`` (a dialogue
  of one's own, zero-shot and fine-tuned side by side, as a gradio page) and ``forgetting``
  (instructions outside summarization, answered before and after fine-tuning).
* **Below them**: ``generation`` (batched summaries), ``zero_shot``, ``metrics`` (ROUGE pair
  scores, protocols, ``EvalResult``), ``intervals``, ``input_report``, ``methods``,
  ``trainer_parts`` (the guard, the sampler, the loss log), ``display``, ``published``,
  ``modeling``, ``config``/``config_checks``/``recipes``, ``atomic`` (temp-then-rename writes)
  and the leaves ``settings`` (the one home of every default) and ``errors``.
* **The command line**: ``cli`` → ``commands`` → ``cli_config``, with ``run_folder``,
  ``checkpoints``, ``export``, ``ctranslate2_backend``, ``distributed``, ``hub``, ``inputs``,
  ``safety``.
* **Measuring and the smoke path**: ``measuring`` (flan-t5-base's shape, FLOPs), ``offline``
  (the tiny T5 and the shipped sample), ``hardware``.

Submodules import heavy libraries lazily. The full map: docs/package.md.
"""

import warnings
from functools import partial

from .errors import format_warning

__version__ = "0.2.0"

# Two warnings every run would show that no user can act on (library interplay, not their code):
# peft 0.21's get_peft_model reads model.is_gradient_checkpointing, which transformers 5.2x
# deprecated; and without a GPU the DataLoader says on every epoch that it cannot pin memory
# (pinning only matters for copies to a GPU). Filtered by their exact message, nothing else.
warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated",
                        category=FutureWarning)
warnings.filterwarnings("ignore", message=r".*'pin_memory' argument is set as true but no accelerator")

# The package's own warnings (truncated input, an adapter of another base, unscorable text) are
# about the user's data: shown as one "warning: ..." line, in the notebooks as on the CLI.
if not getattr(warnings.formatwarning, "dialogsum_peft", False):
    warnings.formatwarning = partial(format_warning, _default=warnings.formatwarning)
    warnings.formatwarning.dialogsum_peft = True

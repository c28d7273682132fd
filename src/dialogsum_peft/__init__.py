"""Helpers for the tutorial: Flan-T5 learns to summarize DialogSum dialogues with LoRA (peft).

One job per module, imports that only point down (no cycles). The leaf: ``settings`` (the one home
of the defaults: base model, data set, smoke model, each method's learning rate and LoRA
settings, the bf16/fp32 choice, weights file names) and ``errors``. Above it: ``config`` and
``recipes`` (settings, presets), ``config_checks`` (validation), ``data`` and ``inputs`` (DialogSum, the prompt,
tokenization, reading files), ``modeling`` (loading, LoRA, parameter counts), ``methods``,
``trainer`` (the Trainer setup and its guards), ``checkpoints`` (checkpoints, identity, lock,
Drive) and ``run_folder`` (``RunFolder``: a training run's folder and the one list of its files),
``adapters`` (save, check, load), ``generation`` (batched summaries), ``metrics`` (ROUGE under
each protocol, ``EvalResult``), ``evaluation``, ``reporting`` (tables, plots, published figures),
``distributed``, ``hub``, ``offline``, ``hardware``, ``safety``, ``notebook_utils``; the command
line: ``cli`` → ``commands`` → ``cli_config`` (``resolve_config``, ``CliError``).
Submodules import heavy libraries lazily.
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

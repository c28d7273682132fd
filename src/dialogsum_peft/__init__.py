"""Helpers for the tutorial: Flan-T5 learns to summarize DialogSum dialogues with LoRA (peft).

Modules: ``data`` (loading, prompt, tokenization), ``modeling`` (model, LoRA, parameter counts,
precision), ``generation`` (batched summaries), ``metrics`` (ROUGE), ``config`` (settings, presets, recipes), ``trainer`` (the Trainer), ``checkpoints`` and ``adapters`` (run folders), ``commands``/``cli`` (the command line), (config,
Trainer, adapters), ``offline`` (smoke path), ``hardware`` (device-aware settings),
``reporting`` (tables and plots). Submodules import heavy libraries lazily.
"""

__version__ = "0.1.0"

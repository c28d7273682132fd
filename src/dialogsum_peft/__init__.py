"""Helpers for the tutorial: Flan-T5 learns to summarize DialogSum dialogues with LoRA (peft).

The layout follows who calls what; imports only point down (no cycles, function-level ones too).

* **The lesson's helpers**, what the notebooks import, one module per step: ``notebook_setup``
  (the environment, the run's config from the knob cell, the settings table), ``data``
  (DialogSum, the prompt, the tokenized splits), ``dialogues`` (a row, by index or at random),
  ``trainer`` (``DialogSumTrainer`` and its fixes), ``run_folder`` (the run's folder and
  checkpoints, resuming), ``evaluation``, ``reporting``, ``adapters`` and, for the methods
  notebook, ``comparison``; beside them ``forgetting`` (instructions outside summarization,
  answered before and after fine-tuning).
* **Below them**: ``config``/``presets``/``config_checks``, ``recipes`` (each method's learning
  rate), ``tokenization`` (ids and what truncation and ``<unk>`` took, from one pass),
  ``generation``, ``zero_shot``, ``metrics``, ``intervals``, ``wins``, ``training_log``,
  ``methods``, ``modeling``, ``display``, ``published``, ``model_card``/``card_sections``/
  ``sharing``/``safety`` (the adapter's card, the push to the Hub, the token scan),
  ``hardware``, ``inputs``, ``hub``, ``offline``,
  ``measuring``, ``versions``, ``ctranslate2_backend``, and the leaves ``settings``, ``errors``
  and ``atomic``.
* **The command line**, a subpackage of its own that nothing here imports:
  :mod:`dialogsum_peft.command_line` (``python -m dialogsum_peft``).

Submodules import heavy libraries lazily, and importing the package changes nothing global: its
own warnings are shown as one ``warning: ...`` line where it issues them (``errors.warn``), and
the library notes it silences are silenced around its own calls only
(``errors.quiet_library_notes``). The full map: docs/package.md.
"""

__version__ = "0.2.0"

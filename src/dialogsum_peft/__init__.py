"""Helpers for the tutorial: Flan-T5 learns to summarize DialogSum dialogues with LoRA (peft).

The layout follows who calls what; imports only point down (no cycles, function-level ones too).

* **The lesson's helpers**, what the notebooks import (each notebook names at most 5 modules):
  ``data`` (DialogSum, the prompt), ``trainer`` (a notebook's config from its knobs, tokenized
  splits, ``DialogSumTrainer``, resuming), ``evaluation`` (ROUGE of predictions and models,
  zero-shot against LoRA, where a model fails), ``reporting`` (tables, plots, examples, the
  environment), ``adapters`` (save, check, load) and, for the methods notebook, ``comparison``.
* **Below them**: ``generation`` (batched summaries), ``zero_shot``, ``metrics`` (ROUGE pair
  scores, protocols, ``EvalResult``), ``intervals``, ``input_report``, ``methods``,
  ``trainer_parts`` (the guard, the sampler, the loss log), ``display``, ``published``,
  ``modeling``, ``config``/``config_checks``/``recipes``, ``atomic`` (temp-then-rename writes)
  and the leaves ``settings`` (the one home of every default) and ``errors``.
* **The command line**, a subpackage of its own that nothing here imports:
  :mod:`dialogsum_peft.command_line` (``cli`` → ``commands`` → ``cli_config``, ``loading``,
  ``run_outputs``, ``evaluation_outputs``, ``summarize_input``, ``export``, ``distributed``,
  ``safety``). Below it and the lesson: ``run_folder``, ``checkpoints``, ``ctranslate2_backend``,
  ``hub``, ``inputs``.
* **Measuring and the smoke path**: ``measuring`` (flan-t5-base's shape, FLOPs), ``offline``
  (the tiny T5 and the shipped sample), ``hardware``.

Submodules import heavy libraries lazily, and importing the package changes nothing global: its
own warnings are shown as one ``warning: ...`` line where it issues them (``errors.warn``), and
the library notes it silences are silenced around its own calls only
(``errors.quiet_library_notes``). The full map: docs/package.md.
"""

__version__ = "0.2.0"

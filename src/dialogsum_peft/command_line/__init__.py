"""The command line, ``python -m dialogsum_peft train|evaluate|summarize|export``: everything only
it needs, apart from the lesson's helpers that the notebooks import.

``cli`` (the parser, flags made from ``TrainConfig``'s fields) → ``commands`` (what each command
does, in the order that keeps a run safe) → ``cli_config`` (a command line's config),
``loading`` (models, adapters and the Hub by name), ``run_outputs`` and ``evaluation_outputs``
(what ``train`` and ``evaluate`` write), ``summarize_input``, ``export`` and ``distributed``
(generation split across processes); the token scan it runs after writing is
:mod:`dialogsum_peft.safety`, which the notebooks' push to the Hub runs too. Nothing outside this
subpackage imports it (``tests/test_package_layout.py``).
"""

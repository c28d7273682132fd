"""Looking at dialogues: a row of a split by its index (checked) or at random, a few random rows,
one dialogue with each model's summary and its ROUGE, several side by side, and the Try-it page (a
dialogue of one's own, zero-shot and fine-tuned side by side, served by gradio).

Why: reading summaries says more than a score, and a notebook cell that shows "another dialogue
at each run" must neither repeat itself (the global RNG the Trainer seeds) nor fail with a bare
``IndexError``. Every view here is text that reads as printed (:class:`~dialogsum_peft.display.
TextBlock`: real line breaks, turns one per line) and carries the smoke note of the results it
shows.
"""

from __future__ import annotations

import random
import textwrap
from collections.abc import Mapping, Sequence

from .display import SMOKE_NOTE, TextBlock, any_smoke, wrap_lines
from .metrics import EvalResult
from .wording import counted


def split_name(dataset) -> str:
    """``"the test split"`` for a split :func:`~dialogsum_peft.data.load_dialogsum` loaded
    (``dataset.split``), ``"the split"`` for one that does not know its name."""
    name = getattr(dataset, "split", None)
    return f"the {name} split" if name else "the split"


def check_index(dataset, index) -> int:
    """``index`` as an int when it is a row of ``dataset`` (0 to ``len(dataset) - 1``).

    Raises :class:`~dialogsum_peft.errors.SplitIndexError` (an IndexError) naming the split and
    its size for any other number, :class:`~dialogsum_peft.errors.WrongTypeError` (a TypeError)
    for what is not a whole number ("3", True, 2.0): one line in a notebook, not a traceback.
    """
    import numbers

    from .errors import SplitIndexError, WrongTypeError

    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise WrongTypeError(
            f"a row index is a whole number (e.g. 3), got {index!r} ({type(index).__name__})"
        )
    n = len(dataset)
    if not 0 <= index < n:
        rows = {0: "no rows", 1: "row 0"}.get(n, f"rows 0 to {n - 1}")
        raise SplitIndexError(
            f"index {index} is outside {split_name(dataset)}: it has "
            f"{counted(n, 'dialogue')} ({rows})"
        )
    return int(index)


_DRAWN: dict[tuple, list[int]] = {}  # per split: the indices not drawn yet in this round
_LAST: dict[tuple, int] = {}  # per split: the index drawn last


def pick_index(dataset, index=None) -> int:
    """A row of ``dataset`` to look at: ``index`` itself, checked (:func:`check_index`; a number
    always gives the same dialogue), or with ``None`` a random one.

    The random draw does not use Python's global ``random``, which the Trainer and ``set_seed``
    seed (every "Run all" would show the same dialogue), but the operating system's entropy
    (``random.SystemRandom``), and it goes through the split like a shuffled deck: a call never
    returns the index the previous call returned, and every row is shown once before any
    comes back. Raises :class:`~dialogsum_peft.errors.SplitIndexError` for an empty split.
    """
    import random

    if index is not None:
        return check_index(dataset, index)
    n = len(dataset)
    if n == 0:
        check_index(dataset, 0)  # raises: no rows
    key = (getattr(dataset, "_fingerprint", None) or id(dataset), n)
    deck = _DRAWN.get(key)
    if not deck:
        deck = list(range(n))
        random.SystemRandom().shuffle(deck)
        if n > 1 and deck[-1] == _LAST.get(key):  # a new round starts with another dialogue
            deck[0], deck[-1] = deck[-1], deck[0]
        _DRAWN[key] = deck
    _LAST[key] = deck.pop()
    return _LAST[key]


def show_random_elements(
    dataset,
    num_examples: int = 3,
    seed: int | None = None,
    columns: Sequence[str] = ("id", "topic", "dialogue", "summary"),
    width: int = 100,
) -> TextBlock:
    """``num_examples`` random rows as wrapped text, one block per row (id and topic on its first
    line, then each of the other ``columns`` under its name), so a dialogue shows its turns on
    lines of at most ``width`` characters instead of escaped ``\\n`` in a wide table.

    Raises :class:`~dialogsum_peft.errors.ConfigError` (a ValueError) for a ``num_examples``
    that is not a whole number of at least 1 or is more than the split has.
    """
    import numbers

    from .errors import ConfigError

    if isinstance(num_examples, bool) or not isinstance(num_examples, numbers.Integral):
        raise ConfigError(f"num_examples is a whole number, got {num_examples!r}")
    if not 1 <= num_examples <= len(dataset):
        raise ConfigError(
            f"num_examples={num_examples}: {split_name(dataset)} has "
            f"{counted(len(dataset), 'dialogue')} (pick 1 to {len(dataset)})"
        )
    rng = random.Random(seed)
    picks = rng.sample(range(len(dataset)), num_examples)
    cols = [c for c in columns if c in dataset.column_names]
    line, blocks = "-" * width, []
    for i in picks:
        row = dataset[i]
        head = [f"{c}: {row[c]}" for c in cols if c in ("id", "topic")]
        block = [line, f"row {i}" + (" | " + " | ".join(head) if head else "")]
        for c in cols:
            if c not in ("id", "topic"):
                block += [f"{c.upper()}:", wrap_lines(str(row[c]), width)]
        blocks.append("\n".join(block))
    return TextBlock("\n".join([*blocks, line]))


def format_example(
    dialogue: str,
    human: str,
    summaries: Mapping[str, str],
    references: Sequence[str] | None = None,
    width: int = 100,
    protocol: str = "mean",
) -> str:
    """A printable block: dialogue (one line per turn, wrapped), human summary, each model's
    summary and, with
    ``references`` (the dialogue's human summaries), its ROUGE-1/2/L against them, computed here
    under ``protocol``, which the line names."""
    from .metrics import check_protocol, per_example, score_pairs

    check_protocol(protocol)
    names = list(summaries)
    rouge = (
        dict(
            zip(
                names,
                per_example(
                    score_pairs([summaries[n] for n in names], [list(references)] * len(names)),
                    protocol,
                ),
            )
        )
        if references
        else {}
    )
    line = "-" * width
    out = [
        line,
        "DIALOGUE:",
        wrap_lines(dialogue, width),
        line,
        "HUMAN SUMMARY:",
        textwrap.fill(human, width),
    ]
    for name, text in summaries.items():
        out += [line, f"{name.upper()}:", textwrap.fill(text or "(empty)", width)]
        if rouge and name in rouge:
            r = rouge[name]
            out.append(
                f"  ROUGE-1 {r['rouge1']:.3f} | ROUGE-2 {r['rouge2']:.3f} | "
                f"ROUGE-L {r['rougeL']:.3f} (protocol: {protocol})"
            )
    out.append(line)
    return "\n".join(out)


def example_report(
    dataset,
    index: int,
    summaries: Mapping[str, str],
    smoke: bool = False,
    show_prompt: bool = False,
) -> str:
    """One test dialogue: its text (or the full prompt), the human summary, each model's summary
    with its own ROUGE against all the dialogue's references; the smoke banner on top in smoke mode.
    Raises :class:`~dialogsum_peft.errors.SplitIndexError` naming the split's size for an
    ``index`` outside ``dataset`` (:func:`check_index`).
    """
    from .data import build_prompt
    from .offline import smoke_banner

    row = dataset[check_index(dataset, index)]
    text = build_prompt(row["dialogue"]) if show_prompt else row["dialogue"]
    header = (
        f"test dialogue #{index} (id {row['id']}, "
        f"{counted(len(row['references']), 'human reference')})"
    )
    body = format_example(text, row["summary"], summaries, row["references"])
    if show_prompt:
        body = body.replace("DIALOGUE:", "PROMPT (what the model reads):", 1)
    parts = [smoke_banner()] if smoke else []
    return "\n".join(parts + [header, body])


def side_by_side(
    dataset, results: Mapping[str, EvalResult], indices: Sequence[int], width: int = 100
) -> TextBlock:
    """Dialogue, human summary and each model's summary (from its EvalResult on ``dataset``) for
    the rows ``indices``, as wrapped text blocks (:func:`format_example`, one per row).

    When a result comes from the smoke model the first line is :data:`SMOKE_NOTE`. Raises
    TypeError for results that are not EvalResults, ValueError for results of another split and
    :class:`~dialogsum_peft.errors.SplitIndexError` for an index outside ``dataset``
    (:func:`check_index`).
    """
    from .errors import DataError, WrongTypeError

    for name, result in results.items():  # a bare list of summaries does not say whose they are
        if not isinstance(result, EvalResult):
            raise WrongTypeError(
                f"results[{name!r}] is a {type(result).__name__}, not an EvalResult"
            )
    for name, result in results.items():
        if len(result.predictions) != len(dataset):
            raise DataError(
                f"results[{name!r}] holds {len(result.predictions)} predictions for "
                f"a split of {len(dataset)} dialogues: not this split's results"
            )
    indices = [check_index(dataset, i) for i in indices]
    blocks = [SMOKE_NOTE] if any_smoke(results.values()) else []
    for i in indices:
        blocks.append(f"id: {dataset[i]['id']}")
        blocks.append(
            format_example(
                dataset[i]["dialogue"],
                dataset[i]["summary"],
                {name: r.predictions[i] for name, r in results.items()},
                width=width,
            )
        )
    return TextBlock("\n".join(blocks))


# ------------------------------------------------------------------ try it: a page of one's own
TITLE = "Try it: zero-shot against fine-tuned"
API_NAME = "summarize"  # the app's endpoint: gradio_client's predict(..., api_name="/summarize")
SMOKE_LABEL = " (SMOKE MODE: gibberish)"
_APPS: list = []  # the Try-it apps this process built, so a rerun of the cell closes the last one


def gradio_installed() -> bool:
    """Whether gradio can be imported (Colab preinstalls it; ``pip install gradio`` elsewhere)."""
    import importlib.util

    try:
        return importlib.util.find_spec("gradio") is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, a broken install
        return False


def try_it_app(
    peft_model, tokenizer, examples: Sequence[str] = (), *, max_source_length: int, **gen_kwargs
):
    """A ``gradio.Blocks`` page: a box for a dialogue, a few ``examples`` to pick from (e.g. test
    dialogues), and the :func:`~dialogsum_peft.evaluation.try_dialogue` result: the zero-shot and
    the fine-tuned summary side by side and what of the dialogue the model does not see
    (``max_source_length`` and ``gen_kwargs``: the run's, ``**config.generation_kwargs()``). Its
    endpoint ``/summarize`` takes the dialogue and returns ``(zero-shot, fine-tuned, notes)``; an
    empty dialogue is refused with a message. Serve it with ``app.launch(share=False)`` (no
    public link); building a new app closes the last one built in this process. Raises
    ModuleNotFoundError, saying how to install gradio, where it is missing (gradio is not a
    requirement: Colab has it). Smoke results: the page and both summary labels carry the smoke
    mark.
    """
    if not gradio_installed():
        raise ModuleNotFoundError("the Try-it page needs gradio (Colab has it): pip install gradio")
    import gradio as gr

    from .errors import DialogSumError
    from .evaluation import LORA, ZERO_SHOT, try_dialogue
    from .offline import SMOKE_BANNER, is_smoke_model

    smoke = is_smoke_model(peft_model)
    mark = SMOKE_LABEL if smoke else ""

    def summarize(dialogue: str):
        try:
            result = try_dialogue(
                peft_model, tokenizer, dialogue, max_source_length=max_source_length, **gen_kwargs
            )
        except (DialogSumError, TypeError) as err:
            raise gr.Error(str(err), print_exception=False) from None  # the message, no traceback
        return result.summaries[ZERO_SHOT], result.summaries[LORA], result.notes()

    while _APPS:  # one Try-it server at a time: a rerun of the cell replaces the last one
        _APPS.pop().close()
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"## {TITLE}")
        if smoke:
            gr.Markdown(f"**{SMOKE_BANNER.format(reads='')}**", elem_id="smoke-banner")
        dialogue = gr.Textbox(
            label="Dialogue (one turn per line)",
            lines=8,
            placeholder="#Person1#: Hello!\n#Person2#: Hi, how are you?",
        )
        button = gr.Button("Summarize", variant="primary")
        with gr.Row():
            zero_shot = gr.Textbox(label=f"{ZERO_SHOT} summary{mark}", interactive=False)
            tuned = gr.Textbox(label=f"{LORA} summary{mark}", interactive=False)
        notes = gr.Textbox(label="What the model does not see", interactive=False)
        if examples:
            gr.Examples([[d] for d in examples], inputs=dialogue, label="Or pick a test dialogue")
        button.click(
            summarize, inputs=dialogue, outputs=[zero_shot, tuned, notes], api_name=API_NAME
        )
    _APPS.append(app)
    return app

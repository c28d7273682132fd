"""Try it: a dialogue of your own, its zero-shot and its fine-tuned summary side by side, with
what of it the model does not see.

Why: test-set scores say how good the model is on average; typing a dialogue of one's own and
reading both summaries says what fine-tuning changed. :func:`try_dialogue` is the plain function
(the notebook prints its result where gradio is missing); :func:`try_it_app` wraps it in a
gradio page (Colab preinstalls gradio; it is not a requirement of the package). The summaries are
:func:`~dialogsum_peft.evaluation.zero_shot_and_lora_summaries`' (the base model inside the peft
model, then the peft model), and the input warnings :mod:`~dialogsum_peft.input_report`'s
(truncation at ``max_source_length``, characters the tokenizer maps to ``<unk>``). Results of the
smoke path's tiny random T5 carry its banner, on the page as in the text.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from .data import build_prompt
from .display import TextBlock, wrap_lines
from .errors import DataError
from .evaluation import LORA, ZERO_SHOT, zero_shot_and_lora_summaries
from .input_report import InputLossWarning, measure_inputs

TITLE = "Try it: zero-shot against fine-tuned"
API_NAME = "summarize"  # the app's endpoint: gradio_client's predict(..., api_name="/summarize")
NOTHING_LOST = "The model reads the whole dialogue."
SMOKE_LABEL = " (SMOKE MODE: gibberish)"
_APPS: list = []  # the Try-it apps this process built, so a rerun of the cell closes the last one


@dataclass
class TryItResult:
    """One dialogue's summaries, ``{"zero-shot": str, "LoRA": str}``; ``warnings``: what of it
    the model does not see, one sentence each (empty when it reads it all); ``smoke``: written by
    the smoke path's tiny random T5. ``str()`` gives the side-by-side as text."""

    dialogue: str
    summaries: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    smoke: bool = False

    def notes(self) -> str:
        """The input warnings as ``warning:`` lines, or :data:`NOTHING_LOST`."""
        return "\n".join(f"warning: {w}" for w in self.warnings) or NOTHING_LOST

    def __str__(self) -> str:
        from .offline import smoke_banner

        line = "-" * 100
        parts = [smoke_banner()] if self.smoke else []
        parts += [line, "DIALOGUE:", wrap_lines(self.dialogue), line]
        for name, text in self.summaries.items():
            parts += [f"{name.upper()}:", wrap_lines(text or "(empty)"), line]
        parts.append(self.notes())
        return "\n".join(parts)

    def _repr_pretty_(self, printer, cycle):  # a notebook shows it as printed
        printer.text(str(self))


def try_dialogue(peft_model, tokenizer, dialogue: str, max_source_length: int = 512,
                 **gen_kwargs) -> TryItResult:
    """The zero-shot and the fine-tuned summary of ``dialogue`` (one string, turns on their own
    lines), with the input warnings of its prompt at ``max_source_length`` tokens.
    ``gen_kwargs``: :func:`~dialogsum_peft.generation.summarize`'s settings (``config.generation_kwargs()``).
    Raises :class:`~dialogsum_peft.errors.DataError` for a dialogue with nothing visible in it,
    TypeError for one that is not a string."""
    from .inputs import has_visible_text
    from .offline import is_smoke_model

    if not isinstance(dialogue, str):
        raise TypeError(f"a dialogue is a string, got {type(dialogue).__name__}")
    if not has_visible_text(dialogue):
        raise DataError("the dialogue is empty: type or paste one (one turn per line, e.g. "
                        "\"#Person1#: Hello!\")")
    report = measure_inputs([build_prompt(dialogue)], tokenizer, max_source_length)
    message = report.message("dialogue")
    with warnings.catch_warnings():  # said once, in the result, not as a Python warning too
        warnings.simplefilter("ignore", InputLossWarning)
        summaries = zero_shot_and_lora_summaries(peft_model, tokenizer, [dialogue],
                                                 max_source_length=max_source_length, **gen_kwargs)
    return TryItResult(dialogue, {name: s[0] for name, s in summaries.items()},
                       [message] if message else [], smoke=is_smoke_model(peft_model))


def gradio_installed() -> bool:
    """Whether gradio can be imported (Colab preinstalls it; ``pip install gradio`` elsewhere)."""
    import importlib.util

    try:
        return importlib.util.find_spec("gradio") is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, a broken install
        return False


def try_it_app(peft_model, tokenizer, examples: Sequence[str] = (), max_source_length: int = 512,
               **gen_kwargs):
    """A ``gradio.Blocks`` page: a box for a dialogue, a few ``examples`` to pick from (e.g. test
    dialogues), and the :func:`try_dialogue` result: the zero-shot and the fine-tuned summary
    side by side and the input warnings. Its endpoint ``/summarize`` takes the dialogue and
    returns ``(zero-shot, fine-tuned, notes)``; an empty dialogue is refused with a message.
    Serve it with ``app.launch(share=False)`` (no public link); building a new app closes the
    last one built in this process. Raises ModuleNotFoundError, saying how to install gradio,
    where it is missing. Smoke results: the page and both summary labels carry the smoke mark.
    """
    if not gradio_installed():
        raise ModuleNotFoundError("the Try-it page needs gradio (Colab has it): pip install gradio")
    import gradio as gr

    from .errors import DialogSumError
    from .offline import SMOKE_BANNER, is_smoke_model

    smoke = is_smoke_model(peft_model)
    mark = SMOKE_LABEL if smoke else ""

    def summarize(dialogue: str):
        try:
            result = try_dialogue(peft_model, tokenizer, dialogue, max_source_length, **gen_kwargs)
        except (DialogSumError, TypeError) as err:
            raise gr.Error(str(err), print_exception=False) from None  # the message, no traceback
        return result.summaries[ZERO_SHOT], result.summaries[LORA], result.notes()

    while _APPS:  # one Try-it server at a time: a rerun of the cell replaces the last one
        _APPS.pop().close()
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"## {TITLE}")
        if smoke:
            gr.Markdown(f"**{SMOKE_BANNER.format(on='')}**", elem_id="smoke-banner")
        dialogue = gr.Textbox(label="Dialogue (one turn per line)", lines=8,
                              placeholder="#Person1#: Hello!\n#Person2#: Hi, how are you?")
        button = gr.Button("Summarize", variant="primary")
        with gr.Row():
            zero_shot = gr.Textbox(label=f"{ZERO_SHOT} summary{mark}", interactive=False)
            tuned = gr.Textbox(label=f"{LORA} summary{mark}", interactive=False)
        notes = gr.Textbox(label="What the model does not see", interactive=False)
        if examples:
            gr.Examples([[d] for d in examples], inputs=dialogue, label="Or pick a test dialogue")
        button.click(summarize, inputs=dialogue, outputs=[zero_shot, tuned, notes],
                     api_name=API_NAME)
    _APPS.append(app)
    return app

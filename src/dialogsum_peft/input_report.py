"""What of the input the model does not see: truncated prompts and characters lost to ``<unk>``.

Why: ``tokenizer(..., truncation=True, max_length=512)`` drops the end of a long dialogue (often
its conclusion) without a word, and Flan-T5's vocabulary has no ``{``, ``}``, most emoji and most
CJK characters: they reach the model as ``<unk>``. Every place input reaches the model
(generation, evaluation, training, the notebooks, the benchmarks) measures its prompts here and
says what was lost, once per run: a :class:`InputLossWarning` in the library, a ``warning:`` line
on the command line, an ``"inputs"`` entry in ``scores.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from .errors import DialogSumWarning, warn

MAX_EXAMPLE_CHARS = 8  # distinct lost characters quoted in a message


class InputLossWarning(DialogSumWarning):
    """Some input was cut by truncation or mapped to ``<unk>``: the model did not see it."""


@dataclass
class InputReport:
    """What a batch of prompts loses on the way into the model (counts over ``dialogues`` inputs).

    ``truncated``: inputs longer than ``max_length`` tokens; ``tokens_cut``: tokens dropped in all
    (sum of ``length - max_length`` over them); ``longest``: the longest input in tokens before
    truncation; ``with_unknown``: inputs holding at least one ``<unk>``; ``chars_lost``: characters
    covered by ``<unk>`` tokens; ``lost_examples``: a few of those characters; ``lengths``: each
    input's length in tokens before truncation, in input order (for analyses by length, e.g.
    :func:`~dialogsum_peft.evaluation.rouge_by_length`; left out of :meth:`to_dict`).
    """

    dialogues: int = 0
    max_length: int | None = None
    truncated: int = 0
    tokens_cut: int = 0
    longest: int = 0
    with_unknown: int = 0
    chars_lost: int = 0
    lost_examples: list[str] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        """The counts, as ``scores.json`` records them (without ``lengths``)."""
        return {k: v for k, v in asdict(self).items() if k != "lengths"}

    def message(self, what: str = "dialogues", target: bool = False) -> str | None:
        """One sentence on what was lost (``None`` when nothing was), without a ``warning:`` prefix;
        ``target``: the texts are what the model learns to write (training labels), not input."""
        def counted(n: int, noun: str) -> str:  # display.counted's rule (display imports us)
            return f"{n} {noun}{'s' if n != 1 else ''}"

        parts = []
        if self.truncated:
            one = self.truncated == 1
            parts.append(f"{self.truncated} of {self.dialogues} {what} {'is' if one else 'are'} "
                         f"longer than max_source_length={self.max_length} tokens (longest "
                         f"{self.longest}): {counted(self.tokens_cut, 'token')} at "
                         f"{'its end' if one else 'their ends'} "
                         f"{'is' if self.tokens_cut == 1 else 'are'} cut and never read by the "
                         "model (raise max_source_length to keep them whole)")
        if self.with_unknown:
            shown = " ".join(repr(c) for c in self.lost_examples)
            parts.append(f"{self.with_unknown} of {self.dialogues} {what} "
                         f"{'holds' if self.with_unknown == 1 else 'hold'} "
                         f"{counted(self.chars_lost, 'character')} the tokenizer cannot encode "
                         f"(e.g. {shown}); the model "
                         + ("learns to write" if target else "reads") + " <unk> in their place")
        return "; ".join(parts) or None


def measure_inputs(texts: Sequence[str], tokenizer, max_length: int | None) -> InputReport:
    """Measure ``texts`` (the prompts exactly as they are tokenized) against ``tokenizer``.

    Tokenizes without truncation (one pass; a fast tokenizer's offsets give the characters each
    ``<unk>`` covers) and compares each length, end-of-sequence token included, with
    ``max_length`` (``None``: no limit).
    """
    texts = list(texts)
    report = InputReport(dialogues=len(texts), max_length=max_length)
    if not texts:
        return report
    unk = tokenizer.unk_token_id
    try:
        enc = tokenizer(texts, truncation=False, return_offsets_mapping=True, verbose=False)
        offsets = enc["offset_mapping"]
    except (NotImplementedError, ValueError, TypeError):  # a slow tokenizer: no offsets
        enc = tokenizer(texts, truncation=False, verbose=False)
        offsets = None
    lost: dict[str, None] = {}
    for i, ids in enumerate(enc["input_ids"]):
        n = len(ids)
        report.lengths.append(n)
        report.longest = max(report.longest, n)
        if max_length is not None and n > max_length:
            report.truncated += 1
            report.tokens_cut += n - max_length
        if unk is None or unk not in ids:
            continue
        report.with_unknown += 1
        if offsets is not None:
            spans = [offsets[i][j] for j, t in enumerate(ids) if t == unk]
            chars = "".join(texts[i][a:b] for a, b in spans)
        else:
            chars = "".join(c for c in texts[i] if not c.isspace()
                            and unk in tokenizer(c, add_special_tokens=False)["input_ids"])
        report.chars_lost += len(chars)
        lost.update(dict.fromkeys(chars))
    report.lost_examples = list(lost)[:MAX_EXAMPLE_CHARS]
    return report


TRAINING_FIELDS = {"dialogue": "dialogues", "summary": "summaries"}  # prompt, labels


def training_text_losses(dataset, tokenizer, split: str) -> list[str]:
    """``warning:`` lines for a split the Trainer reads (train, validation): one per text field
    (:data:`TRAINING_FIELDS`: the dialogues as their prompts, the summaries as the labels they
    become) whose texts hold characters ``tokenizer`` maps to ``<unk>``; ``[]`` when none does.
    Truncation is counted where the split is tokenized
    (:func:`dialogsum_peft.data.truncation_warning`), so it is not measured here.
    """
    from .data import build_prompt, normalize_line_breaks

    lines = []
    for field, what in TRAINING_FIELDS.items():
        if field not in dataset.column_names:
            continue
        texts = [build_prompt(t) if field == "dialogue" else normalize_line_breaks(t)
                 for t in dataset[field]]
        message = measure_inputs(texts, tokenizer, None).message(
            f"{split} {what}", target=field != "dialogue")
        if message:
            lines.append(f"warning: {message}")
    return lines


def warn_input_loss(report: InputReport, what: str = "dialogues", stacklevel: int = 3) -> None:
    """Issue an :class:`InputLossWarning` when ``report`` says something was lost."""
    message = report.message(what)
    if message:
        warn(message, InputLossWarning, stacklevel=stacklevel)

"""Texts to token ids, and what of them the model does not see: truncation and ``<unk>``, measured
in the same pass that encodes them and reported through one channel.

Why: ``tokenizer(..., truncation=True, max_length=512)`` drops the end of a long dialogue (often
its conclusion) without a word, and Flan-T5's vocabulary has no ``{``, ``}``, most emoji and most
CJK characters: they reach the model as ``<unk>``. Every place text reaches the model (training,
generation, evaluation, the notebooks, the benchmarks) encodes it with :func:`encode`: one
tokenizer pass gives the token ids, cut to the run's limit, and an :class:`InputReport` of what
the cut and ``<unk>`` took. :func:`warn_input_loss` says it, once per call, as an
:class:`InputLossWarning` (one ``warning:`` line in a notebook and on the command line), in
training and evaluation alike; ``scores.json`` records the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from .errors import DialogSumWarning, warn
from .wording import counted, share_of, verb

MAX_EXAMPLE_CHARS = 8  # distinct lost characters quoted in a message


class InputLossWarning(DialogSumWarning):
    """Some input was cut by truncation or mapped to ``<unk>``: the model did not see it."""


@dataclass
class InputReport:
    """What a batch of texts loses on the way into the model (counts over ``dialogues`` texts).

    ``truncated``: texts longer than ``max_length`` tokens; ``tokens_cut``: tokens dropped in all
    (sum of ``length - max_length`` over them); ``longest``: the longest text in tokens before
    truncation; ``with_unknown``: texts holding at least one ``<unk>``; ``chars_lost``: characters
    covered by ``<unk>`` tokens; ``lost_examples``: a few of those characters; ``lengths``: each
    text's length in tokens before truncation, in input order (for analyses by length, e.g.
    :func:`~dialogsum_peft.evaluation.rouge_by_length`); ``target``: the texts are what the model
    learns to write (training labels, cut at ``max_target_length``), not what it reads (prompts,
    cut at ``max_source_length``). ``lengths`` and ``target`` are left out of :meth:`to_dict`.
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
    target: bool = False

    def to_dict(self) -> dict:
        """The counts, as ``scores.json`` records them (without ``lengths`` and ``target``)."""
        return {k: v for k, v in asdict(self).items() if k not in ("lengths", "target")}

    def message(self, what: str = "dialogues") -> str | None:
        """One sentence on what was lost (``None`` when nothing was), without a ``warning:``
        prefix; ``what`` names the texts (``"train summaries"``)."""

        def share(n: int) -> str:  # "2 of 10 dialogues", or "the dialogue" when there is one
            return share_of(n, self.dialogues, what)

        setting = "max_target_length" if self.target else "max_source_length"
        parts = []
        if self.truncated:
            one = self.truncated == 1
            longest = "it has" if self.dialogues == 1 else "longest"
            parts.append(
                f"{share(self.truncated)} {verb(self.truncated, 'is', 'are')} longer than "
                f"{setting}={self.max_length} tokens ({longest} {self.longest}): "
                f"{counted(self.tokens_cut, 'token')} at {'its end' if one else 'their ends'} "
                f"{verb(self.tokens_cut, 'is', 'are')} cut and never "
                f"{'learned' if self.target else 'read'} by the model (raise {setting} "
                "to keep them whole)"
            )
        if self.with_unknown:
            shown = " ".join(repr(c) for c in self.lost_examples)
            parts.append(
                f"{share(self.with_unknown)} "
                f"{verb(self.with_unknown, 'holds', 'hold')} "
                f"{counted(self.chars_lost, 'character')} the tokenizer cannot encode "
                f"(e.g. {shown}); the model "
                + ("learns to write" if self.target else "reads")
                + " <unk> in their place"
            )
        return "; ".join(parts) or None


def _cut(ids: list[int], max_length: int, eos_id: int | None) -> list[int]:
    """``ids`` cut to ``max_length`` tokens, ending with the end-of-sequence token it ended with
    (what ``truncation=True`` gives for T5: the text's first tokens, then ``</s>``)."""
    if len(ids) <= max_length:
        return ids
    if eos_id is not None and ids and ids[-1] == eos_id:
        return ids[: max_length - 1] + [eos_id]
    return ids[:max_length]


def encode(
    texts: Sequence[str], tokenizer, max_length: int | None, target: bool = False
) -> tuple[list[list[int]], InputReport]:
    """The token ids of ``texts``, each cut to ``max_length`` tokens (``None``: not cut), and the
    :class:`InputReport` of what the cut and ``<unk>`` took from them: one tokenizer pass.

    ``target``: the texts are summaries the model learns to write, tokenized as labels
    (``tokenizer(text_target=...)``) and cut at ``max_target_length``. A fast tokenizer's offsets
    give the characters each ``<unk>`` covers; a slow one's texts are searched character by
    character.
    """
    texts = list(texts)
    report = InputReport(dialogues=len(texts), max_length=max_length, target=target)
    if not texts:
        return [], report
    text = {"text_target" if target else "text": texts}
    try:
        enc = tokenizer(**text, truncation=False, return_offsets_mapping=True, verbose=False)
        offsets = enc["offset_mapping"]
    except (NotImplementedError, ValueError, TypeError):  # a slow tokenizer: no offsets
        enc = tokenizer(**text, truncation=False, verbose=False)
        offsets = None
    unk, eos = tokenizer.unk_token_id, tokenizer.eos_token_id
    lost: dict[str, None] = {}
    encoded = []
    for i, ids in enumerate(enc["input_ids"]):
        ids, n = list(ids), len(ids)
        report.lengths.append(n)
        report.longest = max(report.longest, n)
        if max_length is not None and n > max_length:
            report.truncated += 1
            report.tokens_cut += n - max_length
            encoded.append(_cut(ids, max_length, eos))
        else:
            encoded.append(ids)
        if unk is None or unk not in ids:
            continue
        report.with_unknown += 1
        if offsets is not None:
            chars = "".join(texts[i][a:b] for (a, b), t in zip(offsets[i], ids) if t == unk)
        else:
            chars = "".join(
                c
                for c in texts[i]
                if not c.isspace() and unk in tokenizer(c, add_special_tokens=False)["input_ids"]
            )
        report.chars_lost += len(chars)
        lost.update(dict.fromkeys(chars))
    report.lost_examples = list(lost)[:MAX_EXAMPLE_CHARS]
    return encoded, report


def measure_inputs(texts: Sequence[str], tokenizer, max_length: int | None) -> InputReport:
    """The :class:`InputReport` of ``texts`` (the prompts exactly as they are tokenized) against
    ``tokenizer`` and ``max_length``: :func:`encode`'s, for a caller that needs no ids."""
    return encode(texts, tokenizer, max_length)[1]


def warn_input_loss(report: InputReport, what: str = "dialogues", stacklevel: int = 3) -> None:
    """The one channel for what the input lost: an :class:`InputLossWarning` when ``report``
    says something was lost (shown as one ``warning:`` line), nothing otherwise."""
    message = report.message(what)
    if message:
        warn(message, InputLossWarning, stacklevel=stacklevel)

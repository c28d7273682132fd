"""ROUGE figures from other people's work on flan-t5-base and DialogSum, with source and protocol.

Why a module of its own: a published figure is data, not code, and it is only comparable with our
scores under the same multi-reference protocol; keeping each figure with its source and
protocol lets tables and plots put it beside our rows of that protocol only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .metrics import check_protocol

NOT_REPORTED = "—"  # a metric a published source does not report


@dataclass(frozen=True)
class PublishedFigure:
    """A ROUGE figure from someone else's work: where from, for what setup, under which protocol.

    ``scores`` holds only the metrics the source reports (fractions); the rest stay unknown.
    """

    source: str
    setup: str
    protocol: str
    scores: Mapping[str, float]

    def __post_init__(self):
        check_protocol(self.protocol)


_LAB = "course lab 2 (Generative AI with LLMs)"

# Only ROUGE-1 is known for these sources: the other metrics stay absent (shown as NOT_REPORTED),
# never invented. Each (protocol, setup) label names one source, so no label appears twice.
PUBLISHED = (
    # The lab (flan-t5-base on DialogSum) scores the Hub's 1,500-row test split row by row: "mean".
    PublishedFigure(_LAB, "flan-t5-base zero-shot", "mean", {"rouge1": 0.2334}),
    PublishedFigure(_LAB, "flan-t5-base full fine-tuning", "mean", {"rouge1": 0.4216}),
    PublishedFigure(_LAB, "flan-t5-base LoRA", "mean", {"rouge1": 0.4081}),
    # The same lab's published LoRA summaries, re-scored by this project under each protocol.
    *(
        PublishedFigure(
            "lab 2 LoRA outputs, re-scored here",
            "flan-t5-base LoRA (lab outputs, re-scored)",
            protocol,
            {"rouge1": value},
        )
        for protocol, value in (("mean", 0.408), ("first", 0.415), ("best", 0.479))
    ),
    # Cited to this project without its address: shown, and said to be uncheckable.
    PublishedFigure(
        "a Colab notebook, its address not kept (cannot be checked)",
        "flan-t5-base LoRA r=8 on q,v, lr 1e-3, 2 epochs, T4",
        "best",
        {"rouge1": 0.484},
    ),
)


def figures_from(source: str) -> tuple[PublishedFigure, ...]:
    """The figures whose source starts with ``source`` (e.g. ``"course lab"``)."""
    return tuple(f for f in PUBLISHED if f.source.startswith(source))

"""Counts in words: ``"1 dialogue"``, ``"2 of 10 dialogues"``, ``"the dialogue"``; and how a
missing interval is said (``"not estimable: <reason>"``).

Its own module, with no imports, so the low modules (tokenization, metrics) word their warnings
by the same rule as the tables and captions without importing pandas through ``display``.
"""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``"1 dialogue"``, ``"2 dialogues"``, ``"1,500 dialogues"``: a count with its noun in the
    right number (``plural`` for nouns that do not take an s, e.g. ``"summaries"``)."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def singular(words: str) -> str:
    """``"train summaries"`` -> ``"train summary"``, ``"dialogues"`` -> ``"dialogue"``: the last
    word of a plural noun phrase made singular (English's -ies and -s rules)."""
    head, _, last = words.rpartition(" ")
    one = last[:-3] + "y" if last.endswith("ies") else last[:-1] if last.endswith("s") else last
    return f"{head} {one}" if head else one


def share_of(n: int, total: int, what: str) -> str:
    """``"2 of 10 dialogues"``; ``"the dialogue"`` when ``total`` is 1, since "1 of 1 dialogues"
    reads as a counting error to someone who gave one text (``what`` is plural)."""
    if total == 1:
        return "the " + singular(what)
    return f"{n:,} of {total:,} {what}"


NOT_ESTIMABLE = "not estimable"  # what every table, plot and message says of a missing interval


def not_estimable(reason: str) -> str:
    """``"not estimable: <reason>"``: an interval that cannot be estimated, with why (a table
    shows the reason once, as a numbered note under it: :mod:`dialogsum_peft.display`)."""
    return f"{NOT_ESTIMABLE}: {reason}"


def verb(n: int, one: str, many: str) -> str:
    """``one`` when ``n`` is 1 (``"is"``, ``"holds"``), else ``many``."""
    return one if n == 1 else many

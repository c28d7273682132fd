"""How tables and text show in a notebook: a caption above a table, text with real line breaks.

Why: a note set as a DataFrame's columns' name becomes part of its header, and pandas' plain-text
view wraps such a header into blocks; a string with line breaks shown as a notebook result (or in
a DataFrame cell) appears with escaped ``\\n``. :class:`CaptionedTable` and :class:`TextBlock`
show what they hold as a reader expects; :mod:`dialogsum_peft.reporting` builds its tables and
examples with them.
"""

from __future__ import annotations

import html
import re
import textwrap

import pandas as pd

from .wording import NOT_ESTIMABLE, not_estimable

SMOKE_NOTE = "SMOKE MODE: tiny random model, numbers are meaningless"
# a table's source for the smoke model's rows, where they stand beside flan-t5-base's figures
OURS_SMOKE = "ours, smoke model: tiny random T5"


def ours(smoke: bool) -> str:
    """Whose a row or line is beside published figures: "ours", or :data:`OURS_SMOKE`."""
    return OURS_SMOKE if smoke else "ours"


class CaptionedTable(pd.DataFrame):
    """A DataFrame shown with a caption line above it (plain text, HTML and ``to_string``), its
    float cells with a fixed number of decimals (``digits``: one number for every column, or a
    ``{column: decimals}`` mapping).

    Why: a note set as the columns' name becomes part of the header, and in plain text pandas
    wraps such a wide header into blocks; a caption sits above the table and leaves its layout
    alone. pandas shows each float column with as few decimals as its values need, so a score
    column that is all zeros reads "0.0" beside "0.0517": ``digits`` shows every score alike.
    Everything else is an ordinary DataFrame (``.loc``, ``.equals``, arithmetic: the values are
    not rounded by showing them).

    A cell that says why an interval is missing (``"not estimable: <reason>"``, alone or inside
    e.g. ``"+0.0000 (not estimable: <reason>)"``) shows ``"not estimable [1]"`` and the reason
    once, as a numbered note under the table: the same reason in every cell of a row made the
    command line's ROUGE table ~290 characters wide. The values keep their whole text. Every
    view shows whole cells: pandas cuts a cell at 50 characters ("its address not k...")."""

    _metadata = ["caption", "digits"]
    caption: str | None = None
    digits: int | dict[str, int] | None = None

    @property
    def _constructor(self):
        return CaptionedTable

    def _shown(self) -> tuple[pd.DataFrame, list[str]]:
        """A plain copy as shown (the floats of each column ``digits`` names as text, each
        missing interval's reason as a note number) and the notes, ``"[1] not estimable: ..."``."""
        shown = pd.DataFrame(self).copy()
        for column in shown.columns if self.digits is not None else ():
            places = self.digits.get(column) if isinstance(self.digits, dict) else self.digits
            if places is not None:
                shown[column] = [
                    f"{v:.{places}f}" if isinstance(v, float) and v == v else v
                    for v in shown[column]
                ]
        notes: dict[str, int] = {}

        def numbered(match) -> str:
            return f"{NOT_ESTIMABLE} [{notes.setdefault(match[1], len(notes) + 1)}]"

        for i in range(shown.shape[1]):
            values = shown.iloc[:, i]
            if values.map(lambda v: isinstance(v, str)).any():
                shown.isetitem(
                    i, [_REASON.sub(numbered, v) if isinstance(v, str) else v for v in values]
                )
        return shown, [f"[{n}] {not_estimable(reason)}" for reason, n in notes.items()]

    def to_string(self, *args, **kwargs):
        shown, notes = self._shown()
        kwargs["max_colwidth"] = None  # whole cells, also in repr (pandas cuts them at 50)
        text = pd.DataFrame.to_string(shown, *args, **kwargs)
        if text is None:  # written to a buffer
            return None
        return "\n".join(filter(None, [self.caption, text, *notes]))

    def to_html(self, *args, **kwargs):
        shown, notes = self._shown()
        with pd.option_context("display.max_colwidth", None):
            return _with_html_notes(
                self.caption, pd.DataFrame.to_html(shown, *args, **kwargs), notes
            )

    def _repr_html_(self):  # a notebook's view: whole cells ("... (cannot be checked)")
        shown, notes = self._shown()
        with pd.option_context("display.max_colwidth", None):
            return _with_html_notes(self.caption, pd.DataFrame._repr_html_(shown), notes)


# "not estimable: <reason>" up to the end of the cell or the parenthesis around it
_REASON = re.compile(re.escape(NOT_ESTIMABLE) + r": ([^()]+)")


def _with_html_notes(caption: str | None, text: str | None, notes: list[str]) -> str | None:
    if text is None:
        return None
    head = _html_caption(caption) if caption else ""
    tail = f"<p>{'<br>'.join(html.escape(n) for n in notes)}</p>\n" if notes else ""
    return head + text + tail


def _html_caption(caption: str) -> str:
    return f"<p><b>{'<br>'.join(html.escape(line) for line in caption.splitlines())}</b></p>\n"


SCORE_DIGITS = 4  # decimals of a ROUGE F-measure (a fraction in [0, 1]) in every table


def captioned(table, caption: str | None, digits: int | dict[str, int] | None = None):
    """``table`` as a :class:`CaptionedTable` shown under ``caption`` (None: no caption), its
    floats with ``digits`` decimals (see :class:`CaptionedTable`; None: as pandas shows them)."""
    table = CaptionedTable(table)
    table.caption, table.digits = caption, digits
    return table


class TextBlock(str):
    """Text that a notebook shows as it is printed: real line breaks, no quotes, no escapes."""

    def __repr__(self):
        return str(self)

    def _repr_pretty_(self, printer, cycle):  # IPython's text/plain
        printer.text(str(self))


def wrap_lines(text: str, width: int = 100) -> str:
    """``text`` wrapped to ``width`` characters line by line: a dialogue keeps one line per
    turn, a long turn continues on indented lines."""
    return "\n".join(
        textwrap.fill(line, width, subsequent_indent="    ") or line for line in text.splitlines()
    )


def smoke_caption(results) -> str | None:
    """:data:`SMOKE_NOTE` when any of ``results`` (EvalResults) came from the smoke model."""
    return SMOKE_NOTE if any_smoke(results) else None


def any_smoke(results) -> bool:
    """Whether any of ``results`` (EvalResults) came from the smoke path's tiny random model."""
    return any(r.smoke for r in results)


def title_with_notes(title: str, note: str | None, smoke: bool, width: int = 80) -> str:
    """The title with the caller's note and, in smoke mode, the smoke note under it, each
    wrapped at ``width`` characters (a title naming a long data folder stays on the figure)."""
    lines = [title, note, SMOKE_NOTE if smoke else None]
    return "\n".join(
        textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False)
        for line in dict.fromkeys(line for line in lines if line)
    )

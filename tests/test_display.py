"""dialogsum_peft.display: a table shows a missing interval's reason once, as a numbered note."""

import pandas as pd

from dialogsum_peft.display import SCORE_DIGITS, SMOKE_NOTE, captioned
from dialogsum_peft.metrics import ROUGE_TYPES, EvalResult
from dialogsum_peft.reporting import rouge_table
from dialogsum_peft.wins import win_shares
from dialogsum_peft.wording import not_estimable
from test_reporting import results_from


def test_a_reason_repeated_in_every_cell_is_shown_once_as_a_note(sample):
    """Before: each of the 12 interval cells of the command line's smoke table spelt out the same
    reason, a ~290-character line; the values themselves keep their whole text."""
    few = {
        name: EvalResult(r.predictions[:4], r.pair_scores[:4], smoke=True)
        for name, r in results_from(sample).items()
    }
    table = rouge_table(few, "zero-shot", "LoRA", intervals=True)
    reason = not_estimable("4 dialogues; at least 10 are needed")
    assert table.loc["LoRA", "rouge1 95% CI"] == reason  # the value is whole
    text = table.to_string()
    assert text.count("not estimable [1]") == 3 * len(ROUGE_TYPES) and "[2]" not in text
    assert text.count(reason) == 1 and text.splitlines()[-1] == f"[1] {reason}"
    assert text.splitlines()[0] == SMOKE_NOTE  # the caption stays above
    assert max(map(len, text.splitlines())) < 150
    for html in (table.to_html(), table._repr_html_()):
        assert html.count("not estimable [1]") == 3 * len(ROUGE_TYPES)
        assert html.count(reason) == 1 and html.index(reason) > html.index("</table>")


def test_each_reason_gets_its_own_number_inside_a_cells_text():
    """A reason inside parentheses ("+0.0000 (not estimable: ...)", a win share's "95% CI not
    estimable: ...)") is numbered where it stands; two reasons, two numbers, in order met."""
    few = not_estimable("4 dialogues; at least 10 are needed")
    flat = not_estimable("no spread: every resample gives 0.000")
    table = captioned(
        pd.DataFrame(
            {
                "rouge1": [0.25, 0.0],
                "vs lora": [f"+0.0100 ({few})", f"-0.2500 ({flat})"],
                "higher": [f"3 of 4 dialogues (75%; 95% CI {few})", "0 of 12 dialogues (0%)"],
            },
            index=["ia3", "prompt-tuning"],
        ),
        "ROUGE F-measure, protocol: mean",
        digits=SCORE_DIGITS,
    )
    lines = table.to_string().splitlines()
    assert lines[-2:] == [f"[1] {few}", f"[2] {flat}"]
    assert "+0.0100 (not estimable [1])" in lines[2] and "95% CI not estimable [1])" in lines[2]
    assert "-0.2500 (not estimable [2])" in lines[3] and "0.2500 " in lines[2]


def test_a_table_with_every_interval_shows_no_notes(sample):
    results = results_from(sample)  # the sample's 10 dialogues: every interval estimable
    table = rouge_table(results, "zero-shot", "LoRA", intervals=True)
    text = table.to_string()
    assert "not estimable" not in text and "[1]" not in text
    assert text.splitlines()[-1].startswith("LoRA - zero-shot")
    shares = win_shares(results["zero-shot"], results["LoRA"])
    assert "not estimable" not in str(shares["higher"])


def test_every_view_shows_whole_cells(sample):
    """pandas cuts a cell at 50 characters in a notebook's view and in repr: the protocol table
    showed "published: a Colab notebook, its address not k..."."""
    from dialogsum_peft.published import PUBLISHED
    from dialogsum_peft.reporting import protocol_table

    table = protocol_table(results_from(sample))
    longest = max((f"published: {f.source}" for f in PUBLISHED), key=len)
    assert len(longest) > 50
    for text in (table._repr_html_(), table.to_html(), table.to_string()):
        assert longest in text and "..." not in text
    assert longest in repr(table)  # (a terminal's repr still leaves out columns to fit its width)

"""Tables and plots carry their own labels: protocol, smoke note, and published-not-ours."""

import math
import re
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from dialogsum_peft.dialogues import (
    example_report,
    format_example,
    show_random_elements,
    side_by_side,
)
from dialogsum_peft.display import OURS_SMOKE, SMOKE_NOTE
from dialogsum_peft.evaluation import LORA, ZERO_SHOT, compute_rouge
from dialogsum_peft.metrics import MULTI_REF_PROTOCOLS, ROUGE_TYPES, EvalResult, score_pairs
from dialogsum_peft.offline import SMOKE_BANNER
from dialogsum_peft.published import NOT_REPORTED, PUBLISHED, PublishedFigure
from dialogsum_peft.reporting import plot_rouge_comparison, protocol_table, rouge_table

matplotlib.use("Agg")

ZERO = {"rouge1": 0.23, "rouge2": 0.07, "rougeL": 0.20, "rougeLsum": 0.20}


def all_reprs(table) -> list[str]:
    """What a notebook shows (text/plain and text/html) and what the command line prints."""
    return [repr(table), table._repr_html_(), table.to_string()]


def results_from(sample, smoke: bool = False):
    """Two real EvalResults on the sample test split, without a model: predictions are the
    first line of each dialogue, and another dialogue's human summary."""
    test = sample["test"]
    refs = list(test["references"])
    firsts = [d.split("\n")[0] for d in test["dialogue"]]
    shifted = [test["summary"][(i + 1) % len(test)] for i in range(len(test))]
    return {
        name: EvalResult(preds, score_pairs(preds, refs), smoke=smoke)
        for name, preds in (("zero-shot", shifted), ("LoRA", firsts))
    }


def test_rouge_table_names_its_protocol_and_shows_the_improvement(sample):
    results = results_from(sample)
    table = rouge_table(results, baseline="zero-shot", improved="LoRA")
    assert list(table.index) == ["zero-shot", "LoRA", "LoRA - zero-shot"]
    mean = {n: r.by_protocol["mean"]["rouge1"] for n, r in results.items()}
    assert table.loc["LoRA - zero-shot", "rouge1"] == pytest.approx(
        mean["LoRA"] - mean["zero-shot"], abs=1e-4
    )
    for text in all_reprs(table):
        assert "protocol: mean" in text and "SMOKE" not in text
    with pytest.raises(ValueError, match="mean, best, first"):
        rouge_table(results, protocol="max")


def test_rouge_table_computes_the_protocol_it_names(sample):
    """Issue 16: rouge_table(scores, protocol="best") printed "protocol: best" over mean scores."""
    results = results_from(sample)
    for protocol in MULTI_REF_PROTOCOLS:
        table = rouge_table(results, protocol=protocol)
        assert all(f"protocol: {protocol}" in text for text in all_reprs(table))
        for name, result in results.items():
            for k in ROUGE_TYPES:
                assert table.loc[name, k] == round(result.by_protocol[protocol][k], 4)
    assert results["LoRA"].by_protocol["best"] != results["LoRA"].by_protocol["mean"]
    with pytest.raises(TypeError, match="not an EvalResult"):  # a score dict names no protocol
        rouge_table({"zero-shot": ZERO}, protocol="best")
    for make in (
        protocol_table,
        lambda r: plot_rouge_comparison(r),
        lambda r: side_by_side(sample["test"], r, [0]),
    ):
        with pytest.raises(TypeError, match="not an EvalResult"):
            make({"zero-shot": ZERO})


def test_smoke_tables_say_so_in_text_and_html(sample):
    smoke = results_from(sample, smoke=True)
    table = rouge_table(smoke, "zero-shot", "LoRA")
    for text in all_reprs(table):
        assert SMOKE_NOTE in text and "protocol: mean" in text
        assert text.count(SMOKE_NOTE) == 1  # once, as a caption
    # a caption above the table, not the columns' name (which wraps the plain text into blocks)
    for make in (lambda r: rouge_table(r, "zero-shot", "LoRA"), protocol_table):
        marked = make(smoke)
        assert SMOKE_NOTE in marked.caption and marked.columns.name is None
        assert SMOKE_NOTE in repr(marked).splitlines()[:2]
        assert marked._repr_html_().startswith("<p><b>")
        assert SMOKE_NOTE in marked._repr_html_().split("</p>")[0]
    # the labels do not get in the way of the values
    assert table.loc["LoRA", "rouge1"] == round(smoke["LoRA"].by_protocol["mean"]["rouge1"], 4)
    assert all(SMOKE_NOTE in text for text in all_reprs(protocol_table(smoke)))
    sources = protocol_table(smoke)["source"]  # the rows beside flan-t5-base's figures say whose
    assert set(sources[~sources.str.startswith("published")]) == {OURS_SMOKE}
    assert not any(SMOKE_NOTE in text for text in all_reprs(protocol_table(results_from(sample))))


def test_protocol_table_puts_published_figures_beside_our_rows(sample):
    results = results_from(sample)
    table = protocol_table(results)
    assert table.index.names == ["protocol", "model"]
    assert list(dict.fromkeys(table.index.get_level_values("protocol"))) == list(
        MULTI_REF_PROTOCOLS
    )
    ours = table[table["source"] == "ours"]
    assert len(ours) == 2 * len(MULTI_REF_PROTOCOLS)
    for (protocol, name), row in ours.iterrows():
        for k in ROUGE_TYPES:
            assert row[k] == pytest.approx(results[name].by_protocol[protocol][k], abs=5e-5)
    published = table[table["source"] != "ours"]
    assert len(published) == len(PUBLISHED)
    assert all(source.startswith("published: ") for source in published["source"])
    for figure in PUBLISHED:  # each figure sits in the rows of its own protocol
        rows = published.loc[figure.protocol]
        match = rows[(rows["source"] == f"published: {figure.source}")].loc[[figure.setup]]
        assert figure.scores["rouge1"] in list(match["rouge1"])
        assert (
            (match[["rouge2", "rougeL", "rougeLsum"]] == NOT_REPORTED).all().all()
        )  # never invented
    assert not table.isna().any().any() and "NaN" not in table.to_string()
    assert not table.index.duplicated().any()  # one label per source: "flan-t5-base LoRA" once
    assert "published: course lab 2" in table.to_string()
    assert protocol_table(results, published=()).equals(ours)


def test_published_registry_is_rouge1_only_with_a_known_protocol():
    lab = {f.setup: f.scores["rouge1"] for f in PUBLISHED if f.source.startswith("course lab 2")}
    assert lab == {
        "flan-t5-base zero-shot": 0.2334,
        "flan-t5-base full fine-tuning": 0.4216,
        "flan-t5-base LoRA": 0.4081,
    }
    rescored = {f.protocol: f.scores["rouge1"] for f in PUBLISHED if "re-scored" in f.source}
    assert rescored == {"mean": 0.408, "first": 0.415, "best": 0.479}
    assert all(
        set(f.scores) == {"rouge1"} and not math.isnan(f.scores["rouge1"]) for f in PUBLISHED
    )
    labels = [(f.protocol, f.setup) for f in PUBLISHED]  # distinct sources, distinct labels
    assert len(set(labels)) == len(labels)
    with pytest.raises(ValueError, match="mean, best, first"):
        PublishedFigure("somewhere", "some model", "average", {"rouge1": 0.5})


def test_plots_carry_protocol_and_smoke_note(sample):
    results = results_from(sample)
    ax = plot_rouge_comparison(results).axes[0]
    assert len(ax.patches) == 8  # 4 metrics x 2 models
    mean = {n: r.by_protocol["mean"]["rouge1"] for n, r in results.items()}
    assert f"{mean['LoRA'] - mean['zero-shot']:+.3f}" in [t.get_text() for t in ax.texts]
    assert "protocol: mean" in ax.get_ylabel() and "SMOKE" not in ax.get_title()
    smoke = results_from(sample, smoke=True)
    first = plot_rouge_comparison(
        {"LoRA": smoke["LoRA"]}, title="ROUGE", note="10 dialogues", protocol="first"
    ).axes[0]
    assert first.get_title() == f"ROUGE\n10 dialogues\n{SMOKE_NOTE}"
    assert "protocol: first" in first.get_ylabel()
    bars = [p.get_height() for p in first.patches]
    assert bars == [pytest.approx(smoke["LoRA"].by_protocol["first"][k]) for k in ROUGE_TYPES]
    matplotlib.pyplot.close("all")


def test_peeks_and_side_by_side(sample):
    """Dialogues and summaries as wrapped text with real line breaks, not escaped in a table."""
    text = show_random_elements(sample["train"], 3, seed=1)
    assert text == show_random_elements(sample["train"], 3, seed=1) and repr(text) == str(text)
    assert text.count("DIALOGUE:") == 3 and text.count("SUMMARY:") == 3 and "\\n" not in repr(text)
    assert all(len(line) <= 100 for line in text.splitlines())
    shown = [row for row in sample["train"] if f"id: {row['id']} " in text]
    assert len(shown) == 3
    for row in shown:  # every word there, every turn starting a line of its own
        assert " ".join(row["dialogue"].split()) in " ".join(text.split())
        assert all(f"\n{turn.split()[0]} " in text for turn in row["dialogue"].splitlines())
    results = results_from(sample)
    sbs = side_by_side(sample["test"], results, [0, 2])
    assert SMOKE_NOTE not in sbs and repr(sbs) == str(sbs) and "\\n" not in repr(sbs)
    for i in (0, 2):
        row = sample["test"][i]
        assert f"id: {row['id']}" in sbs
        for summary in (
            row["summary"],
            results["LoRA"].predictions[i],
            results["zero-shot"].predictions[i],
        ):
            assert " ".join(summary.split()) in " ".join(sbs.split())
    marked = side_by_side(sample["test"], results_from(sample, smoke=True), [0])
    assert marked.splitlines()[0] == SMOKE_NOTE  # the mark comes from the results
    text = format_example("d", "h", {"lora": "the cat sat"}, ["the cat sat down", "a dog"])
    assert "HUMAN SUMMARY" in text and "ROUGE-1 0.429" in text and "(protocol: mean)" in text
    assert "ROUGE-1 0.857" in format_example(
        "d", "h", {"lora": "the cat sat"}, ["the cat sat down", "a dog"], protocol="best"
    )


def test_smoke_mark_comes_from_the_model_that_wrote_the_results(tiny, sample):
    from transformers import T5ForConditionalGeneration

    from conftest import gen, lora
    from dialogsum_peft.evaluation import evaluate_model, limit_split
    from dialogsum_peft.offline import SMOKE_MARK, is_smoke_model, tiny_t5_config

    model, tokenizer = tiny
    split = limit_split(sample["test"], 2)
    result = evaluate_model(model, tokenizer, split, progress=False, **gen(max_new_tokens=4))
    assert result.smoke and SMOKE_NOTE in rouge_table({"tiny": result}).to_string()
    assert is_smoke_model(lora(model))
    config = tiny_t5_config(len(tokenizer))
    delattr(config, SMOKE_MARK)  # any other model: no mark
    plain = T5ForConditionalGeneration(config).eval()
    assert not is_smoke_model(plain)
    unmarked = evaluate_model(plain, tokenizer, split, progress=False, **gen(max_new_tokens=4))
    assert not unmarked.smoke and SMOKE_NOTE not in rouge_table({"plain": unmarked}).to_string()


def test_rouge_table_intervals_surround_each_score_and_the_improvement(sample):
    from dialogsum_peft.intervals import difference_intervals
    from dialogsum_peft.metrics import EvalResult, score_pairs
    from dialogsum_peft.reporting import rouge_table

    refs = list(sample["test"]["references"])
    first_turns = [d.split("\n")[0] for d in sample["test"]["dialogue"]]
    copies = [r[0] for r in refs]
    results = {
        "zero-shot": EvalResult(first_turns, score_pairs(first_turns, refs)),
        "LoRA": EvalResult(copies, score_pairs(copies, refs)),
    }
    table = rouge_table(results, "zero-shot", "LoRA", intervals=True)
    for row in table.index:
        low, high = (float(x) for x in table.loc[row, "rouge1 95% CI"].split(" to "))
        assert low <= table.loc[row, "rouge1"] + 5e-4 and table.loc[row, "rouge1"] - 5e-4 <= high
    paired = difference_intervals(results["zero-shot"].pair_scores, results["LoRA"].pair_scores)
    assert table.loc["LoRA - zero-shot", "rouge2 95% CI"] == "{:.3f} to {:.3f}".format(
        *paired["rouge2"]["ci95"]
    )


def test_tables_and_plots_show_no_95_percent_interval_where_none_can_be_estimated(sample):
    """Issue 32 (10): one dialogue, or a score with no spread, gave a zero-width "95%" interval."""
    from dialogsum_peft.evaluation import limit_split
    from dialogsum_peft.metrics import EvalResult

    one = {
        name: EvalResult(r.predictions[:1], r.pair_scores[:1])
        for name, r in results_from(sample).items()
    }
    table = rouge_table(one, "zero-shot", "LoRA", intervals=True)
    reason = "not estimable: 1 dialogue; at least 10 are needed"
    assert all(table.loc[row, f"{k} 95% CI"] == reason for row in table.index for k in ROUGE_TYPES)
    fig = plot_rouge_comparison(one)
    ax = fig.axes[0]
    assert "no CI: not estimable (1 dialogue; at least 10 are needed)" in (
        fig.legends[0].get_title().get_text()
    )
    assert [t.get_text() for t in ax.texts].count("no CI") == 2 * len(ROUGE_TYPES)
    test = sample["test"]
    flat = [test["references"][i][0] for i in range(len(test))]  # each its own first reference
    perfect = {"LoRA": EvalResult(flat, score_pairs(flat, [r[:1] for r in test["references"]]))}
    table = rouge_table(perfect, protocol="first", intervals=True)  # 1.0 everywhere: no spread
    assert set(table.iloc[0][[f"{k} 95% CI" for k in ROUGE_TYPES]]) == {
        "not estimable: no spread: every resample gives 1.000"
    }
    assert len(limit_split(test, 10)) == 10  # the sample's own 10 dialogues: estimable
    full = rouge_table(results_from(sample), intervals=True)
    assert " to " in full.loc["LoRA", "rouge1 95% CI"]


def test_counts_name_their_noun_in_the_right_number(sample):
    """Issue 32 (11): "(1 dialogues)" under a length bin, "1 summaries written"."""
    from dialogsum_peft.evaluation import rouge_by_length
    from dialogsum_peft.reporting import plot_rouge_by_length
    from dialogsum_peft.tokenization import InputReport
    from dialogsum_peft.wording import counted

    assert [counted(n, "dialogue") for n in (0, 1, 2, 1500)] == [
        "0 dialogues",
        "1 dialogue",
        "2 dialogues",
        "1,500 dialogues",
    ]
    assert counted(1, "summary", "summaries") == "1 summary"
    lengths = [600] + [10] * (len(sample["test"]) - 1)  # one dialogue in the last bin
    inputs = InputReport(dialogues=len(lengths), max_length=512, lengths=lengths)
    results = {
        n: EvalResult(r.predictions, r.pair_scores, inputs=inputs)
        for n, r in results_from(sample).items()
    }
    assert rouge_by_length(results)["dialogues"].sum() == len(lengths)
    labels = [t.get_text() for t in plot_rouge_by_length(results).axes[0].get_xticklabels()]
    assert labels == ["0-127\n(9 dialogues)", "> 512 (cut)\n(1 dialogue)"]


def test_example_report(sample):
    test = sample["test"]
    row = test[3]
    perfect = row["references"][-1]
    text = example_report(test, 3, {ZERO_SHOT: "nothing alike here", LORA: perfect})
    flat = " ".join(text.split())  # summaries are wrapped to the line width
    assert f"#3 (id {row['id']}" in text and " ".join(row["summary"].split()) in flat
    refs = len(row["references"])
    assert f"{refs} human reference{'s' * (refs != 1)})" in text  # not "reference(s)"
    assert "ZERO-SHOT:" in text and "LORA:" in text
    mean_r1 = compute_rouge([perfect], [row["references"]])["rouge1"]  # "mean" protocol
    assert f"ROUGE-1 {mean_r1:.3f}" in text and mean_r1 < 1.0  # one reference of several
    assert " ".join(row["dialogue"].split()) in flat and "SMOKE" not in text
    # the dialogue wrapped to the width, each turn starting a line of its own
    assert all(len(line) <= 100 for line in text.splitlines())
    assert all(f"\n{turn.split()[0]} " in text for turn in row["dialogue"].splitlines())
    prompted = example_report(test, 3, {LORA: perfect}, smoke=True, show_prompt=True)
    assert "Summarize the following conversation." in prompted and "PROMPT" in prompted
    assert SMOKE_BANNER.split(":")[0] in prompted
    with pytest.raises(IndexError, match="index 10 is outside the test split: it has 10 dialogues"):
        example_report(test, len(test), {LORA: "x"})


# Issue 32 (4): every helper that takes an index checks it against the split it indexes, with a
# message naming the split's size. Before the fix side_by_side raised a bare IndexError from
# datasets (or showed another split's predictions) and example_report named no size.
@pytest.mark.parametrize("index", [200, 42, 10, -1])
def test_helpers_that_take_an_index_name_the_splits_size(sample, index):
    from dialogsum_peft.errors import SplitIndexError
    from dialogsum_peft.evaluation import limit_split

    test, results = sample["test"], results_from(sample)
    message = f"index {index} is outside the test split: it has 10 dialogues (rows 0 to 9)"
    for call in (
        lambda: example_report(test, index, {LORA: "x"}),
        lambda: side_by_side(test, results, [0, index]),
    ):
        with pytest.raises(SplitIndexError) as err:
            call()
        assert str(err.value) == message and isinstance(err.value, IndexError)
        assert err.value._render_traceback_() == [
            f"SplitIndexError: {message}"
        ]  # a notebook's view
    with pytest.raises(SplitIndexError, match=r"it has 1 dialogue \(row 0\)$"):
        example_report(limit_split(test, 1), max(index, 1), {LORA: "x"})
    with pytest.raises(ValueError, match="10 predictions for a split of 3 dialogues"):
        side_by_side(limit_split(test, 3), results, [0])  # another split's results


def test_titles_name_the_data_the_run_read_never_dialogsum_for_other_data(sample, tmp_path):
    """Review item 3: the plot of the smoke sample (and of one's own data on the command line)
    was titled "ROUGE on DialogSum test dialogues". The data's name comes from the run's data
    source, as the smoke banner and the model card name it."""
    from dialogsum_peft.offline import SAMPLE_NAME, sample_data_dir
    from dialogsum_peft.reporting import dialogues_of
    from dialogsum_peft.settings import HUB_DATASET

    assert dialogues_of(HUB_DATASET, 500) == "500 test dialogues of DialogSum"
    assert dialogues_of(str(sample_data_dir()), 10) == f"10 test dialogues of {SAMPLE_NAME}"
    own = tmp_path / "my_data"
    own.mkdir()
    assert dialogues_of(str(own), 1, "validation") == f"1 validation dialogue of {own}"
    assert dialogues_of("someone/chats", 3, None) == "3 dialogues of someone/chats"
    results = results_from(sample)
    fig = plot_rouge_comparison(results)  # no data named unless the caller names it
    assert "DialogSum" not in fig.axes[0].get_title()
    long = tmp_path / ("a-long-folder-name-" * 5) / "my_data"
    fig = plot_rouge_comparison(results, title=f"ROUGE on {dialogues_of(str(long), 10)}")
    title = fig.axes[0].get_title()
    assert str(long) in title  # a path is never broken, the rest wraps
    matplotlib.pyplot.close("all")


def test_every_score_column_shows_four_decimals_an_all_zero_one_included(sample):
    """Review item 8: rouge_table's (and rouge_by_length's) rouge2 column showed "0.0" beside
    "0.0517": pandas shows a column of zeros with one decimal. Every score column is shown with
    the same 4 decimals, in the text and the HTML views alike; the values stay numbers."""
    from dialogsum_peft.evaluation import rouge_by_length, rouge_by_topic
    from dialogsum_peft.tokenization import InputReport

    test = sample["test"]
    refs = list(test["references"])
    words = [r[0].split()[0] for r in refs]  # one word: no bigram, so every ROUGE-2 is 0
    pairs = [f"{w} qqq" for w in words]  # two words, a bigram no reference holds
    inputs = InputReport(dialogues=len(test), max_length=512, lengths=[100] * len(test))
    results = {
        name: EvalResult(preds, score_pairs(preds, refs), inputs=inputs)
        for name, preds in (("zero-shot", words), ("LoRA", pairs))
    }
    assert all(r.by_protocol["mean"]["rouge2"] == 0.0 for r in results.values())
    tables = {
        "rouge_table": rouge_table(results, baseline="zero-shot", improved="LoRA"),
        "with intervals": rouge_table(results, "zero-shot", "LoRA", intervals=True),
        "protocol_table": protocol_table(results),
        "rouge_by_length": rouge_by_length(results),
        "rouge_by_topic": rouge_by_topic(results, test["topic"]),
    }
    for name, table in tables.items():
        for text in all_reprs(table):
            # the scores' cells, not their intervals ("0.047 to 0.060") or the reasons for none
            body = re.sub(r"(-?\d\.\d+ to|gives) -?\d\.\d+", "", text.split("\n", 1)[-1])
            cells = re.findall(r"(?<![\w.])-?\d+\.\d+(?![\w.])", body)
            assert cells and all(re.fullmatch(r"-?\d\.\d{4}", c) for c in cells), (name, text)
        assert any(all(isinstance(v, float) for v in table[c]) for c in table)  # numbers kept
    assert " 0.0000" in repr(tables["rouge_table"]) and "0.0 " not in repr(tables["rouge_table"])


def _overlaps(boxes) -> list:
    return [
        (a, b)
        for i, (a, box) in enumerate(boxes)
        for b, other in boxes[i + 1 :]
        if box.overlaps(other)
    ]


def test_the_rouge_chart_labels_never_overlap_and_its_legend_says_only_what_is_drawn(sample):
    """Review item 7: on zero-height bars (the smoke model's zero-shot) "no CI" and the value
    were drawn over each other, and the legend said "error bars: 95% bootstrap interval" where
    no bar had one. Every label now has its own place inside the axes, the legend sits below
    them, and it names error bars only when one is drawn."""
    test = sample["test"]
    refs = list(test["references"])
    zeros = ["qqq"] * len(test)  # no word of any reference: 0 everywhere, no spread, no CI
    firsts = [d.split("\n")[0] for d in test["dialogue"]]
    cases = {  # the predictions, and whether any interval can be estimated
        "smoke-like": ({"zero-shot": zeros, "LoRA": firsts}, True),
        "no interval at all": ({"zero-shot": zeros[:1], "LoRA": firsts[:1]}, False),
        "three models": ({"zero-shot": zeros, "mid": firsts, "LoRA": [r[0] for r in refs]}, True),
    }
    for case, (predictions, estimable) in cases.items():
        results = {
            name: EvalResult(preds, score_pairs(preds, refs[: len(preds)]))
            for name, preds in predictions.items()
        }
        with warnings.catch_warnings():  # matplotlib 3.7 (our floor) warned at NaN error bars
            warnings.simplefilter("error")
            fig = plot_rouge_comparison(results)
            fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        legend = fig.legends[0] if fig.legends else ax.get_legend()
        texts = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts]
        assert not _overlaps(texts), (case, _overlaps(texts))
        inside = ax.get_window_extent(renderer)
        assert all(inside.contains(b.x0, b.y0) and inside.contains(b.x1, b.y1) for _, b in texts)
        assert legend.get_window_extent(renderer).y1 <= inside.y0  # below the axes
        title = legend.get_title().get_text()
        segments = [
            seg
            for c in ax.get_children()
            if type(c).__name__ == "LineCollection"
            for seg in c.get_segments()
            if seg.size and np.isfinite(seg).all()
        ]
        assert bool(segments) == estimable, case  # error bars drawn where estimable
        assert ("error bars: 95% bootstrap interval" in title) == estimable, (case, title)
        assert ("no CI: not estimable" in title) == ("no CI" in [t for t, _ in texts])
    matplotlib.pyplot.close("all")


ROOT = Path(__file__).resolve().parents[1]
DRAWS = re.compile(r"\bplot_(rouge_comparison|rouge_by_length|loss_curve|rouge_vs_parameters)\(")


def _places_that_draw():
    """(where, source) of every notebook cell and command-line function that draws a ROUGE or
    loss plot."""
    import ast

    for nb in sorted((ROOT / "notebooks").glob("*.py")):
        for i, cell in enumerate(nb.read_text(encoding="utf-8").split("\n# %%")):
            if DRAWS.search(cell) and not cell.lstrip().startswith("[markdown]"):
                yield f"{nb.name} cell {i}", cell
    for path in sorted((ROOT / "src" / "dialogsum_peft" / "command_line").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef):
                body = ast.get_source_segment(source, node)
                if DRAWS.search(body):
                    yield f"{path.name}:{node.name}", body


def test_every_plot_of_scores_or_losses_names_the_data_it_was_measured_on():
    """A new user's report: the notebook's length plot said "ROUGE by dialogue length" on the
    shipped sample, and the command line's loss.png said "LoRA training loss" for any method on
    any data. Every place that draws one (both notebooks, the command line) builds its title or
    note with reporting.dialogues_of, which names the data the run read."""
    places = dict(_places_that_draw())
    assert len(places) >= 6, sorted(places)  # the test still finds what it checks
    assert [where for where, src in places.items() if "dialogues_of(" not in src] == []

"""Tables and plots carry their own labels: protocol, smoke note, and published-not-ours."""

import math

import matplotlib
import pytest

from dialogsum_peft.evaluation import EvalResult
from dialogsum_peft.metrics import MULTI_REF_PROTOCOLS, ROUGE_TYPES, score_pairs
from dialogsum_peft.reporting import (
    PUBLISHED, SMOKE_NOTE, PublishedFigure, format_example, plot_loss_curve, plot_rouge_comparison,
    protocol_table, rouge_table, show_random_elements, side_by_side,
)

matplotlib.use("Agg")

ZERO = {"rouge1": 0.23, "rouge2": 0.07, "rougeL": 0.20, "rougeLsum": 0.20}
LORA = {"rouge1": 0.41, "rouge2": 0.17, "rougeL": 0.33, "rougeLsum": 0.33}


def all_reprs(table) -> list[str]:
    """What a notebook shows (text/plain and text/html) and what the command line prints."""
    return [repr(table), table._repr_html_(), table.to_string()]


def results_from(sample):
    """Two real EvalResults on the sample test split, without a model: predictions are the
    first line of each dialogue, and another dialogue's human summary."""
    test = sample["test"]
    refs = list(test["references"])
    firsts = [d.split("\n")[0] for d in test["dialogue"]]
    shifted = [test["summary"][(i + 1) % len(test)] for i in range(len(test))]
    return {name: EvalResult(preds, score_pairs(preds, refs))
            for name, preds in (("zero-shot", shifted), ("LoRA", firsts))}


def test_rouge_table_names_its_protocol_and_shows_the_improvement():
    table = rouge_table({"zero-shot": ZERO, "LoRA": LORA}, baseline="zero-shot", improved="LoRA")
    assert list(table.index) == ["zero-shot", "LoRA", "LoRA - zero-shot"]
    assert table.loc["LoRA - zero-shot", "rouge1"] == pytest.approx(0.18)
    for text in all_reprs(table):
        assert "protocol: mean" in text and "SMOKE" not in text
    best = rouge_table({"LoRA": LORA}, protocol="best")
    assert all("protocol: best" in text for text in all_reprs(best))
    with pytest.raises(ValueError, match="mean, best, first"):
        rouge_table({"LoRA": LORA}, protocol="max")


def test_smoke_tables_say_so_in_text_and_html(sample):
    table = rouge_table({"zero-shot": ZERO, "LoRA": LORA}, "zero-shot", "LoRA", smoke=True)
    for text in all_reprs(table):
        assert SMOKE_NOTE in text and "protocol: mean" in text
    assert table.loc["LoRA", "rouge1"] == 0.41  # the labels do not get in the way of the values
    by_protocol = protocol_table(results_from(sample), smoke=True)
    assert all(SMOKE_NOTE in text for text in all_reprs(by_protocol))
    assert not any(SMOKE_NOTE in text for text in all_reprs(protocol_table(results_from(sample))))


def test_protocol_table_puts_published_figures_beside_our_rows(sample):
    results = results_from(sample)
    table = protocol_table(results)
    assert table.index.names == ["protocol", "model"]
    assert list(dict.fromkeys(table.index.get_level_values("protocol"))) == list(MULTI_REF_PROTOCOLS)
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
        assert match[["rouge2", "rougeL", "rougeLsum"]].isna().all().all()  # never invented
    assert "published: course lab 2" in table.to_string()
    # A plain {protocol: scores} mapping works as well as an EvalResult.
    plain = protocol_table({n: r.by_protocol for n, r in results.items()}, published=())
    assert plain.equals(ours)


def test_published_registry_is_rouge1_only_with_a_known_protocol():
    lab = {f.setup: f.scores["rouge1"] for f in PUBLISHED if f.source.startswith("course lab 2")}
    assert lab == {"flan-t5-base zero-shot": 0.2334, "flan-t5-base full fine-tuning": 0.4216,
                   "flan-t5-base LoRA": 0.4081}
    rescored = {f.protocol: f.scores["rouge1"] for f in PUBLISHED if "re-scored" in f.source}
    assert rescored == {"mean": 0.408, "first": 0.415, "best": 0.479}
    assert all(set(f.scores) == {"rouge1"} and not math.isnan(f.scores["rouge1"]) for f in PUBLISHED)
    with pytest.raises(ValueError, match="mean, best, first"):
        PublishedFigure("somewhere", "some model", "average", {"rouge1": 0.5})


def test_plots_carry_protocol_and_smoke_note():
    fig = plot_rouge_comparison({"zero-shot": ZERO, "LoRA": LORA})
    ax = fig.axes[0]
    assert len(ax.patches) == 8  # 4 metrics x 2 models
    assert "+0.180" in [t.get_text() for t in ax.texts]
    assert "protocol: mean" in ax.get_ylabel() and "SMOKE" not in ax.get_title()
    smoke = plot_rouge_comparison({"LoRA": LORA}, title="ROUGE", note="10 dialogues",
                                  protocol="first", smoke=True).axes[0]
    assert smoke.get_title() == f"ROUGE\n10 dialogues\n{SMOKE_NOTE}"
    assert "protocol: first" in smoke.get_ylabel()
    loss = plot_loss_curve([(1, 3.0), (2, 2.5), (3, 2.0)], smoke=True).axes[0]
    assert list(loss.lines[0].get_ydata()) == [3.0, 2.5, 2.0]
    assert loss.get_title() == f"LoRA training loss\n{SMOKE_NOTE}"
    with pytest.raises(ValueError):
        plot_loss_curve([])


def test_peeks_and_side_by_side(sample):
    df = show_random_elements(sample["train"], 3, seed=1)
    assert len(df) == 3 and list(df.columns) == ["id", "topic", "dialogue", "summary"]
    assert df.equals(show_random_elements(sample["train"], 3, seed=1))
    sbs = side_by_side(sample["test"], {"zero-shot": ["a"] * 10, "LoRA": ["b"] * 10}, [0, 2])
    assert SMOKE_NOTE not in sbs.to_string()
    marked = side_by_side(sample["test"], {"LoRA": ["b"] * 10}, [0], smoke=True)
    assert SMOKE_NOTE in marked.to_string() and SMOKE_NOTE in marked.to_html()
    assert list(sbs["human summary"]) == [sample["test"][0]["summary"], sample["test"][2]["summary"]]
    text = format_example("d", "h", {"lora": "x"}, {"lora": {"rouge1": 0.5, "rouge2": 0, "rougeL": 0.5}})
    assert "HUMAN SUMMARY" in text and "ROUGE-1 0.500" in text and "(protocol: mean)" in text

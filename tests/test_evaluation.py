"""dialogsum_peft.evaluation: zero-shot against LoRA on the same dialogues, and where a model fails
(ROUGE by length and by topic, the dialogues it lost most on), on real EvalResults."""

from __future__ import annotations

import matplotlib
import pytest

from conftest import gen, lora, randomize_lora_b
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.display import SMOKE_NOTE
from dialogsum_peft.evaluation import (
    LORA,
    ZERO_SHOT,
    compute_rouge,
    evaluate_model,
    evaluate_zero_shot_and_lora,
    largest_losses,
    limit_split,
    rouge_by_length,
    rouge_by_topic,
    zero_shot_and_lora_summaries,
)
from dialogsum_peft.generation import summarize
from dialogsum_peft.metrics import EvalResult, aggregate_by_protocol, score_pairs
from dialogsum_peft.reporting import plot_rouge_by_length
from dialogsum_peft.tokenization import InputReport

GEN = gen(max_new_tokens=8, min_new_tokens=8, batch_size=4)


# Issue 32 (4): the notebooks' example cells pick their dialogue with pick_index. Before the fix
# they drew with Python's global random, seeded by the Trainer (and set_seed) before the draw:
# every "Run all" showed the same dialogue, and index = 200 raised a bare IndexError.
def test_pick_index_checks_a_chosen_index_and_draws_another_dialogue_each_time(sample):
    import random

    from dialogsum_peft.dialogues import check_index, pick_index
    from dialogsum_peft.errors import SplitIndexError

    test = sample["test"]
    assert [pick_index(test, 7) for _ in range(3)] == [7, 7, 7]  # a chosen index is reproducible
    for bad in (200, 42, -1, len(test)):
        with pytest.raises(
            SplitIndexError,
            match=rf"^index {bad} is outside the test split: it "
            r"has 10 dialogues \(rows 0 to 9\)$",
        ):
            pick_index(test, bad)
    for bad in (1.5, "3", True):
        with pytest.raises(TypeError, match="whole number"):
            check_index(test, bad)
    draws = []
    for _ in range(3 * len(test)):
        random.seed(42)  # what set_seed and the Trainer do before the cell runs
        state = random.getstate()
        draws.append(pick_index(test))
        assert random.getstate() == state  # the draw leaves the seeded generator alone
    assert all(a != b for a, b in zip(draws, draws[1:]))  # a rerun shows another dialogue
    for start in range(0, len(draws), len(test)):  # every dialogue once per round
        assert sorted(draws[start : start + len(test)]) == list(range(len(test)))
    one = limit_split(test, 1)
    assert pick_index(one) == pick_index(one) == 0
    with pytest.raises(SplitIndexError, match="has 0 dialogues"):
        pick_index(test.select([]))


def test_zero_shot_is_the_untouched_base_model(tiny, sample):
    model, tok = tiny
    dialogues = list(sample["test"]["dialogue"][:4])
    before = summarize(model, tok, dialogues, progress=False, **GEN)
    peft_model = lora(model)
    randomize_lora_b(peft_model)
    out = zero_shot_and_lora_summaries(peft_model, tok, dialogues, **GEN)
    assert list(out) == [ZERO_SHOT, LORA]
    assert out[ZERO_SHOT] == before
    assert out[LORA] == summarize(peft_model, tok, dialogues, progress=False, **GEN)
    assert out[LORA] != before
    # The pitfall the helper avoids: get_peft_model changed `model` in place, so the old
    # variable now generates with the adapter, not zero-shot.
    assert summarize(model, tok, dialogues, progress=False, **GEN) == out[LORA]


def test_evaluate_zero_shot_and_lora(tiny, sample, tmp_path):
    model, tok = tiny
    config = TrainConfig.smoke(output_dir=str(tmp_path), max_new_tokens=8, eval_batch_size=4)
    test = limit_split(sample["test"], 5)
    kwargs = config.generation_kwargs()
    base = evaluate_model(model, tok, test, progress=False, **kwargs)
    peft_model = lora(model)
    randomize_lora_b(peft_model, seed=1)
    results = evaluate_zero_shot_and_lora(peft_model, tok, test, config, progress=False)
    assert list(results) == [ZERO_SHOT, LORA]
    assert results[ZERO_SHOT].predictions == base.predictions
    assert results[ZERO_SHOT].scores == pytest.approx(base.scores)
    with_adapter = evaluate_model(peft_model, tok, test, progress=False, **kwargs)
    assert results[LORA].predictions == with_adapter.predictions
    for r in results.values():
        assert len(r.predictions) == 5 and all(0 <= v <= 1 for v in r.scores.values())


matplotlib.use("Agg")


@pytest.fixture()
def two_models(sample):
    test = sample["test"]
    refs = list(test["references"])
    zero = [d.split("\n")[0] for d in test["dialogue"]]  # a "model": the first turn
    tuned = [r[0] for r in refs]  # a "model" that copies the first reference
    tuned[2] = "nothing useful"  # ... except once
    return test, {
        "zero-shot": EvalResult(zero, score_pairs(zero, refs)),
        "LoRA": EvalResult(tuned, score_pairs(tuned, refs)),
    }


def _measured(results, lengths, max_source_length=512):
    """``results`` as evaluate_model returns them: with the measure of their prompts."""
    inputs = InputReport(dialogues=len(lengths), max_length=max_source_length, lengths=lengths)
    return {
        n: EvalResult(r.predictions, r.pair_scores, smoke=r.smoke, inputs=inputs)
        for n, r in results.items()
    }


def test_length_bins_hold_every_dialogue_and_score_like_the_corpus(two_models):
    test, results = two_models
    lengths = [100, 200, 300, 600] * (len(test) // 4) + [50] * (len(test) % 4)
    table = rouge_by_length(_measured(results, lengths), protocol="mean")
    assert table["dialogues"].sum() == len(test)
    assert list(table.index) == ["0-127", "128-255", "256-383", "> 512 (cut)"]
    long = [i for i, n in enumerate(lengths) if n > 512]
    expected = compute_rouge(
        [results["LoRA"].predictions[i] for i in long], [test["references"][i] for i in long]
    )["rouge1"]
    assert table.loc["> 512 (cut)", "LoRA"] == pytest.approx(expected, abs=1e-4)
    assert "protocol: mean" in table.index.name
    with pytest.raises(ValueError, match="measure of their prompts"):
        rouge_by_length(results)
    other = {**_measured(results, lengths), "LoRA": _measured(results, lengths[::-1])["LoRA"]}
    with pytest.raises(ValueError, match="other dialogues"):
        rouge_by_length(other)
    assert SMOKE_NOTE not in plot_rouge_by_length(_measured(results, lengths)).axes[0].get_title()
    smoke = {n: EvalResult(r.predictions, r.pair_scores, smoke=True) for n, r in results.items()}
    marked = rouge_by_length(_measured(smoke, lengths))
    assert (
        SMOKE_NOTE in marked.to_string()
        and SMOKE_NOTE in rouge_by_topic(smoke, ["t"] * len(test)).to_string()
    )
    plot = plot_rouge_by_length(_measured(smoke, lengths), protocol="best")
    assert SMOKE_NOTE in plot.axes[0].get_title()  # from the results
    assert plot.axes[0].get_ylabel() == "rouge1 F-measure (protocol: best)"  # given, not parsed
    titled = plot_rouge_by_length(_measured(results, lengths), title="ROUGE by length, my data")
    ax = titled.axes[0]
    assert ax.get_title() == "ROUGE by length, my data"
    heights = [p.get_height() for p in ax.patches]
    # every bar's value is written (a zero-height bar is otherwise not seen at all)
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{h:.3f}" for h in heights)
    matplotlib.pyplot.close("all")


def test_length_bins_follow_max_source_length(two_models):
    """The bins are the run's max_source_length's, and "(cut)" marks what it cut. Before, the
    bins were (0, 128, 256, 384, 512) whatever the setting: at 1024 a prompt of 600 tokens, read
    whole, sat under ">= 512 (cut)"; and one of exactly 512 tokens, not cut, too."""
    test, results = two_models
    lengths = [512, 600, 1024, 1025] + [10] * (len(test) - 4)
    at_1024 = rouge_by_length(_measured(results, lengths, max_source_length=1024))
    assert at_1024["dialogues"].to_dict() == {
        "0-255": len(test) - 4,
        "512-767": 2,
        "768-1024": 1,
        "> 1024 (cut)": 1,
    }
    at_512 = rouge_by_length(_measured(results, lengths))
    assert at_512["dialogues"].to_dict() == {"0-127": len(test) - 4, "384-512": 1, "> 512 (cut)": 3}


def test_topics_most_frequent_first(two_models):
    test, results = two_models
    topics = ["shopping"] * 3 + ["travel"] * 2 + [""] * (len(test) - 5)
    table = rouge_by_topic(results, topics, protocol="best")
    assert list(table.index) == ["shopping", "travel"] and list(table["dialogues"]) == [3, 2]
    assert table.caption == f"{len(test) - 5} dialogues without a topic not shown"


def test_the_topic_table_says_which_topics_and_dialogues_it_leaves_out(two_models):
    """Review item 5: with top=8 the smoke run showed 8 of its 10 topics and nothing said two
    were missing. The caption counts what the table leaves out, from the data."""
    test, results = two_models
    topics = [f"topic {i}" for i in range(len(test))]  # 10 topics of one dialogue each
    table = rouge_by_topic(results, topics)
    assert len(table) == 8 and table["dialogues"].sum() == 8
    assert (
        table.caption
        == "the 8 largest of 10 topics (ties by name): 2 dialogues of the other 2 topics not shown"
    )
    for text in (table.to_string(), table._repr_html_()):
        assert "the 8 largest of 10 topics" in text
    assert rouge_by_topic(results, topics, top=len(test)).caption is None  # all shown: no note
    topics = ["a"] * 4 + ["b"] * 3 + ["c"] * 2 + [None]
    table = rouge_by_topic(results, topics, top=2)
    assert list(table.index) == ["a", "b"] and table.caption == (
        "the 2 largest of 3 topics (ties by name): 2 dialogues of the other 1 topic not shown; "
        "1 dialogue without a topic not shown"
    )


def test_largest_losses_are_the_dialogues_the_tuned_model_lost(two_models):
    _, results = two_models
    losses = largest_losses(results["zero-shot"], results["LoRA"], k=3)
    assert losses and all(delta < 0 for _, delta in losses) and 2 in dict(losses)
    assert [i for i, _ in losses] == sorted((i for i, _ in losses), key=dict(losses).get)
    assert largest_losses(results["LoRA"], results["LoRA"]) == []


def test_evaluate_model_scores_against_all_references(tiny, sample):
    model, tok = tiny
    test = limit_split(sample["test"], 4)
    result = evaluate_model(model, tok, test, progress=False, **gen(batch_size=2, max_new_tokens=8))
    assert len(result.predictions) == 4 and len(result.per_example("best")) == 4
    assert [len(p) for p in result.pair_scores] == [len(r) for r in test["references"]]
    assert result.scores == compute_rouge(result.predictions, test["references"], multi_ref="mean")
    assert result.by_protocol == aggregate_by_protocol(
        score_pairs(result.predictions, test["references"])
    )
    with pytest.raises(ValueError, match="at least 1"):
        limit_split(sample["test"], 0)

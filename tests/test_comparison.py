"""The method comparison's table and plots: every row and label, nothing unmeasured shown as a
number, published figures only as labelled lines, and the memory estimate's arithmetic."""

from __future__ import annotations

from dataclasses import replace

import matplotlib
import pytest

from dialogsum_peft.comparison import (
    NOT_MEASURED,
    NOT_TRAINED,
    MethodRun,
    comparison_table,
    flan_t5_base_parameters,
    memory_estimate,
    plot_peak_memory,
    plot_rouge_vs_parameters,
    zero_shot_run,
)
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.display import OURS_SMOKE, SMOKE_NOTE
from dialogsum_peft.methods import METHODS, describe, peft_config
from dialogsum_peft.metrics import EvalResult, score_pairs
from dialogsum_peft.modeling import ParameterCount
from dialogsum_peft.published import PUBLISHED

matplotlib.use("Agg")
BASE = 247_577_856  # flan-t5-base
TRAINABLE = {"lora": 3_538_944, "ia3": 104_448, "full": BASE}


def evaluation(sample, shift: int) -> EvalResult:
    """A real EvalResult without a model: each dialogue "summarized" by another's summary."""
    test = sample["test"]
    preds = [test["summary"][(i + shift) % len(test)] for i in range(len(test))]
    return EvalResult(preds, score_pairs(preds, list(test["references"])))


@pytest.fixture(scope="module")
def runs(sample):
    zero = MethodRun("zero-shot", "nothing", ParameterCount(0, BASE, 0.0), evaluation(sample, 1))
    trained = [
        MethodRun(
            m,
            m,
            ParameterCount(
                t, BASE + (t if m != "full" else 0), 100 * t / (BASE + (t if m != "full" else 0))
            ),
            evaluation(sample, 0),
            saved_mb=t * 4 / 1e6,
            examples_per_s=12.345,
            train_seconds=60.06,
        )
        for m, t in TRAINABLE.items()
    ]
    return {r.method: r for r in [zero, *trained]}


def texts(table) -> list[str]:
    return [repr(table), table._repr_html_(), table.to_string()]


def _with_evaluations(runs, change):
    """The same runs, each evaluation ``e`` replaced by ``change(e)``."""
    return {m: replace(r, evaluation=change(r.evaluation)) for m, r in runs.items()}


def smoke_runs(runs):
    """The same runs, their evaluations marked as written by the smoke model."""
    return _with_evaluations(runs, lambda e: EvalResult(e.predictions, e.pair_scores, smoke=True))


def _on_first_dialogues(runs, n: int):
    """The same runs, their evaluations cut to the first ``n`` test dialogues."""
    return _with_evaluations(runs, lambda e: EvalResult(e.predictions[:n], e.pair_scores[:n]))


def test_table_has_a_row_per_method_and_says_what_was_not_measured(runs):
    table = comparison_table(runs)
    assert list(table.index) == ["zero-shot", "lora", "ia3", "full"]
    assert table.loc["lora", "trainable params"] == 3_538_944
    assert table.loc["lora", "trainable %"] == pytest.approx(1.4093, abs=1e-4)
    assert table.loc["lora", "saved MB"] == pytest.approx(14.16, abs=0.01)
    assert (
        table.loc["lora", "train examples/s"] == 12.35 and table.loc["full", "train time s"] == 60.1
    )
    assert table.loc["lora", "peak GPU GiB"] == NOT_MEASURED  # None is never shown as a number
    assert (
        table.loc["zero-shot", ["saved MB", "peak GPU GiB", "train examples/s"]] == NOT_TRAINED
    ).all()
    assert table.loc["zero-shot", "trainable params"] == 0
    lora = runs["lora"].evaluation.by_protocol
    assert table.loc["lora", "rouge1"] == round(lora["mean"]["rouge1"], 4)
    assert comparison_table(runs, protocol="best").loc["lora", "rouge1"] == round(
        lora["best"]["rouge1"], 4
    )
    for text in texts(table):
        assert "protocol: mean" in text and SMOKE_NOTE not in text
    assert all(SMOKE_NOTE in text for text in texts(comparison_table(smoke_runs(runs))))
    with pytest.raises(ValueError, match="mean, best, first"):
        comparison_table(runs, protocol="max")


def test_measured_peak_memory_is_shown(runs):
    measured = {**runs, "lora": MethodRun(**{**vars(runs["lora"]), "peak_memory_gib": 9.126})}
    assert comparison_table(measured).loc["lora", "peak GPU GiB"] == 9.13


def test_zero_shot_run_counts_the_model_and_trains_nothing(tiny, sample):
    model, _ = tiny
    run = zero_shot_run(model, evaluation(sample, 0))
    assert run.parameters == ParameterCount(0, sum(p.numel() for p in model.parameters()), 0.0)
    assert not run.trained and run.method == "zero-shot"


def test_measure_counts_weighs_and_times_a_trained_model(tiny, sample, tmp_path):
    """MethodRun.measure: the row of a trained model from the objects the notebook has: the
    model (parameters counted), its peft config (described), the saved folder (weighed)."""
    from conftest import lora
    from dialogsum_peft.adapters import adapter_size_mb
    from dialogsum_peft.modeling import count_parameters

    model, tokenizer = tiny
    peft_model = lora(model)
    peft_model.save_pretrained(tmp_path / "adapter")
    metrics = {"session_examples_per_second": 12.5, "train_runtime": 3.0, "train_loss": 1.0}
    run = MethodRun.measure(
        "lora",
        peft_model.peft_config["default"],
        peft_model,
        evaluation(sample, 1),
        tmp_path / "adapter",
        metrics,
        None,
    )
    assert run.parameters == count_parameters(peft_model) and run.trained
    assert run.trains == describe(peft_model.peft_config["default"]) and run.trains.startswith(
        "LoRA r="
    )
    assert run.saved_mb == adapter_size_mb(tmp_path / "adapter") > 0
    assert (run.examples_per_s, run.train_seconds, run.peak_memory_gib) == (12.5, 3.0, None)


def test_flan_t5_base_parameters_on_the_meta_device():
    """flan-t5-base's real counts (TRAINABLE above, from peft's print_trainable_parameters on the
    real model) without allocating or downloading it."""
    for method in ("lora", "ia3"):
        count = flan_t5_base_parameters(TrainConfig.auto(method=method))
        assert count.trainable == TRAINABLE[method] and count.total == BASE + TRAINABLE[method]


def test_describe_says_what_each_method_trains(tiny_dir):
    words = {m: describe(peft_config(TrainConfig.smoke(method=m), str(tiny_dir))) for m in METHODS}
    assert words == {
        "lora": "LoRA r=32, alpha=32 on q, v",
        "lora-all": "LoRA r=16, alpha=16 on k, o, q, v, wi_0, wi_1, wo",
        "ia3": "IA3 scaling vectors on k, v, wo",
        "prompt-tuning": "20 virtual input tokens (prompt tuning)",
        "full": "every weight (full fine-tuning)",
    }


def test_rouge_against_parameters_plot(runs):
    fig = plot_rouge_vs_parameters(smoke_runs(runs), published=PUBLISHED)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "protocol: mean" in ax.get_ylabel()
    assert SMOKE_NOTE in ax.get_title()
    points = [c.get_offsets()[0] for c in ax.collections]
    assert sorted(int(x) for x, _ in points) == sorted(TRAINABLE.values())  # no zero-shot point
    labels = ax.get_legend_handles_labels()[1]
    assert any(label.startswith(f"zero-shot ({OURS_SMOKE}): ") for label in labels)
    published = [label for label in labels if label.startswith("published")]
    mean_figures = [f for f in PUBLISHED if f.protocol == "mean" and "rouge1" in f.scores]
    assert len(published) == len(mean_figures) > 0  # other protocols are left out
    assert any("full fine-tuning 0.422" in label for label in published)
    real = plot_rouge_vs_parameters(runs).axes[0]
    assert SMOKE_NOTE not in real.get_title()
    assert any(
        label.startswith("zero-shot (ours): ") for label in real.get_legend_handles_labels()[1]
    )
    # a source's name draws that source's figures (the notebook's "course lab")
    by_name = plot_rouge_vs_parameters(runs, published="course lab").axes[0]
    lab = [f for f in PUBLISHED if f.source.startswith("course lab") and f.protocol == "mean"]
    assert sorted(
        label for label in by_name.get_legend_handles_labels()[1] if label.startswith("published")
    ) == sorted(f"published, {f.source}: {f.setup} {f.scores['rouge1']:.3f}" for f in lab)
    matplotlib.pyplot.close("all")


def test_peak_memory_plot_says_not_measured(runs):
    title = plot_peak_memory(smoke_runs(runs)).axes[0].get_title()
    assert "not measured" in title and SMOKE_NOTE in title
    measured = {
        m: MethodRun(**{**vars(r), "peak_memory_gib": 4.0 if r.trained else None})
        for m, r in runs.items()
    }
    ax = plot_peak_memory(measured).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["lora", "ia3", "full"]
    assert "not measured" not in ax.get_title() and [t.get_text() for t in ax.texts] == ["4.0"] * 3
    matplotlib.pyplot.close("all")


def test_memory_estimate_from_bytes_per_parameter():
    lora = TRAINABLE["lora"]
    table = memory_estimate(
        {
            "full fp32 AdamW": (BASE, BASE, "fp32", "adamw"),
            "full fp32 Adafactor": (BASE, BASE, "fp32", "adafactor"),
            "full bf16 Adafactor": (BASE, BASE, "bf16", "adafactor"),
            "LoRA fp32 AdamW": (BASE + lora, lora, "fp32", "adamw"),
        },
        activations_gib=8.0,
    )
    gib = 2**30
    assert table.loc["full fp32 AdamW", "before activations GiB"] == round(
        16 * BASE / gib, 2
    )  # 3.69
    assert table.loc["full fp32 Adafactor", "before activations GiB"] == round(8 * BASE / gib, 2)
    assert table.loc["full bf16 Adafactor", "before activations GiB"] == round(4 * BASE / gib, 2)
    # adapters train in fp32 whatever the base: 4 bytes of gradient + 8 of AdamW moments
    assert table.loc["LoRA fp32 AdamW", "bytes per trainable weight (gradient + optimizer)"] == 12
    assert table.loc["full fp32 AdamW", "fits 15 GiB?"] == "yes"
    assert "ESTIMATE" in repr(table) and "ESTIMATE" in table._repr_html_()
    tight = memory_estimate({"full fp32 AdamW": (BASE, BASE, "fp32", "adamw")}, activations_gib=12)
    assert tight.loc["full fp32 AdamW", "fits 15 GiB?"] == "no"
    assert "fits 15 GiB?" not in memory_estimate({"x": (BASE, BASE, "fp32", "adamw")}).columns


def test_each_method_minus_lora_with_its_paired_interval(runs):
    from dialogsum_peft.intervals import difference_intervals

    table = comparison_table(runs)
    column = "rouge1 - lora (95% CI)"
    assert table.loc["lora", column] == "—"
    d = difference_intervals(
        runs["lora"].evaluation.pair_scores, runs["zero-shot"].evaluation.pair_scores
    )["rouge1"]
    assert table.loc["zero-shot", column] == (
        f"{d['difference']:+.4f} ({d['ci95'].low:+.3f} to {d['ci95'].high:+.3f})"
    )
    assert column not in comparison_table(runs, reference=None).columns
    # Issue 32 (10): ia3 scored exactly as lora on every dialogue: no spread, so no "95%" interval
    # (before the fix: "+0.0000 (+0.000 to +0.000)")
    assert (
        table.loc["ia3", column] == "+0.0000 (not estimable: no spread: every resample gives 0.000)"
    )
    few = _on_first_dialogues(runs, 4)
    assert (
        comparison_table(few)
        .loc["zero-shot", column]
        .endswith("(not estimable: 4 dialogues; at least 10 are needed)")
    )


def test_each_trained_method_against_zero_shot_dialogue_by_dialogue(runs):
    """Beside the averages: on what share of the test dialogues each method's ROUGE-1 is higher,
    equal and lower than zero-shot's, with the 95% Wilson interval of the first."""
    from dialogsum_peft.wins import win_shares

    column = "rouge1 per dialogue vs zero-shot: higher / equal / lower (95% CI)"
    table = comparison_table(runs)
    assert table.loc["zero-shot", column] == "—"
    for method in ("lora", "ia3", "full"):
        s = win_shares(runs["zero-shot"].evaluation, runs[method].evaluation, "mean", "rouge1")
        assert table.loc[method, column] == (
            f"{s['higher'].share:.0%} / {s['equal'].share:.0%} / {s['lower'].share:.0%} "
            f"(higher: {s['higher'].ci95.low:.0%} to {s['higher'].ci95.high:.0%})"
        )
    best = win_shares(runs["zero-shot"].evaluation, runs["lora"].evaluation, "best", "rouge1")
    assert (
        comparison_table(runs, protocol="best")
        .loc["lora", column]
        .startswith(f"{best['higher'].share:.0%} / ")
    )
    without = {m: r for m, r in runs.items() if m != "zero-shot"}
    assert column not in comparison_table(without).columns
    few = _on_first_dialogues(runs, 4)
    assert (
        comparison_table(few)
        .loc["lora", column]
        .endswith("(higher: not estimable: 4 dialogues; at least 10 are needed)")
    )

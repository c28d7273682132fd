"""The method comparison's table and plots: what each fine-tuning method costs and what it scores.

Why: "which method?" is answered by a few numbers side by side (how many weights train, how big
the saved file is, how much GPU memory and time training takes, what ROUGE it reaches) and by
two pictures of them. The comparison notebook trains each method and hands the numbers to these
functions, so the table and the plots are tested here rather than written in cells.

The labels travel with the numbers, as in :mod:`dialogsum_peft.reporting`: the ROUGE protocol
is in the table and the axis (computed under it here, from each run's EvalResult), the smoke
model's results carry :data:`~dialogsum_peft.display.SMOKE_NOTE`, a figure not measured says
"not measured" instead of 0, published figures are labelled reference lines, and
:func:`memory_estimate`'s table, arithmetic from bytes per parameter, says "estimate".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .display import SCORE_DIGITS, any_smoke, captioned, ours, smoke_caption, title_with_notes
from .evaluation import ZERO_SHOT
from .metrics import EvalResult, check_protocol
from .modeling import ParameterCount, count_parameters
from .published import PublishedFigure, figures_from

NOT_TRAINED = "n/a"  # the zero-shot row: nothing was trained, saved or timed
NOT_MEASURED = "not measured"  # e.g. peak GPU memory of a run on the CPU
COLUMNS = (
    "trains",
    "trainable params",
    "trainable %",
    "saved MB",
    "peak GPU GiB",
    "train examples/s",
    "train time s",
    "rouge1",
    "rouge2",
    "rougeL",
)
# The decimals each column from "trainable %" on is rounded to and shown with (a column of zeros
# shows "0.0000" like its neighbours, not "0.0").
DIGITS = dict(zip(COLUMNS[2:], (4, 2, 2, 2, 1, *[SCORE_DIGITS] * 3)))
T4_MEMORY_GIB = 15.0  # a free Colab T4's memory as Colab reports it (16 GB = 15 GiB)
WEIGHT_BYTES = {"fp32": 4, "bf16": 2}
# Optimizer moments kept per trainable weight, each the size of its gradient: AdamW keeps two;
# transformers' Adafactor with the Trainer's defaults keeps no first moment and factors the
# second into a row and a column vector per matrix (a fraction of a percent of the weights: 0).
OPTIMIZER_MOMENTS = {"adamw": 2, "adafactor": 0}


@dataclass
class MethodRun:
    """One row of the comparison: what was trained, what that cost, and what it scored.

    ``saved_mb``, ``peak_memory_gib``, ``examples_per_s`` and ``train_seconds`` are ``None`` when
    there is nothing to measure (the zero-shot model) or it was not measured (GPU memory on a CPU).
    """

    method: str
    trains: str
    parameters: ParameterCount
    evaluation: EvalResult
    saved_mb: float | None = None
    peak_memory_gib: float | None = None
    examples_per_s: float | None = None  # training examples counted, per second of training
    train_seconds: float | None = None

    @property
    def trained(self) -> bool:
        return self.parameters.trainable > 0

    @classmethod
    def measure(
        cls,
        method: str,
        method_config,
        model,
        evaluation: EvalResult,
        saved_dir,
        train_metrics: Mapping[str, float],
        peak_memory_gib: float | None = None,
    ):
        """The row of a trained ``model``: its parameters counted, ``method_config`` (a peft
        config, ``None`` for full fine-tuning) described, the weights saved in ``saved_dir``
        weighed (MB), and ``train_metrics``' (``DialogSumTrainer.train().metrics``) examples counted
        per second (``session_examples_per_second``, not the Trainer's nominal rate) and time."""
        from .adapters import adapter_size_mb
        from .methods import describe

        return cls(
            method,
            describe(method_config),
            count_parameters(model),
            evaluation,
            saved_mb=adapter_size_mb(saved_dir),
            peak_memory_gib=peak_memory_gib,
            examples_per_s=train_metrics["session_examples_per_second"],
            train_seconds=train_metrics["train_runtime"],
        )


def zero_shot_run(model, evaluation: EvalResult) -> MethodRun:
    """The baseline row: the pre-trained ``model`` as it is, nothing trained (0 trainable)."""
    total = count_parameters(model).total
    return MethodRun(
        ZERO_SHOT, "nothing (the pre-trained model)", ParameterCount(0, total, 0.0), evaluation
    )


Runs = Mapping[str, MethodRun] | Sequence[MethodRun]


def _as_list(runs: Runs) -> list[MethodRun]:
    return list(runs.values()) if isinstance(runs, Mapping) else list(runs)


def _measured(run: MethodRun, value, digits: int):
    if not run.trained:
        return NOT_TRAINED
    return NOT_MEASURED if value is None else round(value, digits)


def comparison_table(runs: Runs, protocol: str = "mean", reference: str | None = "lora"):
    """One row per method: trainable parameters, saved size, peak GPU memory, speed, ROUGE.

    ROUGE-1/2/L are corpus F-measures under ``protocol``, which the row header names (the others:
    each run's ``evaluation.by_protocol``); "not measured" and "n/a" (the zero-shot row's
    training) stand for what was not measured or does not apply. With a ``reference`` method
    among the runs, a column gives each method's ROUGE-1 minus the reference's with its paired
    95% bootstrap interval (:mod:`dialogsum_peft.intervals`; one that contains 0: the test set
    cannot tell them apart). With a zero-shot run (nothing trained), the last column gives the
    share of test dialogues on which each trained method's ROUGE-1 is higher, equal and lower
    than zero-shot's, with the 95% Wilson interval of the first
    (:func:`dialogsum_peft.wins.win_shares`). The smoke note from the runs' evaluations heads the
    table. Raises ValueError for an unknown protocol.
    """
    import pandas as pd

    check_protocol(protocol)
    runs = _as_list(runs)
    rows = {}
    for run in runs:
        scores = run.evaluation.by_protocol[protocol]
        rows[run.method] = dict(
            zip(
                COLUMNS,
                (
                    run.trains,
                    run.parameters.trainable,
                    round(run.parameters.percent, DIGITS["trainable %"]),
                    _measured(run, run.saved_mb, DIGITS["saved MB"]),
                    _measured(run, run.peak_memory_gib, DIGITS["peak GPU GiB"]),
                    _measured(run, run.examples_per_s, DIGITS["train examples/s"]),
                    _measured(run, run.train_seconds, DIGITS["train time s"]),
                    *(round(scores[k], SCORE_DIGITS) for k in ("rouge1", "rouge2", "rougeL")),
                ),
            )
        )
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS))
    by_name = {run.method: run for run in runs}
    if reference in by_name:
        from .intervals import difference_intervals, format_interval

        base = by_name[reference].evaluation.pair_scores
        column = f"rouge1 - {reference} (95% CI)"
        table[column] = "—"
        for name, run in by_name.items():
            if name != reference:
                d = difference_intervals(base, run.evaluation.pair_scores, protocol)["rouge1"]
                table.loc[name, column] = (
                    f"{d['difference']:+.4f} ({format_interval(d['ci95'], signed=True)})"
                )
    zero_shot = next((run for run in runs if not run.trained), None)
    if zero_shot is not None:  # on how many dialogues, beside the average (dialogsum_peft.wins)
        from .wins import format_share_ci, win_shares

        column = f"rouge1 per dialogue vs {zero_shot.method}: higher / equal / lower (95% CI)"
        table[column] = "—"
        for run in (r for r in runs if r.trained):
            s = win_shares(zero_shot.evaluation, run.evaluation, protocol, "rouge1")
            table.loc[run.method, column] = (
                f"{s['higher'].share:.0%} / {s['equal'].share:.0%} / {s['lower'].share:.0%} "
                f"(higher: {format_share_ci(s['higher'].ci95)})"
            )
    table.index.name = f"method (ROUGE F-measure, protocol: {protocol})"
    return captioned(table, smoke_caption(r.evaluation for r in runs), digits=DIGITS)


def plot_rouge_vs_parameters(
    runs: Runs,
    published: Sequence[PublishedFigure] | str = (),
    metric: str = "rouge1",
    protocol: str = "mean",
    note: str | None = None,
):
    """ROUGE against trainable parameters (log x axis): one point per trained method.

    The zero-shot model (0 trainable parameters, off a log axis) is a solid horizontal line; each
    ``published`` figure of ``protocol`` that reports ``metric`` a dashed line labelled
    "published" and its source (``published`` may name a source: :func:`~dialogsum_peft.
    published.figures_from`, e.g. ``"course lab"``); other protocols' figures are left out.
    """
    import matplotlib.pyplot as plt

    check_protocol(protocol)
    if isinstance(published, str):
        published = figures_from(published)
    runs = _as_list(runs)
    fig, ax = plt.subplots(figsize=(8, 6), layout="constrained")
    trained = [r for r in runs if r.trained]
    for run in trained:
        x, y = run.parameters.trainable, run.evaluation.by_protocol[protocol][metric]
        ax.scatter([x], [y], s=60, zorder=3)
        ax.annotate(
            f"{run.method}\n{y:.3f}", (x, y), xytext=(6, 6), textcoords="offset points", fontsize=9
        )
    for run in runs:
        if not run.trained:
            y = run.evaluation.by_protocol[protocol][metric]
            whose = ours(run.evaluation.smoke)  # beside published figures
            ax.axhline(y, color="black", linewidth=1, label=f"{run.method} ({whose}): {y:.3f}")
    for figure in published:
        if figure.protocol == protocol and metric in figure.scores:
            y = figure.scores[metric]
            ax.axhline(
                y,
                color="grey",
                linestyle="--",
                linewidth=1,
                label=f"published, {figure.source}: {figure.setup} {y:.3f}",
            )
            ax.annotate(
                f"published: {figure.setup}",
                (0.01, y),
                xycoords=("axes fraction", "data"),
                xytext=(0, 2),
                textcoords="offset points",
                fontsize=7,
                color="grey",
            )
    ax.set_xscale("log")
    ax.margins(y=0.15)  # room for the labels of the highest point
    if trained:
        xs = [r.parameters.trainable for r in trained]
        ax.set_xlim(min(xs) / 3, max(xs) * 5)
    ax.set_xlabel("trainable parameters (log scale)")
    ax.set_ylabel(f"{metric} F-measure (protocol: {protocol})")
    smoke = any_smoke(r.evaluation for r in runs)
    ax.set_title(title_with_notes(f"{metric} against trainable parameters", note, smoke))
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:  # below the axes: never over a point
        ax.legend(loc="upper left", bbox_to_anchor=(0, -0.12), fontsize=8, frameon=False)
    return fig


def plot_peak_memory(runs: Runs, note: str | None = None):
    """Peak GPU memory of each trained method's training, as bars.

    A method whose peak was not measured (a run on the CPU) gets no bar but the words
    "not measured" in its place; when none was measured the title says so. The smoke note comes
    from the runs' evaluations.
    """
    import matplotlib.pyplot as plt

    smoke = any_smoke(r.evaluation for r in _as_list(runs))
    runs = [r for r in _as_list(runs) if r.trained]
    fig, ax = plt.subplots(figsize=(8, 4))
    names, values = [r.method for r in runs], [r.peak_memory_gib or 0.0 for r in runs]
    bars = ax.bar(names, values, color="tab:blue")
    labels = [
        NOT_MEASURED if r.peak_memory_gib is None else f"{r.peak_memory_gib:.1f}" for r in runs
    ]
    ax.bar_label(bars, labels=labels, fontsize=9)
    measured = [r.peak_memory_gib for r in runs if r.peak_memory_gib is not None]
    ax.set_ylim(0, max(measured) * 1.2 if measured else 1)
    ax.set_ylabel("peak GPU memory while training (GiB)")
    title = "Peak GPU memory per method"
    if not measured:
        title += ": not measured (no GPU, training ran on the CPU)"
        ax.set_yticks([])
    ax.set_title(title_with_notes(title, note, smoke))
    fig.tight_layout()
    return fig


def flan_t5_base_parameters(config) -> ParameterCount:
    """The parameters of flan-t5-base with ``config``'s method applied (``total`` includes the
    method's new weights), counted on the meta device: nothing is allocated or downloaded."""
    from .measuring import flan_t5_base_shaped_model
    from .methods import apply_method

    return count_parameters(apply_method(flan_t5_base_shaped_model(device="meta"), config))


def memory_estimate(
    setups: Mapping[str, tuple[int, int, str, str]],
    activations_gib: float | None = None,
    card_gib: float = T4_MEMORY_GIB,
):
    """ESTIMATED training memory from bytes per parameter, one row per setup.

    ``setups``: label -> (total parameters, trainable parameters, "fp32" or "bf16", "adamw" or
    "adafactor"). A weight costs 4 or 2 bytes; a trainable one also its gradient and the
    optimizer's moments (:data:`OPTIMIZER_MOMENTS`), each its size (fp32 for an adapter: peft
    keeps adapters in fp32). ``activations_gib`` is added alike to every setup (they depend on
    batch and lengths far more than on the method) and the last column says whether the sum fits
    ``card_gib``. Nothing here is measured: the header says "estimate".
    """
    import pandas as pd

    rows = {}
    for label, (total, trainable, precision, optimizer) in setups.items():
        weight = WEIGHT_BYTES[precision]
        per_trainable = (weight if trainable >= total else 4) * (1 + OPTIMIZER_MOMENTS[optimizer])
        weights_gib, state_gib = total * weight / 2**30, trainable * per_trainable / 2**30
        row = {
            "bytes per weight": weight,
            "bytes per trainable weight (gradient + optimizer)": per_trainable,
            "weights GiB": round(weights_gib, 2),
            "gradients + optimizer GiB": round(state_gib, 2),
            "before activations GiB": round(weights_gib + state_gib, 2),
        }
        if activations_gib is not None:
            with_activations = weights_gib + state_gib + activations_gib
            row["with activations GiB"] = round(with_activations, 1)
            row[f"fits {card_gib:g} GiB?"] = "yes" if with_activations <= card_gib else "no"
        rows[label] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "setup"
    return captioned(table, "ESTIMATE from bytes per parameter, not a measurement")

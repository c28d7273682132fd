"""Tables and plots the notebook and the command line show, each carrying its own labels.

Why: people would rather look than read. A ROUGE table with the absolute improvement, a bar chart
of the same, a loss curve, and side-by-side summaries say more than printed dicts, and both the
notebook and ``python -m dialogsum_peft evaluate`` draw them with the same code.

A number travels without the sentence around it, so each table and figure says itself which
multi-reference protocol its scores use (see :data:`dialogsum_peft.metrics.MULTI_REF_PROTOCOLS`)
and, in smoke mode, that its numbers are meaningless. Both labels are derived from the data they
label: tables and plots take :class:`~dialogsum_peft.metrics.EvalResult` objects and a
protocol and compute the numbers themselves (a dict of scores cannot say which protocol made it),
and the smoke mark comes from the results (the model that wrote them), not from the caller.
Published figures are kept apart from ours
in :data:`PUBLISHED`, with their source and protocol, so they are only compared like for like.
"""

from __future__ import annotations

import random
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from .display import TextBlock, captioned, wrap_lines
from .metrics import EvalResult
from .metrics import MULTI_REF_PROTOCOLS, ROUGE_TYPES, check_protocol, rouge_per_example

SMOKE_NOTE = "SMOKE MODE: tiny random model, numbers are meaningless"
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
    *(PublishedFigure("lab 2 LoRA outputs, re-scored here",
                      "flan-t5-base LoRA (lab outputs, re-scored)", protocol, {"rouge1": value})
      for protocol, value in (("mean", 0.408), ("first", 0.415), ("best", 0.479))),
    PublishedFigure("a Colab notebook", "LoRA r=8 on q,v, lr 1e-3, 2 epochs, T4", "best",
                    {"rouge1": 0.484}),
)


def smoke_caption(results) -> str | None:
    """:data:`SMOKE_NOTE` when any of ``results`` (EvalResults) came from the smoke model."""
    return SMOKE_NOTE if any_smoke(results) else None


def scores_under(results: Mapping[str, EvalResult], protocol: str) -> dict[str, dict[str, float]]:
    """``{name: corpus ROUGE under protocol}`` from results objects.

    Raises TypeError for anything but :class:`EvalResult` values (a bare score dict does not
    say which protocol computed it) and ValueError for an unknown protocol.
    """
    check_protocol(protocol)
    for name, result in results.items():
        if not isinstance(result, EvalResult):
            raise TypeError(f"results[{name!r}] is a {type(result).__name__}, not an EvalResult: "
                            "tables and plots compute their scores under the protocol they name")
    return {name: result.by_protocol[protocol] for name, result in results.items()}


def any_smoke(results) -> bool:
    """Whether any of ``results`` (EvalResults) came from the smoke path's tiny random model."""
    return any(r.smoke for r in results)


def title_with_notes(title: str, note: str | None, smoke: bool) -> str:
    """The title with the caller's note and, in smoke mode, the smoke note under it."""
    lines = [title, note, SMOKE_NOTE if smoke else None]
    return "\n".join(dict.fromkeys(line for line in lines if line))


def show_random_elements(dataset, num_examples: int = 3, seed: int | None = None,
                         columns: Sequence[str] = ("id", "topic", "dialogue", "summary"),
                         width: int = 100) -> TextBlock:
    """``num_examples`` random rows as wrapped text, one block per row (id and topic on its first
    line, then each of the other ``columns`` under its name), so a dialogue shows its turns on
    lines of at most ``width`` characters instead of escaped ``\\n`` in a wide table.

    Raises ValueError when the split has fewer rows than ``num_examples``.
    """
    if num_examples > len(dataset):
        raise ValueError(f"can't pick {num_examples} rows from a split of {len(dataset)}")
    rng = random.Random(seed)
    picks = rng.sample(range(len(dataset)), num_examples)
    cols = [c for c in columns if c in dataset.column_names]
    line, blocks = "-" * width, []
    for i in picks:
        row = dataset[i]
        head = [f"{c}: {row[c]}" for c in cols if c in ("id", "topic")]
        block = [line, f"row {i}" + (" | " + " | ".join(head) if head else "")]
        for c in cols:
            if c not in ("id", "topic"):
                block += [f"{c.upper()}:", wrap_lines(str(row[c]), width)]
        blocks.append("\n".join(block))
    return TextBlock("\n".join([*blocks, line]))


def rouge_table(results: Mapping[str, EvalResult], baseline: str | None = None,
                improved: str | None = None, protocol: str = "mean", intervals: bool = False):
    """ROUGE F-measures per model under ``protocol`` as a DataFrame (rows: models, columns:
    rouge1/2/L/Lsum, fractions rounded to 4 digits), plus the absolute improvement row.

    The scores are computed here from ``results`` (name -> EvalResult), so the row header's
    protocol is the one they were computed under; when any result comes from the smoke model the
    table is a :class:`~dialogsum_peft.display.CaptionedTable` under :data:`SMOKE_NOTE`. Raises
    TypeError/ValueError as :func:`scores_under`.
    """
    scores = scores_under(results, protocol)
    table = pd.DataFrame({name: {k: s[k] for k in ROUGE_TYPES} for name, s in scores.items()}).T
    if baseline and improved:
        table.loc[f"{improved} - {baseline}"] = table.loc[improved] - table.loc[baseline]
    table = table.round(4)
    if intervals:
        table = _with_intervals(table, results, baseline, improved, protocol)
    table.index.name = f"ROUGE F-measure, protocol: {protocol}"
    return captioned(table, smoke_caption(results.values()))


def _with_intervals(table, results, baseline, improved, protocol):
    """``table`` with a "95% CI" column after each metric: each model's bootstrap interval, and
    the paired interval of the improvement row (:mod:`dialogsum_peft.intervals`)."""
    import pandas as pd

    from .intervals import difference_intervals, rouge_intervals

    cis = {name: rouge_intervals(r.pair_scores, protocol) for name, r in results.items()}
    if baseline and improved:
        diff = difference_intervals(results[baseline].pair_scores, results[improved].pair_scores,
                                    protocol)
        cis[f"{improved} - {baseline}"] = {k: d["ci95"] for k, d in diff.items()}
    columns = {}
    for k in ROUGE_TYPES:
        columns[k] = table[k]
        columns[f"{k} 95% CI"] = pd.Series({row: f"{cis[row][k][0]:.3f} to {cis[row][k][1]:.3f}"
                                            for row in table.index})
    out = pd.DataFrame(columns, index=table.index)
    out.index.name, out.columns.name = table.index.name, table.columns.name  # protocol, smoke
    return out


def protocol_table(results: Mapping[str, EvalResult],
                   published: Sequence[PublishedFigure] = PUBLISHED):
    """Our models under every protocol, each published figure beside the rows of its protocol.

    ``results`` maps a model name to an :class:`~dialogsum_peft.metrics.EvalResult`. Rows are
    indexed by (protocol, model); the ``source`` column says "ours" or "published: <source>".
    Metrics a source does not report show :data:`NOT_REPORTED`, never a number. The caption
    names the scores and, when a result comes from the smoke model, carries :data:`SMOKE_NOTE`.
    """
    index, rows = [], []
    for protocol in MULTI_REF_PROTOCOLS:
        for name, scores in scores_under(results, protocol).items():
            index.append((protocol, name))
            rows.append({"source": "ours", **{k: scores[k] for k in ROUGE_TYPES}})
        for figure in published:
            if figure.protocol == protocol:
                index.append((protocol, figure.setup))
                rows.append({"source": f"published: {figure.source}", **figure.scores})
    table = pd.DataFrame(rows, columns=[*ROUGE_TYPES, "source"],
                         index=pd.MultiIndex.from_tuples(index, names=["protocol", "model"]))
    table = table.round(4).astype(object).where(table.notna(), NOT_REPORTED)
    return captioned(table, "\n".join(filter(None, ["ROUGE F-measure",
                                                     smoke_caption(results.values())])))


def plot_rouge_comparison(results: Mapping[str, EvalResult], title: str = "ROUGE on DialogSum",
                          note: str | None = None, protocol: str = "mean"):
    """Grouped bars of rouge1/2/L/Lsum per model with 95% bootstrap intervals as error bars
    (:func:`dialogsum_peft.intervals.rouge_intervals`), the improvement of the last over the
    first on top.

    The scores are computed here from ``results`` under ``protocol``, which the y axis names; the
    title carries ``note`` and, when a result comes from the smoke model, the smoke note.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from .intervals import rouge_intervals

    scores = scores_under(results, protocol)
    names = list(scores)
    x = np.arange(len(ROUGE_TYPES))
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    tops = [0.0] * len(ROUGE_TYPES)  # the highest bar or interval of each metric
    for i, name in enumerate(names):
        values = [scores[name][k] for k in ROUGE_TYPES]
        ci = rouge_intervals(results[name].pair_scores, protocol)  # 95% bootstrap intervals
        errors = [[v - ci[k][0] for v, k in zip(values, ROUGE_TYPES)],
                  [ci[k][1] - v for v, k in zip(values, ROUGE_TYPES)]]
        bars = ax.bar(x + (i - (len(names) - 1) / 2) * width, values, width, label=name,
                      yerr=errors, capsize=3, error_kw={"elinewidth": 1})
        ax.bar_label(bars, fmt="%.3f", fontsize=8, label_type="center", color="white")
        tops = [max(t, hi) for t, hi in zip(tops, (ci[k][1] for k in ROUGE_TYPES))]
    if len(names) >= 2:
        first, last = scores[names[0]], scores[names[-1]]
        for j, k in enumerate(ROUGE_TYPES):
            delta = last[k] - first[k]
            ax.annotate(f"{delta:+.3f}", (x[j], tops[j]), xytext=(0, 6), textcoords="offset points",
                        ha="center", fontsize=9, fontweight="bold",
                        color="tab:green" if delta >= 0 else "tab:red")
    ax.set_xticks(x, ROUGE_TYPES)
    ax.set_ylabel(f"ROUGE F-measure (protocol: {protocol})")
    ax.set_ylim(0, max(0.1, max(tops) * 1.25))
    ax.set_title(title_with_notes(title, note, any_smoke(results.values())))
    ax.legend(loc="upper right", title="error bars: 95% bootstrap interval", title_fontsize=8)
    fig.tight_layout()
    return fig


def plot_loss_curve(trainer, title: str = "LoRA training loss", note: str | None = None):
    """Training loss against step of a trained ``transformers.Trainer``
    (:func:`dialogsum_peft.trainer.loss_history`) and the validation loss where it was computed
    (:func:`~dialogsum_peft.trainer.validation_loss_history`); the title carries ``note`` and,
    when the trainer's model is the smoke path's tiny random T5, the smoke note. Raises
    ValueError when no loss was logged."""
    import matplotlib.pyplot as plt

    from .offline import is_smoke_model
    from .trainer import loss_history, validation_loss_history

    history, smoke = loss_history(trainer), is_smoke_model(trainer.model)
    if not history:
        raise ValueError("no logged losses to plot (train for at least logging_steps steps)")
    steps, losses = zip(*history)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(steps, losses, marker="o", markersize=3, label="training (mean since the last log)")
    validation = validation_loss_history(trainer)
    if validation:
        v_steps, v_losses = zip(*validation)
        ax.plot(v_steps, v_losses, marker="s", markersize=4, label="validation split")
        ax.legend()
    ax.set_xlabel("step")
    ax.set_ylabel("loss (cross-entropy per summary token)")
    ax.set_title(title_with_notes(title, note, smoke))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def side_by_side(dataset, results: Mapping[str, EvalResult], indices: Sequence[int],
                 width: int = 100) -> TextBlock:
    """Dialogue, human summary and each model's summary (from its EvalResult on ``dataset``) for
    the rows ``indices``, as wrapped text blocks (:func:`format_example`, one per row).

    When a result comes from the smoke model the first line is :data:`SMOKE_NOTE`. Raises
    TypeError for results that are not EvalResults.
    """
    scores_under(results, "mean")  # EvalResults only
    blocks = [SMOKE_NOTE] if any_smoke(results.values()) else []
    for i in indices:
        blocks.append(f"id: {dataset[i]['id']}")
        blocks.append(format_example(dataset[i]["dialogue"], dataset[i]["summary"],
                                     {name: r.predictions[i] for name, r in results.items()},
                                     width=width))
    return TextBlock("\n".join(blocks))


def format_example(dialogue: str, human: str, summaries: Mapping[str, str],
                   references: Sequence[str] | None = None, width: int = 100,
                   protocol: str = "mean") -> str:
    """A printable block: dialogue (one line per turn, wrapped), human summary, each model's
    summary and, with
    ``references`` (the dialogue's human summaries), its ROUGE-1/2/L against them, computed here
    under ``protocol``, which the line names."""
    check_protocol(protocol)
    names = list(summaries)
    rouge = dict(zip(names, rouge_per_example([summaries[n] for n in names],
                                              [list(references)] * len(names), protocol))
                 ) if references else {}
    line = "-" * width
    out = [line, "DIALOGUE:", wrap_lines(dialogue, width), line, "HUMAN SUMMARY:", textwrap.fill(human, width)]
    for name, text in summaries.items():
        out += [line, f"{name.upper()}:", textwrap.fill(text or "(empty)", width)]
        if rouge and name in rouge:
            r = rouge[name]
            out.append(f"  ROUGE-1 {r['rouge1']:.3f} | ROUGE-2 {r['rouge2']:.3f} | "
                       f"ROUGE-L {r['rougeL']:.3f} (protocol: {protocol})")
    out.append(line)
    return "\n".join(out)


def save_figure(fig, path) -> None:
    """Write ``fig`` as a PNG file and free it (headless: the Agg backend, no window)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=120)
    plt.close(fig)

"""Tables and plots the notebook and the command line show.

Why: people would rather look than read. A ROUGE table with the absolute improvement, a bar chart
of the same, a loss curve, and side-by-side summaries say more than printed dicts, and both the
notebook and ``python -m dialogsum_peft evaluate`` draw them with the same code.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from .metrics import ROUGE_TYPES


def show_random_elements(dataset, num_examples: int = 3, seed: int | None = None,
                         columns: Sequence[str] = ("id", "topic", "dialogue", "summary")):
    """A pandas DataFrame of ``num_examples`` random rows (like the Hugging Face notebooks)."""
    import pandas as pd

    if num_examples > len(dataset):
        raise ValueError(f"can't pick {num_examples} rows from a split of {len(dataset)}")
    rng = random.Random(seed)
    picks = rng.sample(range(len(dataset)), num_examples)
    cols = [c for c in columns if c in dataset.column_names]
    return pd.DataFrame([{c: dataset[i][c] for c in cols} for i in picks], index=picks)


def rouge_table(scores: Mapping[str, Mapping[str, float]], baseline: str | None = None,
                improved: str | None = None):
    """ROUGE scores per model as a DataFrame (rows: models), plus the absolute improvement row."""
    import pandas as pd

    table = pd.DataFrame({name: {k: s[k] for k in ROUGE_TYPES} for name, s in scores.items()}).T
    if baseline and improved:
        table.loc[f"{improved} - {baseline}"] = table.loc[improved] - table.loc[baseline]
    return table.round(4)


def plot_rouge_comparison(scores: Mapping[str, Mapping[str, float]], title: str = "ROUGE on DialogSum",
                          note: str | None = None):
    """Grouped bars of rouge1/2/L/Lsum per model, the improvement of the last over the first on top."""
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(scores)
    x = np.arange(len(ROUGE_TYPES))
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, name in enumerate(names):
        values = [scores[name][k] for k in ROUGE_TYPES]
        bars = ax.bar(x + (i - (len(names) - 1) / 2) * width, values, width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=8)
    if len(names) >= 2:
        first, last = scores[names[0]], scores[names[-1]]
        for j, k in enumerate(ROUGE_TYPES):
            delta = last[k] - first[k]
            top = max(last[k], first[k])
            ax.annotate(f"{delta:+.3f}", (x[j], top), xytext=(0, 14), textcoords="offset points",
                        ha="center", fontsize=9, fontweight="bold",
                        color="tab:green" if delta >= 0 else "tab:red")
    ax.set_xticks(x, ROUGE_TYPES)
    ax.set_ylabel("F-measure")
    ymax = max(max(s[k] for k in ROUGE_TYPES) for s in scores.values())
    ax.set_ylim(0, max(0.1, ymax * 1.3))
    ax.set_title(title if not note else f"{title}\n{note}")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_loss_curve(history: Sequence[tuple[int, float]], title: str = "LoRA training loss",
                    note: str | None = None):
    """Training loss against step, from :func:`dialogsum_peft.training.loss_history`."""
    import matplotlib.pyplot as plt

    if not history:
        raise ValueError("no logged losses to plot (train for at least logging_steps steps)")
    steps, losses = zip(*history)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(steps, losses, marker="o", markersize=3)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title(title if not note else f"{title}\n{note}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def side_by_side(dataset, predictions: Mapping[str, Sequence[str]], indices: Sequence[int]):
    """DataFrame of dialogue, human summary and each model's summary for the given rows."""
    import pandas as pd

    rows = []
    for i in indices:
        row = {"id": dataset[i]["id"], "dialogue": dataset[i]["dialogue"],
               "human summary": dataset[i]["summary"]}
        row.update({name: preds[i] for name, preds in predictions.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def format_example(dialogue: str, human: str, summaries: Mapping[str, str],
                   rouge: Mapping[str, Mapping[str, float]] | None = None, width: int = 100) -> str:
    """A printable block: dialogue, human summary, each model's summary with its ROUGE-1/L."""
    import textwrap

    line = "-" * width
    out = [line, "DIALOGUE:", dialogue, line, "HUMAN SUMMARY:", textwrap.fill(human, width)]
    for name, text in summaries.items():
        out += [line, f"{name.upper()}:", textwrap.fill(text or "(empty)", width)]
        if rouge and name in rouge:
            r = rouge[name]
            out.append(f"  ROUGE-1 {r['rouge1']:.3f} | ROUGE-2 {r['rouge2']:.3f} | "
                       f"ROUGE-L {r['rougeL']:.3f}")
    out.append(line)
    return "\n".join(out)

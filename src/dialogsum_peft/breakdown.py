"""Where a model fails: ROUGE by dialogue length and by topic, and the dialogues it lost most on.

Why: one corpus score says how much better LoRA is on average, not where. Long dialogues (some
longer than the model's input limit, so cut), rare topics and the few dialogues where the tuned
model does worse than zero-shot are where a reader learns what fine-tuning changed. Every number
here is a corpus score of a subset under the chosen protocol (:func:`metrics.aggregate` on the
subset's pair scores), so a bin's score means what the headline table's score means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .metrics import aggregate, check_protocol, per_example

LENGTH_BINS = (0, 128, 256, 384, 512)  # prompt tokens; the last bin is "512 and more" (cut)


def _bin_label(edges: Sequence[int], i: int) -> str:
    if i == len(edges) - 1:
        return f">= {edges[i]} (cut)" if edges[i] >= 512 else f">= {edges[i]}"
    return f"{edges[i]}-{edges[i + 1] - 1}"


def _subset_table(results: Mapping, groups: dict[str, list[int]], protocol: str, metric: str,
                  index_name: str):
    import pandas as pd

    rows = {}
    for label, indices in groups.items():
        if not indices:
            continue
        row = {"dialogues": len(indices)}
        for name, result in results.items():
            row[name] = round(aggregate([result.pair_scores[i] for i in indices], protocol)[metric], 4)
        rows[label] = row
    from .display import captioned
    from .reporting import smoke_caption

    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = f"{index_name} ({metric} F-measure, protocol: {protocol})"
    return captioned(table, smoke_caption(results.values()))  # the mark from the results


def rouge_by_length(results: Mapping, prompt_tokens: Sequence[int], protocol: str = "mean",
                    metric: str = "rouge1", bins: Sequence[int] = LENGTH_BINS):
    """A DataFrame: one row per length bin of the prompt in tokens (untruncated), its number of
    dialogues and each model's corpus ``metric`` on them. ``results`` maps a model's name to its
    :class:`~dialogsum_peft.metrics.EvalResult`; ``prompt_tokens[i]`` is dialogue i's prompt
    length. Empty bins are left out. Raises ValueError when the lengths do not match."""
    check_protocol(protocol)
    n = len(next(iter(results.values())).pair_scores)
    if len(prompt_tokens) != n:
        raise ValueError(f"{len(prompt_tokens)} lengths for {n} dialogues")
    groups: dict[str, list[int]] = {_bin_label(bins, i): [] for i in range(len(bins))}
    for j, length in enumerate(prompt_tokens):
        i = max(k for k, edge in enumerate(bins) if length >= edge)
        groups[_bin_label(bins, i)].append(j)
    return _subset_table(results, groups, protocol, metric, "prompt tokens")


def rouge_by_topic(results: Mapping, topics: Sequence[str], protocol: str = "mean",
                   metric: str = "rouge1", top: int = 8):
    """A DataFrame: the ``top`` most frequent topics (DialogSum's ``topic`` column), their number
    of dialogues and each model's corpus ``metric`` on them, most frequent first. Dialogues
    without a topic are left out."""
    check_protocol(protocol)
    groups: dict[str, list[int]] = {}
    for j, topic in enumerate(topics):
        if topic:
            groups.setdefault(topic, []).append(j)
    frequent = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    return _subset_table(results, dict(frequent), protocol, metric, "topic")


def largest_losses(baseline, tuned, k: int = 3, protocol: str = "mean",
                   metric: str = "rouge1") -> list[tuple[int, float]]:
    """The ``k`` dialogues where ``tuned`` scored furthest below ``baseline`` (two EvalResults
    of the same dialogues): ``[(index, tuned - baseline), ...]``, largest loss first; only
    dialogues where it did lose (an empty list when it never did)."""
    check_protocol(protocol)
    before, after = per_example(baseline.pair_scores, protocol), per_example(tuned.pair_scores, protocol)
    deltas = [(i, a[metric] - b[metric]) for i, (b, a) in enumerate(zip(before, after))]
    return sorted((d for d in deltas if d[1] < 0), key=lambda d: d[1])[:k]


def plot_rouge_by_length(table):
    """Grouped bars of a :func:`rouge_by_length` table (one group per bin, labelled with its
    number of dialogues); the y axis names the table's protocol and the title carries the smoke
    note when the table does (both set by the table from its results)."""
    import matplotlib.pyplot as plt

    from .reporting import SMOKE_NOTE, title_with_notes

    models = [c for c in table.columns if c != "dialogues"]
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    width = 0.8 / max(1, len(models))
    for i, name in enumerate(models):
        xs = [x + i * width for x in range(len(table))]
        ax.bar(xs, table[name], width, label=name)
    ax.set_xticks([x + width * (len(models) - 1) / 2 for x in range(len(table))])
    ax.set_xticklabels([f"{label}\n({n} dialogues)" for label, n in zip(table.index, table["dialogues"])])
    ax.set_xlabel("prompt length in tokens")
    ax.set_ylabel(table.index.name.split("(")[1].rstrip(")"))
    ax.set_title(title_with_notes("ROUGE by dialogue length", None,
                                  getattr(table, "caption", None) == SMOKE_NOTE))
    ax.legend()
    return fig

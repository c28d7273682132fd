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
Published figures (:mod:`dialogsum_peft.published`) are kept apart from ours, with their source
and protocol, so they are only compared like for like.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Mapping, Sequence

import pandas as pd

from .display import (SMOKE_NOTE, TextBlock, any_smoke, captioned, counted, format_example,
                      smoke_caption, title_with_notes, wrap_lines)
from .metrics import MULTI_REF_PROTOCOLS, ROUGE_TYPES, EvalResult, check_protocol
from .published import NOT_REPORTED, PUBLISHED, PublishedFigure

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
    the paired interval of the improvement row (:mod:`dialogsum_peft.intervals`); "not
    estimable: <reason>" where an interval cannot be estimated (too few dialogues, no spread)."""
    from .intervals import difference_intervals, format_interval, rouge_intervals

    cis = {name: rouge_intervals(r.pair_scores, protocol) for name, r in results.items()}
    if baseline and improved:
        diff = difference_intervals(results[baseline].pair_scores, results[improved].pair_scores,
                                    protocol)
        cis[f"{improved} - {baseline}"] = {k: d["ci95"] for k, d in diff.items()}
    columns = {}
    for k in ROUGE_TYPES:
        columns[k] = table[k]
        columns[f"{k} 95% CI"] = pd.Series({row: format_interval(cis[row][k]) for row in table.index})
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
    first on top. A bar whose interval cannot be estimated (too few dialogues, no spread) has no
    error bar but "no CI" on it, and the legend says why.

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
    missing: dict[str, None] = {}  # the reasons of intervals that cannot be estimated
    for i, name in enumerate(names):
        values = [scores[name][k] for k in ROUGE_TYPES]
        ci = rouge_intervals(results[name].pair_scores, protocol)  # 95% bootstrap intervals
        his = [ci[k].high if ci[k].estimable else v for v, k in zip(values, ROUGE_TYPES)]
        los = [ci[k].low if ci[k].estimable else v for v, k in zip(values, ROUGE_TYPES)]
        xs = x + (i - (len(names) - 1) / 2) * width
        bars = ax.bar(xs, values, width, label=name, yerr=[np.subtract(values, los),
                      np.subtract(his, values)], capsize=3, error_kw={"elinewidth": 1})
        ax.bar_label(bars, fmt="%.3f", fontsize=8, label_type="center", color="white")
        for j, k in enumerate(ROUGE_TYPES):
            if not ci[k].estimable:  # no error bar: say so on the bar, not a zero-width bar
                missing[ci[k].reason] = None
                ax.annotate("no CI", (xs[j], values[j]), xytext=(0, 2), ha="center",
                            textcoords="offset points", fontsize=7, color="dimgray")
        tops = [max(t, hi) for t, hi in zip(tops, his)]
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
    legend = "error bars: 95% bootstrap interval"
    if missing:
        legend += "\nno CI: not estimable (" + "; ".join(missing) + ")"
    ax.legend(loc="upper right", title=legend, title_fontsize=8)
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
    from .trainer_parts import loss_history, validation_loss_history

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
    TypeError for results that are not EvalResults, ValueError for results of another split and
    :class:`~dialogsum_peft.errors.SplitIndexError` for an index outside ``dataset``
    (:func:`~dialogsum_peft.evaluation.check_index`).
    """
    from .evaluation import check_index

    scores_under(results, "mean")  # EvalResults only
    for name, result in results.items():
        if len(result.predictions) != len(dataset):
            raise ValueError(f"results[{name!r}] holds {len(result.predictions)} predictions for "
                             f"a split of {len(dataset)} dialogues: not this split's results")
    indices = [check_index(dataset, i) for i in indices]
    blocks = [SMOKE_NOTE] if any_smoke(results.values()) else []
    for i in indices:
        blocks.append(f"id: {dataset[i]['id']}")
        blocks.append(format_example(dataset[i]["dialogue"], dataset[i]["summary"],
                                     {name: r.predictions[i] for name, r in results.items()},
                                     width=width))
    return TextBlock("\n".join(blocks))


# ------------------------------------------------------------- the notebooks' set-up reports
RUNTIME_HINT = "Runtime -> Change runtime type -> GPU"


def environment_report(info=None, versions: dict[str, str] | None = None) -> str:
    """Library versions and the device (``info``: a :class:`~dialogsum_peft.hardware.DeviceInfo`,
    this machine's by default), with one ``WARNING:`` line for each combination of versions known
    to break a notebook (:data:`~dialogsum_peft.versions.BREAKAGES`: the versions, what fails,
    the fix). ``versions``: the installed libraries' (:func:`~dialogsum_peft.versions.library_versions`)
    unless given. It runs before the mode is chosen, so on a CPU-only runtime it says what a GPU
    is needed for and where to get one, without a warning: the configuration
    (:func:`~dialogsum_peft.trainer.notebook_config`) warns when the run it sets up would train
    flan-t5-base on the CPU, and says nothing of the kind for a smoke run, which is meant for it."""
    from .hardware import describe_device
    from .versions import BREAKAGES, library_versions

    info = info or describe_device()
    installed = library_versions()
    versions = {**installed, **(versions or {})}
    lines = [f"{name:<16}{versions[name]}" for name in installed]
    lines.append(f"{'python':<16}{sys.version.split()[0]}")
    lines += [f"WARNING: {b.message(versions)}" for b in BREAKAGES
              if b.in_notebooks and b.applies(versions)]
    if info.kind == "cuda":
        lines.append(f"{'device':<16}GPU: {info.name}, {info.total_memory_gib:.1f} GiB, "
                     f"{'bf16 supported' if info.bf16 else 'no bf16 (fp32 will be used)'}")
    else:
        lines.append(f"{'device':<16}CPU only: enough for the smoke mode (a tiny model, minutes); "
                     "training flan-t5-base (full mode) needs a GPU, in Colab: "
                     f"{RUNTIME_HINT} (a T4 is free)")
    return "\n".join(lines)


def settings_table(configs):
    """The settings a learner should read, at most 12 rows (pandas DataFrame of strings): model,
    data, method and its own settings, learning rate, training length, effective batch (batch x
    accumulation), precision, token lengths, test dialogues scored.

    One config: one column, without the rows its method does not have. A mapping (name ->
    config): one column per method, :data:`~dialogsum_peft.methods.NOT_APPLICABLE` where a setting does not apply. The
    full list is ``config.to_dict()``.
    """
    from .config import TrainConfig
    from .methods import NOT_APPLICABLE, method_settings

    single = isinstance(configs, TrainConfig)
    columns = {"setting": configs} if single else dict(configs)
    table = {}
    for name, c in columns.items():
        length = (f"{c.max_steps} steps" if c.max_steps > 0 else f"{c.num_train_epochs:g} epochs")
        table[name] = {
            "model": c.model_name, "data": c.dataset_source, "method": c.method,
            **method_settings(c),
            "learning rate": f"{c.learning_rate:g}",
            "training length": length,
            "effective batch = batch x accumulation": f"{c.effective_batch} = "
            f"{c.per_device_train_batch_size} x {c.gradient_accumulation_steps}",
            "precision": c.precision,
            "tokens: prompt / summary": f"{c.max_source_length} / {c.max_target_length}",
            "test dialogues scored": "all" if c.eval_limit is None else str(c.eval_limit),
        }
    frame = pd.DataFrame(table)
    if single:
        frame = frame[frame["setting"] != NOT_APPLICABLE]
    return frame


def example_report(dataset, index: int, summaries: Mapping[str, str], smoke: bool = False,
                   show_prompt: bool = False) -> str:
    """One test dialogue: its text (or the full prompt), the human summary, each model's summary
    with its own ROUGE against all the dialogue's references; the smoke banner on top in smoke mode.
    Raises :class:`~dialogsum_peft.errors.SplitIndexError` naming the split's size for an
    ``index`` outside ``dataset`` (:func:`~dialogsum_peft.evaluation.check_index`).
    """
    from .data import build_prompt
    from .evaluation import check_index
    from .offline import smoke_banner

    row = dataset[check_index(dataset, index)]
    text = build_prompt(row["dialogue"]) if show_prompt else row["dialogue"]
    header = (f"test dialogue #{index} (id {row['id']}, "
              f"{counted(len(row['references']), 'human reference')})")
    body = format_example(text, row["summary"], summaries, row["references"])
    if show_prompt:
        body = body.replace("DIALOGUE:", "PROMPT (what the model reads):", 1)
    parts = [smoke_banner()] if smoke else []
    return "\n".join(parts + [header, body])


def plot_rouge_by_length(table):
    """Grouped bars of a :func:`rouge_by_length` table (one group per bin, labelled with its
    number of dialogues); the y axis names the table's protocol and the title carries the smoke
    note when the table does (both set by the table from its results)."""
    import matplotlib.pyplot as plt
    models = [c for c in table.columns if c != "dialogues"]
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    width = 0.8 / max(1, len(models))
    for i, name in enumerate(models):
        xs = [x + i * width for x in range(len(table))]
        ax.bar(xs, table[name], width, label=name)
    ax.set_xticks([x + width * (len(models) - 1) / 2 for x in range(len(table))])
    ax.set_xticklabels([f"{label}\n({counted(n, 'dialogue')})"
                        for label, n in zip(table.index, table["dialogues"])])
    ax.set_xlabel("prompt length in tokens")
    ax.set_ylabel(table.index.name.split("(")[1].rstrip(")"))
    ax.set_title(title_with_notes("ROUGE by dialogue length", None,
                                  getattr(table, "caption", None) == SMOKE_NOTE))
    ax.legend()
    return fig


# ------------------------------------------------------------- on how many dialogues
def win_table(results: Mapping[str, EvalResult], baseline: str, improved: str,
              protocol: str = "mean", rouge_types: Sequence[str] | str = ("rouge1",)):
    """On how many test dialogues ``improved`` scores higher than, equal to and lower than
    ``baseline`` (:func:`dialogsum_peft.wins.win_shares`): one row per ROUGE type
    (``rouge_types``: names, or ``"all"``), each outcome as "k of n (share)" and its 95% Wilson
    interval ("not estimable: <reason>" under 10 dialogues). The row header names the protocol of
    the per-dialogue scores; results of the smoke model put the table under :data:`SMOKE_NOTE`.
    Raises TypeError/ValueError as :func:`scores_under` and for an unknown ROUGE type.
    """
    from .wins import OUTCOMES, format_share_ci, win_shares

    scores_under(results, protocol)  # EvalResults only, a known protocol
    types = ROUGE_TYPES if rouge_types == "all" else tuple(rouge_types)
    rows = {}
    for k in types:
        shares = win_shares(results[baseline], results[improved], protocol, k)
        row = {}
        for outcome in OUTCOMES:
            s = shares[outcome]
            row[outcome] = f"{s.dialogues} of {s.total} ({s.share:.0%})"
            row[f"{outcome} 95% CI"] = format_share_ci(s.ci95)
        rows[k] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = f"ROUGE F-measure per dialogue, protocol: {protocol}"
    title = (f"Test dialogues where {improved} scores higher than, equal to, lower than "
             f"{baseline} (95% Wilson intervals)")
    return captioned(table, "\n".join(filter(None, [title, smoke_caption(results.values())])))

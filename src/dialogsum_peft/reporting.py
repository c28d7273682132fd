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

from collections.abc import Mapping, Sequence

import pandas as pd

from .display import SCORE_DIGITS, any_smoke, captioned, ours, smoke_caption, title_with_notes
from .errors import ConfigError, WrongTypeError
from .metrics import MULTI_REF_PROTOCOLS, ROUGE_TYPES, EvalResult, check_protocol
from .published import NOT_REPORTED, PUBLISHED, PublishedFigure
from .wording import counted


def scores_under(results: Mapping[str, EvalResult], protocol: str) -> dict[str, dict[str, float]]:
    """``{name: corpus ROUGE under protocol}`` from results objects.

    Raises TypeError for anything but :class:`EvalResult` values (a bare score dict does not
    say which protocol computed it) and ValueError for an unknown protocol.
    """
    check_protocol(protocol)
    for name, result in results.items():
        if not isinstance(result, EvalResult):
            raise WrongTypeError(
                f"results[{name!r}] is a {type(result).__name__}, not an EvalResult: "
                "tables and plots compute their scores under the protocol they name"
            )
    return {name: result.by_protocol[protocol] for name, result in results.items()}


def rouge_table(
    results: Mapping[str, EvalResult],
    baseline: str | None = None,
    improved: str | None = None,
    protocol: str = "mean",
    intervals: bool = False,
):
    """ROUGE F-measures per model under ``protocol`` as a DataFrame (rows: models, columns:
    rouge1/2/L/Lsum, fractions rounded to and shown with 4 decimals), plus the absolute
    improvement row.

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
    return captioned(table, smoke_caption(results.values()), digits=SCORE_DIGITS)


def _with_intervals(table, results, baseline, improved, protocol):
    """``table`` with a "95% CI" column after each metric: each model's bootstrap interval, and
    the paired interval of the improvement row (:mod:`dialogsum_peft.intervals`); "not
    estimable: <reason>" where an interval cannot be estimated (too few dialogues, no spread)."""
    from .intervals import difference_intervals, format_interval, rouge_intervals

    cis = {name: rouge_intervals(r.pair_scores, protocol) for name, r in results.items()}
    if baseline and improved:
        diff = difference_intervals(
            results[baseline].pair_scores, results[improved].pair_scores, protocol
        )
        cis[f"{improved} - {baseline}"] = {k: d["ci95"] for k, d in diff.items()}
    columns = {}
    for k in ROUGE_TYPES:
        columns[k] = table[k]
        columns[f"{k} 95% CI"] = pd.Series(
            {row: format_interval(cis[row][k]) for row in table.index}
        )
    out = pd.DataFrame(columns, index=table.index)
    out.index.name, out.columns.name = table.index.name, table.columns.name  # protocol, smoke
    return out


def protocol_table(
    results: Mapping[str, EvalResult], published: Sequence[PublishedFigure] = PUBLISHED
):
    """Our models under every protocol, each published figure beside the rows of its protocol.

    ``results`` maps a model name to an :class:`~dialogsum_peft.metrics.EvalResult`. Rows are
    indexed by (protocol, model); the ``source`` column says "ours" (:data:`OURS_SMOKE` for the
    smoke model) or "published: <source>". Metrics a source does not report show
    :data:`NOT_REPORTED`, never a number. The caption names the scores and, when a result comes
    from the smoke model, carries :data:`SMOKE_NOTE`.
    """
    index, rows = [], []
    for protocol in MULTI_REF_PROTOCOLS:
        for name, scores in scores_under(results, protocol).items():
            index.append((protocol, name))
            rows.append(
                {"source": ours(results[name].smoke), **{k: scores[k] for k in ROUGE_TYPES}}
            )
        for figure in published:
            if figure.protocol == protocol:
                index.append((protocol, figure.setup))
                rows.append({"source": f"published: {figure.source}", **figure.scores})
    table = pd.DataFrame(
        rows,
        columns=[*ROUGE_TYPES, "source"],
        index=pd.MultiIndex.from_tuples(index, names=["protocol", "model"]),
    )
    table = table.round(4).astype(object).where(table.notna(), NOT_REPORTED)
    caption = "\n".join(filter(None, ["ROUGE F-measure", smoke_caption(results.values())]))
    return captioned(table, caption, digits=SCORE_DIGITS)


def dialogues_of(source, n: int, split: str | None = "test") -> str:
    """What a title or caption calls ``n`` dialogues of the ``split`` split of the data a run
    read (``source``: a config's ``dataset_source``): "500 test dialogues of DialogSum", "10
    test dialogues of the project's small offline sample", "12 test dialogues of my_data"
    (:func:`~dialogsum_peft.offline.describe_data`, as the smoke banner and the model card name
    it), so a label never calls the shipped sample or one's own data DialogSum. ``split``
    ``None``: "10 dialogues of ..."."""
    from .offline import describe_data

    noun = f"{split} dialogue" if split else "dialogue"
    return f"{counted(n, noun)} of {describe_data(source)}"


def _label_above(ax, text: str, xy: tuple[float, float], points: float, **style) -> None:
    """``text`` centred ``points`` typographic points above ``xy`` (data coordinates)."""
    ax.annotate(text, xy, xytext=(0, points), textcoords="offset points", ha="center", **style)


def plot_rouge_comparison(
    results: Mapping[str, EvalResult],
    title: str = "ROUGE",
    note: str | None = None,
    protocol: str = "mean",
):
    """Grouped bars of rouge1/2/L/Lsum per model with 95% bootstrap intervals as error bars
    (:func:`dialogsum_peft.intervals.rouge_intervals`), the improvement of the last over the
    first on top. A bar whose interval cannot be estimated (too few dialogues, no spread) has no
    error bar but "no CI" above it. Each value is written inside its bar, or above it when the
    bar is too short to hold it (a zero-height bar's label and its "no CI" are stacked, never
    drawn over each other). The legend, below the axes, names the models and only what is
    drawn: "error bars: ..." when there is one, "no CI: not estimable (why)" when there is one.

    The scores are computed here from ``results`` under ``protocol``, which the y axis names; the
    title carries ``note`` and, when a result comes from the smoke model, the smoke note. The
    title names no data unless the caller's does (:func:`dialogues_of`: the results do not know
    what they were scored on).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from .intervals import rouge_intervals

    scores = scores_under(results, protocol)
    names = list(scores)
    x = np.arange(len(ROUGE_TYPES))
    width = 0.8 / max(1, len(names))
    cis = {name: rouge_intervals(results[name].pair_scores, protocol) for name in names}
    highs = {  # the top of each bar or of its error bar
        name: [
            cis[name][k].high if cis[name][k].estimable else scores[name][k] for k in ROUGE_TYPES
        ]
        for name in names
    }
    tops = [max([0.0, *(highs[name][j] for name in names)]) for j in range(len(ROUGE_TYPES))]
    y_top = max(0.1, max(tops) * 1.4)  # room above for the labels
    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    above = [0.0] * len(ROUGE_TYPES)  # points of labels stacked above each group's bars
    missing: dict[str, None] = {}  # the reasons of intervals that cannot be estimated
    for i, name in enumerate(names):
        values = [scores[name][k] for k in ROUGE_TYPES]
        ci = cis[name]
        xs = x + (i - (len(names) - 1) / 2) * width
        ax.bar(xs, values, width, label=name)
        at = [j for j, k in enumerate(ROUGE_TYPES) if ci[k].estimable]  # NaN: matplotlib 3.7 warns
        if at:  # error bars where an interval exists
            ys, shown = [values[j] for j in at], [ci[ROUGE_TYPES[j]] for j in at]
            yerr = [[y - c.low for y, c in zip(ys, shown)], [c.high - y for y, c in zip(ys, shown)]]
            ax.errorbar(xs[at], ys, yerr, fmt="none", ecolor="black", capsize=3, elinewidth=1)
        for j, k in enumerate(ROUGE_TYPES):
            lines = []  # written above the bar (or its error bar), bottom up
            if values[j] >= 0.12 * y_top:  # tall enough to hold its value
                style = dict(fontsize=8, color="white", ha="center", va="center")
                ax.text(xs[j], values[j] / 2, f"{values[j]:.3f}", **style)
            else:
                lines.append((f"{values[j]:.3f}", "black"))
            if not ci[k].estimable:  # no error bar: said above the bar, not a zero-width bar
                missing[ci[k].reason] = None
                lines.append(("no CI", "dimgray"))
            for n, (text, color) in enumerate(lines):
                _label_above(ax, text, (xs[j], highs[name][j]), 2 + 9 * n, fontsize=7, color=color)
            above[j] = max(above[j], 9.0 * len(lines))
    for j, k in enumerate(ROUGE_TYPES if len(names) >= 2 else ()):  # last minus first, on top
        delta = scores[names[-1]][k] - scores[names[0]][k]
        style = dict(fontsize=9, fontweight="bold", color="tab:green" if delta >= 0 else "tab:red")
        _label_above(ax, f"{delta:+.3f}", (x[j], tops[j]), 4 + above[j], **style)
    ax.set_xticks(x, ROUGE_TYPES)
    ax.set_ylabel(f"ROUGE F-measure (protocol: {protocol})")
    ax.set_ylim(0, y_top)
    ax.set_title(title_with_notes(title, note, any_smoke(results.values())))
    drawn = any(ci.estimable for name in names for ci in cis[name].values())
    legend = [
        "error bars: 95% bootstrap interval" if drawn else None,
        "no CI: not estimable (" + "; ".join(missing) + ")" if missing else None,
    ]
    fig.legend(
        loc="outside lower center",
        ncol=len(names),
        title="\n".join(filter(None, legend)) or None,
        title_fontsize=8,
        frameon=False,
    )
    return fig


def plot_loss_curve(trainer, title: str = "Training loss", note: str | None = None):
    """Training loss against step of a trained ``transformers.Trainer``
    (:func:`dialogsum_peft.training_log.loss_history`) and the validation loss where it was computed
    (:func:`~dialogsum_peft.training_log.validation_loss_history`); the title carries ``note`` and,
    when the trainer's model is the smoke path's tiny random T5, the smoke note. Raises
    ValueError when no loss was logged."""
    import matplotlib.pyplot as plt

    from .offline import is_smoke_model
    from .training_log import loss_history, validation_loss_history

    history, smoke = loss_history(trainer), is_smoke_model(trainer.model)
    if not history:
        raise ConfigError("no logged losses to plot (train for at least logging_steps steps)")
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


def plot_rouge_by_length(
    results: Mapping[str, EvalResult],
    protocol: str = "mean",
    metric: str = "rouge1",
    title: str = "ROUGE by dialogue length",
):
    """Grouped bars of each model's corpus ``metric`` under ``protocol`` by prompt length
    (:func:`~dialogsum_peft.evaluation.rouge_by_length`, computed here), one group per bin labelled
    with its number of dialogues, each bar's value above it; the y axis names the protocol, the
    ``title`` (name the data: :func:`dialogues_of`) gets the smoke note from the results."""
    import matplotlib.pyplot as plt

    from .evaluation import rouge_by_length

    table = rouge_by_length(results, protocol=protocol, metric=metric)
    models = [c for c in table.columns if c != "dialogues"]
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    width = 0.8 / max(1, len(models))
    for i, name in enumerate(models):
        xs = [x + i * width for x in range(len(table))]
        bars = ax.bar(xs, table[name], width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    ax.set_xticks([x + width * (len(models) - 1) / 2 for x in range(len(table))])
    ax.set_xticklabels(
        [
            f"{label}\n({counted(n, 'dialogue')})"
            for label, n in zip(table.index, table["dialogues"])
        ]
    )
    ax.set_xlabel("prompt length in tokens")
    ax.set_ylabel(f"{metric} F-measure (protocol: {protocol})")
    ax.margins(y=0.15)  # room above the tallest bar for its label
    ax.set_title(title_with_notes(title, None, any_smoke(results.values())))
    ax.legend()
    return fig


# ------------------------------------------------------------- on how many dialogues
def win_table(
    results: Mapping[str, EvalResult],
    baseline: str,
    improved: str,
    protocol: str = "mean",
    rouge_types: Sequence[str] | str = ("rouge1",),
):
    """On how many test dialogues ``improved`` scores higher than, equal to and lower than
    ``baseline`` (:func:`dialogsum_peft.wins.win_shares`): one row per ROUGE type
    (``rouge_types``: names, or ``"all"``), each outcome as "k of n (share)" and its 95% Wilson
    interval ("not estimable" under 10 dialogues, the reason under the table). The row header
    names the protocol of the per-dialogue scores; results of the smoke model put the table
    under :data:`SMOKE_NOTE`.
    Raises TypeError/ValueError as :func:`scores_under` and for an unknown ROUGE type.
    """
    from .wins import format_share_ci, win_shares

    scores_under(results, protocol)  # EvalResults only, a known protocol
    types = ROUGE_TYPES if rouge_types == "all" else tuple(rouge_types)
    rows = {k: {} for k in types}
    for k in types:
        for outcome, s in win_shares(results[baseline], results[improved], protocol, k).items():
            rows[k][outcome] = f"{s.dialogues} of {s.total} ({s.share:.0%})"
            rows[k][f"{outcome} 95% CI"] = format_share_ci(s.ci95)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = f"ROUGE F-measure per dialogue, protocol: {protocol}"
    title = (
        f"Test dialogues where {improved} scores higher than, equal to, lower than "
        f"{baseline} (95% Wilson intervals)"
    )
    return captioned(table, "\n".join(filter(None, [title, smoke_caption(results.values())])))

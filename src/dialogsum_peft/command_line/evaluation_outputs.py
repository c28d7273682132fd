"""What ``evaluate`` writes: ``scores.json`` (every protocol with 95% intervals, the differences
to the base, what the input lost), the predictions as CSV and JSON Lines, the ROUGE chart.

Why: an evaluation's folder is read later by people and scripts that no longer know the run; it is
written complete or not at all (a fresh folder swapped in), and an interval that cannot be
estimated is recorded as ``null`` with its reason, never as a zero-width interval.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..atomic import atomic_dir
from ..metrics import MULTI_REF_PROTOCOLS, EvalResult
from .run_outputs import save_figure


def _with_ci(entry: dict, intervals: dict) -> dict:
    """``entry`` with ``"ci95"`` (``{k: [low, high] or None}``) and, when some interval cannot be
    estimated, ``"ci95_not_estimable"`` (``{k: reason}``)."""
    entry["ci95"] = {k: ci.to_json() for k, ci in intervals.items()}
    missing = {k: ci.reason for k, ci in intervals.items() if not ci.estimable}
    if missing:
        entry["ci95_not_estimable"] = missing
    return entry


def scores_with_intervals(results: dict[str, EvalResult]) -> dict:
    """``{model: {protocol: {rouge1: F, ..., "ci95": {rouge1: [low, high], ...}}}}``: every
    protocol's corpus scores with their 95% bootstrap intervals (:mod:`dialogsum_peft.intervals`).
    An interval that cannot be estimated (too few dialogues, no spread) is ``None``, and
    ``"ci95_not_estimable"`` beside it says why (``{rouge2: "no spread: ..."}``)."""
    from ..intervals import rouge_intervals

    return {
        name: {
            protocol: _with_ci(dict(scores), rouge_intervals(r.pair_scores, protocol))
            for protocol, scores in r.by_protocol.items()
        }
        for name, r in results.items()
    }


def differences(results: dict[str, EvalResult], baseline: str = "base") -> dict:
    """``{"<model> - base": {protocol: {rouge1: {"difference": d, "ci95": [low, high]}}}}`` for
    every model beside ``baseline``, with paired bootstrap intervals; empty without a baseline.
    An interval that cannot be estimated is ``None``, with ``"ci95_not_estimable"``: the reason."""
    from ..intervals import difference_intervals

    def entry(d):
        ci = d["ci95"]
        out = {"difference": d["difference"], "ci95": ci.to_json()}
        return out if ci.estimable else {**out, "ci95_not_estimable": ci.reason}

    if baseline not in results:
        return {}
    return {
        f"{name} - {baseline}": {
            protocol: {
                k: entry(d)
                for k, d in difference_intervals(
                    results[baseline].pair_scores, r.pair_scores, protocol
                ).items()
            }
            for protocol in MULTI_REF_PROTOCOLS
        }
        for name, r in results.items()
        if name != baseline
    }


def interval_warnings(summary: dict, shown: int = 6) -> list[str]:
    """``warning:`` lines for the intervals of an evaluation's ``scores.json`` (``summary``: its
    ``"scores"`` and ``"differences"``) that cannot be estimated, one per reason, naming up to
    ``shown`` of them ("lora rouge2 (mean)"); ``[]`` when every interval was estimated."""
    by_reason: dict[str, list[str]] = {}
    for name, protocols in {**summary.get("scores", {}), **summary.get("differences", {})}.items():
        for protocol, entry in protocols.items():
            missing = entry.get("ci95_not_estimable") or {
                k: v["ci95_not_estimable"]
                for k, v in entry.items()
                if isinstance(v, dict) and "ci95_not_estimable" in v
            }
            for k, reason in missing.items():
                by_reason.setdefault(reason, []).append(f"{name} {k} ({protocol})")
    lines = []
    for reason, names in by_reason.items():
        more = f" and {len(names) - shown} more" if len(names) > shown else ""
        lines.append(
            f"warning: no 95% interval can be estimated for {', '.join(names[:shown])}"
            f"{more} ({reason}): scores.json records null for them and the plot draws "
            "no error bar"
        )
    return lines


def write_evaluation(
    results_dir: str | os.PathLike,
    results: dict,
    split,
    info: dict,
    config,
    formats=("csv", "jsonl"),
) -> Path:
    """Write an evaluation's files (``evaluate``'s results folder) into a fresh folder, then swap it
    in (:func:`~dialogsum_peft.atomic.atomic_dir`): no stale file survives.

    ``results`` maps a model's name to its :class:`~dialogsum_peft.metrics.EvalResult`.

    ``scores.json`` holds ``info``, every model's ROUGE under every protocol with its 95%
    bootstrap interval (``"ci95"`` beside the values), under ``"differences"`` each model minus
    the base with its paired interval, under ``"wins"`` the share of dialogues on which each
    model scores higher, equal and lower than the base (:func:`~dialogsum_peft.wins.wins_json`),
    and under ``"inputs"`` what truncation and ``<unk>`` took from each model's input;
    ``predictions-<model>.csv/.jsonl`` the id, dialogue, references, prediction and the row's
    ROUGE ("mean" protocol: its average over the references) of each row;
    ``rouge.png`` the chart; ``config.json`` the settings.
    """
    import csv

    from ..reporting import dialogues_of, plot_rouge_comparison
    from ..wins import wins_json

    results_dir = Path(results_dir)
    with atomic_dir(results_dir) as tmp:
        config.save(tmp / "config.json")
        summary = {
            **info,
            "scores": scores_with_intervals(results),
            "differences": differences(results),
            "wins": wins_json(results),  # per dialogue: higher, equal, lower than base
            "inputs": {
                name: r.inputs.to_dict() if r.inputs else None for name, r in results.items()
            },
        }
        (tmp / "scores.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        ids, dialogues, refs = list(split["id"]), list(split["dialogue"]), list(split["references"])
        for name, result in results.items():
            rows = [
                {"id": i, "dialogue": d, "references": r, "prediction": p, "rouge": score}
                for i, d, r, p, score in zip(
                    ids, dialogues, refs, result.predictions, result.per_example()
                )
            ]
            if "jsonl" in formats:
                with open(tmp / f"predictions-{name}.jsonl", "w", encoding="utf-8") as fh:
                    fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            if "csv" in formats:  # references as a JSON list, so every reference survives
                with open(tmp / f"predictions-{name}.csv", "w", newline="", encoding="utf-8") as fh:
                    writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                    writer.writeheader()
                    writer.writerows(
                        {
                            **row,
                            "references": json.dumps(row["references"], ensure_ascii=False),
                            "rouge": json.dumps(row["rouge"]),
                        }
                        for row in rows
                    )
        fig = plot_rouge_comparison(  # the data named as the run read it, never "DialogSum"
            results,
            title=f"ROUGE on {dialogues_of(config.dataset_source, len(split), info.get('split'))}",
        )
        save_figure(fig, tmp / "rouge.png")
    return results_dir

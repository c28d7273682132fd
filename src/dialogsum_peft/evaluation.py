"""Generate summaries for a split and score them against every reference, in one call.

Why: the notebook, the command line and the benchmarks all evaluate the same way (same prompt,
same batching, same ROUGE), so the comparison of zero-shot and LoRA models is apples to apples.
The result keeps every (prediction, reference) pair score, so the ROUGE of any multi-reference
protocol (see :data:`dialogsum_peft.metrics.MULTI_REF_PROTOCOLS`) is exact without rescoring.
"""

from __future__ import annotations

from pathlib import Path

from .data import build_prompt
from .generation import summarize
from .input_report import measure_inputs, warn_input_loss
from .metrics import EvalResult, score_pairs


def limit_split(dataset, limit: int | None):
    """The first ``limit`` rows of a split (all of them for ``None``)."""
    if limit is None or limit >= len(dataset):
        return dataset
    if limit < 1:
        raise ValueError(f"the evaluation size must be at least 1, got {limit}")
    return dataset.select(range(limit))


def evaluate_model(model, tokenizer, dataset, batch_size: int = 32, max_new_tokens: int = 128,
                   num_beams: int = 1, max_source_length: int = 512, progress: bool = True,
                   desc: str = "evaluating", check_inputs: bool = True) -> EvalResult:
    """Summaries of every dialogue in ``dataset`` and their ROUGE against all references.

    The prompts are measured (truncation, ``<unk>``) into ``EvalResult.inputs``; with
    ``check_inputs`` an :class:`~dialogsum_peft.input_report.InputLossWarning` says what was lost.
    """
    from .offline import is_smoke_model

    dialogues = list(dataset["dialogue"])
    inputs = measure_inputs([build_prompt(d) for d in dialogues], tokenizer, max_source_length)
    if check_inputs:
        warn_input_loss(inputs, "dialogues of the split")
    predictions = summarize(model, tokenizer, dialogues, batch_size=batch_size,
                            max_new_tokens=max_new_tokens, num_beams=num_beams,
                            max_source_length=max_source_length, progress=progress, desc=desc,
                            check_inputs=False)
    return EvalResult(predictions, score_pairs(predictions, list(dataset["references"])),
                      smoke=is_smoke_model(model), inputs=inputs)


def scores_with_intervals(results: dict[str, EvalResult]) -> dict:
    """``{model: {protocol: {rouge1: F, ..., "ci95": {rouge1: [low, high], ...}}}}``: every
    protocol's corpus scores with their 95% bootstrap intervals (:mod:`dialogsum_peft.intervals`)."""
    from .intervals import rouge_intervals

    return {name: {protocol: {**scores, "ci95": {k: list(ci) for k, ci in
                                                 rouge_intervals(r.pair_scores, protocol).items()}}
                   for protocol, scores in r.by_protocol.items()}
            for name, r in results.items()}


def differences(results: dict[str, EvalResult], baseline: str = "base") -> dict:
    """``{"<model> - base": {protocol: {rouge1: {"difference": d, "ci95": [low, high]}}}}`` for
    every model beside ``baseline``, with paired bootstrap intervals; empty without a baseline."""
    from .intervals import difference_intervals
    from .metrics import MULTI_REF_PROTOCOLS

    if baseline not in results:
        return {}
    return {f"{name} - {baseline}": {
                protocol: {k: {"difference": d["difference"], "ci95": list(d["ci95"])}
                           for k, d in difference_intervals(results[baseline].pair_scores,
                                                            r.pair_scores, protocol).items()}
                for protocol in MULTI_REF_PROTOCOLS}
            for name, r in results.items() if name != baseline}


def write_evaluation(results_dir: Path, results: dict[str, EvalResult], split, info: dict,
                     config, formats=("csv", "jsonl")) -> Path:
    """Write an evaluation's files into a fresh folder, then swap it in: no stale file survives.

    ``scores.json`` holds ``info``, every model's ROUGE under every protocol with its 95%
    bootstrap interval (``"ci95"`` beside the values), under ``"differences"`` each model minus
    the base with its paired interval, and under ``"inputs"`` what truncation and ``<unk>`` took
    from each model's input; ``predictions-<model>.csv/.jsonl`` the id, dialogue, references,
    prediction and the row's ROUGE ("mean" protocol: its average over the references) of each row;
    ``rouge.png`` the chart; ``config.json`` the settings.
    """
    import csv
    import json
    import shutil
    import tempfile

    from .adapters import replace_dir
    from .reporting import plot_rouge_comparison, save_figure

    results_dir = Path(results_dir)
    results_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{results_dir.name}.tmp-", dir=results_dir.parent))
    try:
        config.save(tmp / "config.json")
        summary = {**info, "scores": scores_with_intervals(results),
                   "differences": differences(results),
                   "inputs": {name: r.inputs.to_dict() if r.inputs else None
                              for name, r in results.items()}}
        (tmp / "scores.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        ids, dialogues, refs = list(split["id"]), list(split["dialogue"]), list(split["references"])
        for name, result in results.items():
            rows = [{"id": i, "dialogue": d, "references": r, "prediction": p, "rouge": score}
                    for i, d, r, p, score in zip(ids, dialogues, refs, result.predictions,
                                                 result.per_example())]
            if "jsonl" in formats:
                with open(tmp / f"predictions-{name}.jsonl", "w", encoding="utf-8") as fh:
                    fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            if "csv" in formats:  # references as a JSON list, so every reference survives
                with open(tmp / f"predictions-{name}.csv", "w", newline="", encoding="utf-8") as fh:
                    writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                    writer.writeheader()
                    writer.writerows({**row, "references": json.dumps(row["references"],
                                                                      ensure_ascii=False),
                                      "rouge": json.dumps(row["rouge"])} for row in rows)
        fig = plot_rouge_comparison(results, title=f"ROUGE on DialogSum {info.get('split', '')} "
                                                   f"({len(split)} dialogues)")
        save_figure(fig, tmp / "rouge.png")
        replace_dir(tmp, results_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return results_dir

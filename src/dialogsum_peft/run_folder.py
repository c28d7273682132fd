"""A training run's folder as one object: its resolved path, the files ``train`` writes into it
(named once, here), its lock, the run's identity and atomic writes.

Why: the list of what a run folder holds used to exist three times (the files ``--overwrite``
removes, the ``train --help`` text and the code that writes them), and each command re-derived
the path, the lock and the identity checks from free functions. :class:`RunFolder` is the one
place that knows them; the command line uses it, ``train --help`` prints its file list, and the
lower-level functions it calls (:mod:`dialogsum_peft.checkpoints`) stay usable from notebooks.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from .atomic import atomic_dir, write_text_atomic
from .checkpoints import (RunLock, check_resume_identity, check_writable, find_last_checkpoint,
                          write_run_identity)

CHECKPOINTS = "checkpoints"
ADAPTER = "adapter"
MODEL = "model"
CONFIG = "config.json"
LOSS_CSV = "loss_history.csv"
LOSS_JSON = "loss_history.json"
LOSS_PLOT = "loss_curve.png"
METRICS = "train_metrics.json"

# What ``train`` writes into a run folder, in the order ``train --help`` lists it
# (``--overwrite`` removes exactly these).
RUN_FILES: dict[str, str] = {
    CONFIG: "the settings",
    ADAPTER: "a PEFT method's weights + tokenizer + model card (README.md)",
    MODEL: "--method full: the whole model + tokenizer",
    LOSS_CSV: "the training and validation loss per logged step",
    LOSS_JSON: "the same as JSON",
    LOSS_PLOT: "its plot",
    METRICS: "the Trainer's metrics, steps, world size, adapter size",
    CHECKPOINTS: "checkpoint-N folders and run.json, the run's identity",
}
RUN_OUTPUTS = tuple(RUN_FILES)


def describe_run_files() -> str:
    """The ``train --help`` text listing :data:`RUN_FILES` (a folder name ends with ``/``)."""
    return "; ".join(f"{name}{'/' if '.' not in name else ''} ({what})"
                     for name, what in RUN_FILES.items())


class RunFolder:
    """The folder of one training run.

    ``RunFolder(path)`` checks that this process can create and write ``path`` (raising
    :class:`~dialogsum_peft.errors.RunFolderError` otherwise) and keeps the resolved path in
    :attr:`path`; every file of the run is ``folder / NAME`` with a name of :data:`RUN_FILES`.
    """

    def __init__(self, path: str | os.PathLike):
        self.path: Path = check_writable(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def __str__(self) -> str:
        return str(self.path)

    def present(self) -> list[str]:
        """The training outputs (checkpoints, adapter, model) already in the folder."""
        names = []
        ckpt = self.path / CHECKPOINTS
        if ckpt.is_dir() and any(p.name.startswith("checkpoint-") for p in ckpt.iterdir()):
            names.append(CHECKPOINTS)
        return names + [n for n in (ADAPTER, MODEL) if (self.path / n).exists()]

    def clear(self) -> None:
        """Remove every file of :data:`RUN_FILES` (``--overwrite``); other files stay."""
        for name in RUN_OUTPUTS:
            path = self.path / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)

    def lock(self) -> RunLock:
        """The folder's lock (one training at a time), not yet taken."""
        return RunLock(self.path)

    def last_checkpoint(self) -> str | None:
        return find_last_checkpoint(self.path)

    def write_identity(self, identity: dict[str, Any]) -> None:
        write_run_identity(self.path, identity)

    def check_identity(self, identity: dict[str, Any]) -> None:
        """Refuse to resume checkpoints another configuration wrote (RunFolderError)."""
        check_resume_identity(self.path, identity)

    def write_text(self, name: str, text: str) -> Path:
        """Write ``text`` to ``folder / name`` atomically (a temporary file renamed in)."""
        write_text_atomic(self.path / name, text)
        return self.path / name

    def write_json(self, name: str, data: Any, indent: int = 2) -> Path:
        return self.write_text(name, json.dumps(data, indent=indent) + "\n")


def write_evaluation(results_dir: str | os.PathLike, results: dict, split, info: dict,
                     config, formats=("csv", "jsonl")) -> Path:
    """Write an evaluation's files (``evaluate``'s results folder) into a fresh folder, then swap it
    in (:func:`~dialogsum_peft.atomic.atomic_dir`): no stale file survives.

    ``results`` maps a model's name to its :class:`~dialogsum_peft.metrics.EvalResult`.

    ``scores.json`` holds ``info``, every model's ROUGE under every protocol with its 95%
    bootstrap interval (``"ci95"`` beside the values), under ``"differences"`` each model minus
    the base with its paired interval, under ``"wins"`` the share of dialogues on which each
    model scores higher, equal and lower than the base (:func:`~dialogsum_peft.wins.wins_json`),
    and under ``"inputs"`` what truncation and ``<unk>`` took
    from each model's input; ``predictions-<model>.csv/.jsonl`` the id, dialogue, references,
    prediction and the row's ROUGE ("mean" protocol: its average over the references) of each row;
    ``rouge.png`` the chart; ``config.json`` the settings.
    """
    import csv

    from .display import counted, save_figure
    from .evaluation import differences, scores_with_intervals
    from .reporting import plot_rouge_comparison
    from .wins import wins_json

    results_dir = Path(results_dir)
    with atomic_dir(results_dir) as tmp:
        config.save(tmp / "config.json")
        summary = {**info, "scores": scores_with_intervals(results),
                   "differences": differences(results),
                   "wins": wins_json(results),  # per dialogue: higher, equal, lower than base
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
                                                   f"({counted(len(split), 'dialogue')})")
        save_figure(fig, tmp / "rouge.png")
    return results_dir


def write_training_outputs(trainer, peft_model, tokenizer, config, result, world_size: int,
                           out: RunFolder) -> None:
    """Write what ``train`` leaves in ``out`` after training (the adapter or model, the loss
    history as CSV and JSON, its plot, the metrics) and say where, on stdout."""
    import csv

    from .adapters import adapter_size_mb, save_adapter, save_model
    from .methods import is_peft
    from .offline import is_smoke_model
    from .display import save_figure
    from .reporting import plot_loss_curve
    from .trainer_parts import loss_history, loss_log, validation_loss_history

    if is_peft(config.method):
        adapter = save_adapter(peft_model, out / ADAPTER, tokenizer=tokenizer)
        from .adapters import write_model_card  # the card: what it is, how it was trained

        write_model_card(adapter, config, world_size=world_size, steps=trainer.state.global_step)
    else:
        adapter = save_model(peft_model, out / MODEL, tokenizer=tokenizer)
    history, log = loss_history(trainer), loss_log(trainer)
    with open(out / LOSS_CSV, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["step", "loss", "validation_loss"])
        writer.writeheader()
        writer.writerows(log)  # a step without one of the losses leaves its cell empty
    out.write_json(LOSS_JSON, log, indent=1)
    validation = validation_loss_history(trainer)
    size_mb = adapter_size_mb(adapter)  # read once: for the metrics and the line below
    metrics = dict(result.metrics)
    metrics.update(global_step=trainer.state.global_step, world_size=world_size,
                   effective_batch=(trainer.args.per_device_train_batch_size
                                    * trainer.args.gradient_accumulation_steps
                                    * world_size),
                   adapter_mb=round(size_mb, 3), smoke=is_smoke_model(peft_model),
                   validation_loss=validation[-1][1] if validation else None)
    out.write_json(METRICS, metrics)
    if history:
        save_figure(plot_loss_curve(trainer), out / LOSS_PLOT)
        print(f"loss: {history[0][1]:.4f} at step {history[0][0]} -> "
              f"{history[-1][1]:.4f} at step {history[-1][0]}")
        if validation:
            print(f"validation loss: {validation[0][1]:.4f} at step {validation[0][0]} -> "
                  f"{validation[-1][1]:.4f} at step {validation[-1][0]}")
    else:
        print(f"no loss was logged (fewer than logging_steps={config.logging_steps} steps): "
              "no loss curve")
    print(f"{'adapter' if is_peft(config.method) else 'model'}: {adapter} ({size_mb:.2f} MB)")
    print(f"training log: {out / LOSS_CSV}, {out / LOSS_JSON}"
          + (f", plot {out / LOSS_PLOT}" if history else ""))

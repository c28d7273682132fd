"""The full-mode acceptance check: the quick recipe on flan-t5-base and DialogSum, end to end.

    pytest -m full        # needs the Hugging Face Hub and a CUDA GPU; about 10-30 minutes

It trains with the same command line users run, evaluates zero-shot and LoRA on the 500 test
dialogues, writes ``results/<device>-<date>.json`` (ROUGE of both models under every protocol,
training time and speed, peak GPU memory, library versions) and checks the numbers are where a
correct pipeline puts them. Then it runs the method-comparison notebook's quick recipe in full
mode and writes every method's ROUGE, cost and speed into
``results/methods-<device>-<date>.json``. Skipped (with the reason) where the Hub or a GPU is
missing, so the normal suite never runs it; the README's "Our results" table is filled from these files only.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest
import torch

from dialogsum_peft.hub import hub_reachable

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"

pytestmark = [
    pytest.mark.full,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    pytest.mark.skipif(not hub_reachable(), reason="needs the Hugging Face Hub"),
]


def test_quick_recipe_scores_like_a_correct_pipeline(tmp_path):  # pragma: no cover - GPU + Hub
    from dialogsum_peft.command_line.cli import main
    from dialogsum_peft.versions import library_versions

    run = tmp_path / "quick"
    torch.cuda.reset_peak_memory_stats()
    assert main(["train", "--preset", "auto", "--recipe", "quick", "--output-dir", str(run)]) == 0
    peak_gib = torch.cuda.max_memory_allocated() / 2**30
    assert (
        main(["evaluate", "--config", str(run / "config.json"), "--adapter", str(run / "adapter")])
        == 0
    )
    scores = json.loads((run / "evaluation" / "scores.json").read_text())["scores"]
    train = json.loads((run / "train_metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())

    device = torch.cuda.get_device_name(0)
    record = {
        "what": "pytest -m full: quick recipe, flan-t5-base + LoRA, DialogSum test (500 dialogues)",
        "measured": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": device,
        "config": config,
        "versions": library_versions(),
        "rouge": {"zero-shot": scores["base"], "lora": scores["lora"]},
        "train_runtime_s": train["trainer"]["train_runtime"],
        "train_examples_per_second": train["session_examples_per_second"],  # counted
        "peak_memory_gib": round(peak_gib, 2),
    }
    RESULTS.mkdir(exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", device.lower()).strip("-")
    path = RESULTS / f"{slug}-{datetime.date.today().isoformat()}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")

    zero, lora = scores["base"]["mean"]["rouge1"], scores["lora"]["mean"]["rouge1"]
    assert 0.18 <= zero <= 0.32, f"zero-shot ROUGE-1 (mean) {zero:.4f}, see {path}"
    assert lora >= 0.38 and lora - zero >= 0.12, f"LoRA ROUGE-1 (mean) {lora:.4f}, see {path}"


METHODS_STATE_CELL = """
import json as _json
import os as _os

with open(_os.environ["FULL_CHECK_STATE"], "w") as _fh:
    _json.dump({m: {"rouge": r.evaluation.by_protocol, "trainable": r.parameters.trainable,
                    "saved_mb": r.saved_mb, "peak_memory_gib": r.peak_memory_gib,
                    "examples_per_s": r.examples_per_s, "train_seconds": r.train_seconds}
                for m, r in runs.items()}, _fh)
"""


def test_methods_notebook_quick_recipe(tmp_path):  # pragma: no cover - GPU + Hub
    import nbformat

    from dialogsum_peft.versions import library_versions
    from notebook_checks import execute_in_smoke_mode

    notebook = ROOT / "notebooks" / "peft_methods.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(METHODS_STATE_CELL.strip()))
    state = tmp_path / "methods.json"
    execute_in_smoke_mode(nb, notebook, tmp_path, {"FULL_CHECK_STATE": str(state)}, mode="full")
    runs = json.loads(state.read_text())
    device = torch.cuda.get_device_name(0)
    RESULTS.mkdir(exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", device.lower()).strip("-")
    path = RESULTS / f"methods-{slug}-{datetime.date.today().isoformat()}.json"
    path.write_text(
        json.dumps(
            {
                "what": "pytest -m full: notebooks/peft_methods.ipynb, quick recipe, DialogSum test",
                "device": device,
                "versions": library_versions(),
                "methods": runs,
            },
            indent=2,
        )
        + "\n"
    )
    assert set(runs) == {"zero-shot", "lora", "lora-all", "ia3", "prompt-tuning", "full"}
    zero = runs["zero-shot"]["rouge"]["mean"]["rouge1"]
    assert runs["lora"]["rouge"]["mean"]["rouge1"] >= zero + 0.12, f"see {path}"

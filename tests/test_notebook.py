"""The tutorial notebook: committed clean, and executed top to bottom in smoke mode (as in CI)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "dialogsum_lora.ipynb"
BUILDER = ROOT / "notebooks" / "build_notebook.py"


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebook", BUILDER)
    module = importlib.util.module_from_spec(spec)
    old, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in notebooks/
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = old
    return module


def _code_source(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(str(out.data.get("text/plain", "")))
            parts.append(str(out.data.get("text/html", "")))
    return "\n".join(parts)


def _cell(nb, marker: str):
    matches = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    assert len(matches) == 1, f"expected one code cell containing {marker!r}, found {len(matches)}"
    return matches[0]


def test_committed_notebook_is_clean():
    raw = NOTEBOOK.read_text(encoding="utf-8")
    nb = nbformat.reads(raw, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code_cells) >= 15
    for cell in code_cells:
        assert cell.outputs == [], f"cell {cell.id} has outputs: strip them"
        assert cell.execution_count is None, f"cell {cell.id} has an execution count"
    assert not re.search(r"hf_[A-Za-z0-9]{20,}", raw), "a Hugging Face token is in the notebook"
    assert not re.search(r"(?<![\w.])/(work|root|home|tmp)\b", raw), "an absolute local path"
    meta = nb.metadata
    assert meta["accelerator"] == "GPU" and meta["colab"]["gpuType"] == "T4"
    assert meta["kernelspec"]["name"] == "python3"


def test_notebook_matches_its_generator():
    assert NOTEBOOK.read_text(encoding="utf-8") == _builder().render(), (
        "notebooks/dialogsum_lora.ipynb is out of date: run python notebooks/build_notebook.py")


def test_notebook_story_and_settings():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = _code_source(nb)
    builder = _builder()
    # The repository URL is set once, and README's Colab badge opens this notebook.
    assert code.count("REPO_URL = ") == 1 and f'REPO_URL = "{builder.REPO_URL}"' in code
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert builder.COLAB_URL in readme and builder.REPO_URL in readme
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for row in ("T4 (fp32)", "A100/L4 (bf16)", "H100 (bf16)", "H200 (bf16)", "measured"):
        assert row in markdown
    assert "estimate" in markdown and "python -m dialogsum_peft train --help" in markdown
    # The zero-shot baseline is taken before get_peft_model, later through disable_adapter().
    assert code.index("zero_shot_before = summarize(model") < code.index("add_lora_from_config(model")
    assert code.index("add_lora_from_config(model") < code.index("evaluate_zero_shot_and_lora(peft_model")
    assert 'MODE = "auto"' in code and "SAVE_TO_DRIVE = False" in code and "EVAL_SIZE = None" in code
    push = _cell(nb, "push_to_hub")
    assert all(line.startswith("#") for line in push.source.splitlines() if line.strip())


def test_run_notebook_script_is_valid_bash():
    script = ROOT / "scripts" / "run_notebook.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert "pip install -q -r requirements.txt" in text and "nbconvert --to notebook --execute" in text
    assert 'DIALOGSUM_MODE="${DIALOGSUM_MODE:-auto}"' in text and "--output-dir outputs" in text


@pytest.mark.slow
def test_notebook_runs_top_to_bottom_in_smoke_mode(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    run_dir = tmp_path / "run"
    monkeypatch.setenv("DIALOGSUM_MODE", "smoke")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("DIALOGSUM_OUTPUT_DIR", str(run_dir))
    # The kernel must import this checkout's helpers, whatever copy is pip-installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p))
    notebooks_before = sorted(p.name for p in NOTEBOOK.parent.iterdir())
    committed = NOTEBOOK.read_bytes()

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    nbformat.write(nb, tmp_path / "executed.ipynb")

    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code_cells)
    assert not [o for c in code_cells for o in c.outputs if o.output_type == "error"]

    # It found this checkout's package and chose smoke mode, loudly.
    assert "running in SMOKE mode" in _outputs_text(_cell(nb, 'MODE = "auto"'))
    assert "CPU only" in _outputs_text(_cell(nb, "environment_report(device_info)"))

    # The comparison table: ROUGE columns, zero-shot and LoRA rows, the improvement row.
    table = _outputs_text(_cell(nb, "rouge_table(scores"))
    assert "rouge1" in table and "rougeLsum" in table
    assert re.search(r"^zero-shot\s+\d", table, re.M) and re.search(r"^LoRA\s+\d", table, re.M)
    assert re.search(r"^LoRA - zero-shot\s+-?\d", table, re.M)

    # Pictures: the loss curve and the ROUGE bar chart.
    for marker in ("plot_loss_curve(loss_history", "plot_rouge_comparison(scores"):
        images = [o for o in _cell(nb, marker).outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1, marker

    # Smoke banner wherever summaries or scores are shown.
    for marker in ("zero_shot_before = summarize", "rouge_table(scores", "side_by_side(eval_set",
                   "index = random.randrange(len(test))  # or e.g.", "reloaded_summary = summarize",
                   "plot_loss_curve(loss_history"):
        assert "SMOKE MODE" in _outputs_text(_cell(nb, marker)), marker

    # The comparison is fair and the adapter round-trips.
    assert "zero-shot baseline identical: True" in _outputs_text(_cell(nb, "zero-shot before LoRA"))
    assert "peft.tuners.lora" in _outputs_text(_cell(nb, "add_lora_from_config(model"))
    assert "reloaded adapter identical: True" in _outputs_text(_cell(nb, "reloaded_summary"))
    assert "merged model identical: True" in _outputs_text(_cell(nb, "merge_adapter(reloaded)"))
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    cfg = json.loads((run_dir / "adapter" / "adapter_config.json").read_text())
    assert cfg["r"] == 32 and sorted(cfg["target_modules"]) == ["q", "v"]

    # Nothing was written into the repository.
    assert sorted(p.name for p in NOTEBOOK.parent.iterdir()) == notebooks_before
    assert NOTEBOOK.read_bytes() == committed

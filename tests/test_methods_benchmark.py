"""benchmarks/methods.py runs on a CPU and writes the fields the READMEs quote (tiny T5)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture()
def methods_bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import methods

    yield methods
    sys.modules.pop("methods", None)


@pytest.mark.slow  # about 20 s on 2 shared cores: two short training runs
def test_methods_benchmark_counts_saves_and_times_on_cpu(methods_bench, tmp_path):
    from dialogsum_peft.offline import sample_data_dir, tiny_base_dir

    result = methods_bench.main(
        [
            "--model",
            "tiny",
            "--methods",
            "lora,full",
            "--speed-on-cpu",
            "--steps",
            "1",
            "--warmup",
            "1",
            "--data",
            str(sample_data_dir()),
            "--tokenizer",
            str(tiny_base_dir()),
            "--out",
            str(tmp_path),
        ]
    )
    written = json.loads(Path(result["path"]).read_text())
    assert Path(result["path"]).name.startswith("methods-cpu-")
    assert written["device_slug"] == "cpu" and set(written["versions"]) >= {
        "torch",
        "transformers",
        "peft",
    }
    rows = {r["method"]: r for r in written["methods"]}
    assert list(rows) == ["lora", "full"]
    lora, full = rows["lora"], rows["full"]
    assert lora["saved"] == "adapter" and "adapter_model.safetensors" in lora["saved_files"]
    assert full["saved"] == "whole model" and "model.safetensors" in full["saved_files"]
    assert full["trainable_parameters"] == full["total_parameters"]  # every weight trains
    assert (
        0 < lora["trainable_percent"] < 100 and lora["saved_weights_mb"] < full["saved_weights_mb"]
    )
    # fp32 weights: the saved file holds 4 bytes per saved parameter (and a small header)
    assert full["saved_weights_mb"] == pytest.approx(4 * full["total_parameters"] / 1e6, abs=0.01)
    assert all(r["samples_per_s"] > 0 and r["peak_memory_gib"] is None for r in rows.values())
    assert written["speed_data"]["pairs"] > 0
    assert written["speed_data"]["inputs"]["dialogues"] == written["speed_data"]["pairs"]


def test_methods_benchmark_on_cpu_leaves_speed_null_with_a_reason(methods_bench, tmp_path):
    result = methods_bench.main(
        ["--model", "tiny", "--methods", "ia3,prompt-tuning", "--out", str(tmp_path)]
    )
    written = json.loads(Path(result["path"]).read_text())
    assert written["speed_measured"] is False and "no CUDA" in written["speed_not_measured_because"]
    for row in written["methods"]:
        assert row["samples_per_s"] is None and row["peak_memory_gib"] is None
        assert "no CUDA" in row["not_measured_because"]
        assert 0 < row["trainable_parameters"] < row["total_parameters"]
        assert row["saved"] == "adapter" and row["saved_weights_mb"] > 0


def test_readmes_quote_the_committed_result():
    """The JSON is flan-t5-base's (exact counts, as tests/test_methods.py checks), and the methods page's and
    benchmarks/README's method tables quote its counts and sizes."""
    (path,) = sorted(BENCH.glob("results/methods-cpu-*.json"))[-1:]
    rows = {r["method"]: r for r in json.loads(path.read_text())["methods"]}
    assert set(rows) == {"lora", "lora-all", "ia3", "prompt-tuning", "full"}
    assert rows["lora"]["trainable_parameters"] == 3_538_944
    assert rows["full"]["trainable_parameters"] == 247_577_856
    methods_page = (BENCH.parent / "docs" / "methods.md").read_text(encoding="utf-8")
    sections = [
        methods_page.split("## Choosing a method")[1].split("\n## ")[0],
        (BENCH / "README.md").read_text(encoding="utf-8").split("\n## Methods")[1],
    ]
    for section in sections:
        assert path.name in section
        for row in rows.values():
            assert f"{row['trainable_parameters']:,}" in section, row["method"]
            assert f"{row['saved_weights_mb']:.2f} MB" in section, row["method"]

"""The hand-run benchmarks still run end to end (tiny model, the shipped sample, CPU)."""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture()
def bench(monkeypatch):
    from dialogsum_peft.offline import sample_data_dir

    monkeypatch.setenv("DIALOGSUM_BENCH_DATA", str(sample_data_dir()))
    monkeypatch.syspath_prepend(str(BENCH))
    yield
    for name in ("common", "train_throughput", "eval_throughput"):
        sys.modules.pop(name, None)


def test_train_throughput_runs_and_reports(bench, tmp_path):
    import train_throughput

    result = train_throughput.main(["--model", "tiny", "--max-pairs", "24", "--warmup", "1",
                                    "--min-steps", "2", "--variants", "colab-peak", "--out", str(tmp_path)])
    rows = {r["recipe"]: r for r in result["rows"]}
    assert set(rows) == {"seed", "default", "colab-peak"}
    assert all("error" not in r and r["samples_per_s"] > 0 for r in rows.values())
    assert rows["seed"]["sampling"] == "random" and rows["default"]["sampling"] == "group_by_length"
    assert rows["colab-peak"]["mean_source_tokens"] == 512  # the worst case really is at the limit
    assert result["default_over_seed"] == pytest.approx(
        rows["default"]["samples_per_s"] / rows["seed"]["samples_per_s"], rel=0.01)
    written = json.loads(next(tmp_path.glob("train_throughput-*.json")).read_text())
    assert written["rows"] == result["rows"] and written["data"].startswith("project sample")


def test_eval_throughput_runs_and_reports(bench, tmp_path):
    import eval_throughput

    result = eval_throughput.main(["--model", "tiny", "--new-tokens", "4", "--loop-examples", "3",
                                   "--batch-size", "4", "--out", str(tmp_path)])
    assert result["batched_examples"] == 10 and result["loop_examples"] == 3
    assert result["one_at_a_time_examples_per_s"] > 0 and result["batched_examples_per_s"] > 0
    assert result["speedup"] == pytest.approx(
        result["batched_examples_per_s"] / result["one_at_a_time_examples_per_s"], rel=0.05)
    assert len(list(tmp_path.glob("eval_throughput-*.json"))) == 1

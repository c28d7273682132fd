"""The hand-run benchmarks still run end to end (tiny model, the shipped sample, CPU), and every
result says which tokenizer and which token lengths its figures were measured with."""

import json
import statistics
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
SHARED_TOKENIZER = ROOT.parent / "shared" / "flan-t5-tokenizer"
SAMPLE = ROOT / "data" / "dialogsum_sample"


@pytest.fixture()
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    yield
    for name in ("common", "train_throughput", "eval_throughput", "token_lengths"):
        sys.modules.pop(name, None)


@pytest.fixture()
def no_shared(bench, monkeypatch, tmp_path):
    """As in CI: no ../shared folder, so the stand-in tokenizer is used (and said so)."""
    import common

    monkeypatch.setattr(common, "SHARED", tmp_path / "no-shared")


def check_token_fields(result, n_source):
    for side in ("source", "target"):
        stats = result["tokens"][side]
        assert set(stats) == {"n", "mean", "p95", "max", "limit", "over_limit"}
        assert 0 < stats["mean"] <= stats["max"] and 0 < stats["p95"] <= stats["max"]
    assert result["tokens"]["source"]["n"] == n_source
    assert set(result["tokenizer"]) == {"name", "real_flan_t5", "vocab_size"}


def test_train_throughput_runs_and_reports(no_shared, tmp_path, capsys):
    import train_throughput

    result = train_throughput.main(["--model", "tiny", "--data", str(SAMPLE), "--max-pairs", "16",
                                    "--warmup", "1", "--min-steps", "1", "--variants", "colab-peak",
                                    "--out", str(tmp_path)])
    rows = {r["recipe"]: r for r in result["rows"]}
    assert set(rows) == {"seed", "default", "colab-peak"}
    assert all("error" not in r and r["samples_per_s"] > 0 for r in rows.values())
    assert rows["seed"]["sampling"] == "random" and rows["default"]["sampling"] == "group_by_length"
    assert rows["colab-peak"]["mean_source_tokens"] == 512  # the worst case really is at the limit
    assert result["default_over_seed"] == pytest.approx(
        rows["default"]["samples_per_s"] / rows["seed"]["samples_per_s"], rel=0.01)
    check_token_fields(result, n_source=16)
    assert result["tokenizer"]["name"].startswith("stand-in") and not result["tokenizer"]["real_flan_t5"]
    assert "NOT Flan-T5's tokenizer" in capsys.readouterr().err
    written = json.loads(next(tmp_path.glob("train_throughput-*.json")).read_text())
    assert written["rows"] == result["rows"] and written["data"]["name"].startswith("project sample")
    assert written["tokens"] == result["tokens"] and written["tokenizer"] == result["tokenizer"]
    assert {"torch", "transformers", "peft", "tokenizers"} <= set(written["versions"])


def test_eval_throughput_runs_and_reports(no_shared, tmp_path):
    import eval_throughput

    result = eval_throughput.main(["--model", "tiny", "--data", str(SAMPLE), "--new-tokens", "4",
                                   "--loop-examples", "3", "--batch-size", "4", "--out", str(tmp_path)])
    assert result["batched_examples"] == 10 and result["loop_examples"] == 3
    assert result["one_at_a_time_examples_per_s"] > 0 and result["batched_examples_per_s"] > 0
    assert result["speedup"] == pytest.approx(
        result["batched_examples_per_s"] / result["one_at_a_time_examples_per_s"], rel=0.05)
    check_token_fields(result, n_source=10)
    assert not result["tokenizer"]["real_flan_t5"]
    written = json.loads(next(tmp_path.glob("eval_throughput-*.json")).read_text())
    assert written["tokens"] == result["tokens"] and written["device"] == result["device"]


def test_token_lengths_reports_what_each_benchmark_measures(no_shared):
    import token_lengths

    result = token_lengths.main(["--data", str(SAMPLE)])
    assert result["every_dialogue_and_reference"]["source"]["n"] == 60  # 40 + 10 + 10 dialogues
    assert result["train_throughput_pairs"]["target"]["n"] == 77  # one pair per reference
    assert result["eval_throughput_test"]["source"]["n"] == 10


@pytest.mark.skipif(not SHARED_TOKENIZER.is_dir(),
                    reason="../shared/flan-t5-tokenizer is absent (it is never part of the repository)")
def test_shared_flan_t5_tokenizer_gives_the_recorded_lengths(bench, tmp_path):
    """By default the real tokenizer is used, and the recorded means are its real means."""
    import eval_throughput
    from transformers import AutoTokenizer

    from dialogsum_peft.data import build_prompt

    result = eval_throughput.main(["--model", "tiny", "--data", str(SAMPLE), "--new-tokens", "2",
                                   "--loop-examples", "2", "--batch-size", "8", "--out", str(tmp_path)])
    assert result["tokenizer"] == {"name": str(SHARED_TOKENIZER.resolve()), "real_flan_t5": True,
                                   "vocab_size": 32100}
    # the data used: every distinct test dialogue of the sample, and all its reference summaries
    rows = [json.loads(line) for line in (SAMPLE / "test.jsonl").read_text().splitlines() if line.strip()]
    dialogues = list(dict.fromkeys(r["dialogue"].strip() for r in rows))
    tokenizer = AutoTokenizer.from_pretrained(SHARED_TOKENIZER)
    source = [len(tokenizer(build_prompt(d)).input_ids) for d in dialogues]
    target = [len(tokenizer(text_target=r["summary"].strip()).input_ids) for r in rows]
    assert result["tokens"]["source"]["n"] == len(dialogues) == result["batched_examples"]
    assert result["tokens"]["source"]["mean"] == pytest.approx(statistics.mean(source), abs=0.05)
    assert result["tokens"]["source"]["max"] == max(source)
    assert result["tokens"]["target"]["mean"] == pytest.approx(statistics.mean(target), abs=0.05)


def test_tokenizer_flag_takes_any_folder_and_says_if_it_is_flan_t5(bench, tmp_path):
    import common

    from dialogsum_peft.offline import train_tokenizer

    train_tokenizer(["#Person1#: Hello there.", "They say hello."] * 20, vocab_size=60).save_pretrained(tmp_path)
    tokenizer, info = common.load_tokenizer(str(tmp_path), pairs=[])
    assert info == {"name": str(tmp_path.resolve()), "real_flan_t5": False, "vocab_size": len(tokenizer)}
    with pytest.raises(SystemExit, match="no such folder"):
        common.load_tokenizer(str(tmp_path / "missing"), pairs=[])

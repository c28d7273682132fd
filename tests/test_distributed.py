"""Several processes: sharding and in-order gathering, and real 2-process CPU runs (torchrun, gloo).

On a CPU machine ``accelerate launch --cpu --num_processes 2`` starts a single process unless
MPI is set up, so the multi-process runs here use ``torchrun`` (what ``accelerate launch
--multi_gpu`` runs underneath on GPUs); the code path inside the processes is the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dialogsum_peft.cli import main
from dialogsum_peft.distributed import (
    distributed_evaluate, distributed_summarize, process_state, reassemble, shard_indices,
)
from dialogsum_peft.evaluation import evaluate_model, limit_split
from dialogsum_peft.generation import summarize

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.mark.parametrize("n", [0, 1, 2, 7, 10])
@pytest.mark.parametrize("world", [1, 2, 3])
def test_shards_partition_the_indices(n, world):
    shards = [shard_indices(n, rank, world) for rank in range(world)]
    flat = sorted(i for s in shards for i in s)
    assert flat == list(range(n))  # every example exactly once
    assert max(map(len, shards)) - min(map(len, shards)) <= 1  # balanced


def test_shard_and_reassemble_reject_mistakes():
    with pytest.raises(ValueError):
        shard_indices(5, 2, 2)
    with pytest.raises(ValueError):
        shard_indices(5, 0, 0)
    assert reassemble([(1, "b"), (0, "a"), (2, "c")], 3) == ["a", "b", "c"]
    with pytest.raises(RuntimeError, match="more than one process"):
        reassemble([(0, "a"), (0, "a"), (1, "b")], 2)
    with pytest.raises(RuntimeError, match="lost"):
        reassemble([(0, "a")], 2)
    with pytest.raises(RuntimeError, match="outside"):
        reassemble([(0, "a"), (2, "c")], 2)


def test_single_process_wrappers_equal_plain_calls(tiny, sample):
    model, tok = tiny
    state = process_state()
    assert state.num_processes == 1
    test = limit_split(sample["test"], 5)
    dialogues = list(test["dialogue"])
    assert distributed_summarize(model, tok, dialogues, state, max_new_tokens=6, progress=False) == \
        summarize(model, tok, dialogues, max_new_tokens=6, progress=False)
    a = distributed_evaluate(model, tok, test, state, max_new_tokens=6, progress=False)
    b = evaluate_model(model, tok, test, max_new_tokens=6, progress=False)
    assert (a.predictions, a.pair_scores, a.by_protocol) == (b.predictions, b.pair_scores, b.by_protocol)


# ------------------------------------------------------------------------------ real processes
def _env():
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg",
               OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def torchrun(*args, nproc: int = 2, timeout: int = 300):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           str(nproc), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


@pytest.mark.slow
def test_gather_in_order_across_two_processes(tmp_path):
    """Each rank produces values for its own share; every rank gets them all back, in order."""
    script = tmp_path / "gather.py"
    script.write_text(textwrap.dedent("""
        import json, sys
        from dialogsum_peft.distributed import finish, gather_in_order, process_state, shard_indices
        state = process_state()
        out = {}
        for n in (1, 2, 7):  # with n=1 the second process has nothing to contribute
            mine = shard_indices(n, state.process_index, state.num_processes)
            local = [(i, f"item{i}-by-rank{state.process_index}") for i in mine]
            out[n] = gather_in_order(local, n, state)
        with open(f"{sys.argv[1]}-{state.process_index}.json", "w") as fh:
            json.dump({"world": state.num_processes, "out": out}, fh)
        finish(state)
    """))
    torchrun(script, tmp_path / "result")
    for rank in (0, 1):
        result = json.loads((tmp_path / f"result-{rank}.json").read_text())
        assert result["world"] == 2
        assert result["out"] == {
            str(n): [f"item{i}-by-rank{i % 2}" for i in range(n)] for n in (1, 2, 7)}


@pytest.mark.slow
def test_two_process_train_and_evaluate_match_single_process(tmp_path):
    run = tmp_path / "ddp"
    common = ["--preset", "smoke", "--output-dir", run]
    # Data-parallel training: 2 processes x 4 dialogues per step, loss logged every step.
    proc = torchrun("-m", "dialogsum_peft", "train", *common, "--max-steps", "4",
                    "--logging-steps", "1", "--save-steps", "2", "--batch-size", "4",
                    "--learning-rate", "1e-2")
    metrics = json.loads((run / "train_metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["global_step"] == 4
    assert proc.stdout.count("adapter: ") == 1  # only the main process reports and writes
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    assert not list(run.glob(".adapter.tmp-*"))
    history = json.loads((run / "loss_history.json").read_text())
    assert [h["step"] for h in history] == [1, 2, 3, 4]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["checkpoint-2", "checkpoint-4"]

    # The logged loss is the mean over both processes, not N times it: the first step (same
    # initial weights) is on the scale of a single-process run's first step.
    single = tmp_path / "single"
    assert main(["train", "--preset", "smoke", "--output-dir", str(single), "--max-steps", "1",
                 "--logging-steps", "1", "--save-steps", "100", "--batch-size", "4"]) == 0
    first_single = json.loads((single / "loss_history.json").read_text())[0]["loss"]
    assert 0.8 < history[0]["loss"] / first_single < 1.25

    # Distributed evaluation = single-process evaluation, example for example, in order.
    gen = ["--adapter", run / "adapter", "--max-new-tokens", "10", "--batch-size", "4"]
    proc = torchrun("-m", "dialogsum_peft", "evaluate", *common, *gen,
                    "--results-dir", tmp_path / "eval-2", "--predictions-format", "jsonl")
    assert proc.stdout.count("rougeLsum") == 1 and "SMOKE MODE" in proc.stdout
    assert main(["evaluate", *map(str, common), *map(str, gen), "--results-dir",
                 str(tmp_path / "eval-1"), "--predictions-format", "jsonl"]) == 0
    for name in ("base", "lora"):
        two = (tmp_path / "eval-2" / f"predictions-{name}.jsonl").read_text().splitlines()
        one = (tmp_path / "eval-1" / f"predictions-{name}.jsonl").read_text().splitlines()
        assert len(two) == 10 and two == one
    assert json.loads((tmp_path / "eval-2" / "scores.json").read_text()) == \
        json.loads((tmp_path / "eval-1" / "scores.json").read_text())

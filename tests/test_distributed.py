"""Several processes: contiguous shares gathered in order, and real 2-process CPU runs (torchrun, gloo).

On a CPU machine ``accelerate launch --cpu --num_processes 2`` starts a single process unless
MPI is set up, so the multi-process runs here use ``torchrun`` (what ``accelerate launch
--multi_gpu`` runs underneath on GPUs); the code path inside the processes is the same.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import gen
from dialogsum_peft.command_line.cli import main
from dialogsum_peft.command_line.distributed import (
    distributed_evaluate,
    distributed_summarize,
    map_in_order,
    process_state,
)
from dialogsum_peft.command_line.run_outputs import RUN_OUTPUTS
from dialogsum_peft.evaluation import evaluate_model, limit_split
from dialogsum_peft.generation import summarize
from dialogsum_peft.run_folder import RunFolder, is_complete_checkpoint
from dialogsum_peft.versions import known_breakages


def test_single_process_map_keeps_order_and_counts():
    state = process_state()
    assert map_in_order(lambda part: [x * 10 for x in part], [3, 1, 2], state) == [30, 10, 20]

    def refuse_empty(part):
        raise AssertionError("called with an empty share")

    assert map_in_order(refuse_empty, [], state) == []
    with pytest.raises(RuntimeError, match="gathered 2 results for 3 inputs"):
        map_in_order(lambda part: part[:2], [1, 2, 3], state)


def test_single_process_wrappers_equal_plain_calls(tiny, sample):
    model, tok = tiny
    state = process_state()
    assert state.num_processes == 1
    test = limit_split(sample["test"], 5)
    dialogues = list(test["dialogue"])
    assert distributed_summarize(
        model, tok, dialogues, state, progress=False, **gen(max_new_tokens=6)
    ) == summarize(model, tok, dialogues, progress=False, **gen(max_new_tokens=6))
    a = distributed_evaluate(model, tok, test, state, progress=False, **gen(max_new_tokens=6))
    b = evaluate_model(model, tok, test, progress=False, **gen(max_new_tokens=6))
    assert (a.predictions, a.pair_scores, a.by_protocol) == (
        b.predictions,
        b.pair_scores,
        b.by_protocol,
    )


# ------------------------------------------------------------------------------ real processes
def _env():
    return dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
    )


def torchrun(*args, nproc: int = 2, timeout: int = 300, returncode: int | None = 0):
    """One ``torchrun --standalone`` launch; returns the finished process (stdout, stderr),
    which must have exited with ``returncode`` (``None``: any).

    Past ``timeout`` seconds the launcher and its workers (one process group) are killed and the
    test fails with what they printed: a hung launch must not leave workers behind."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(nproc),
        *map(str, args),
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"hung for {timeout} s: {' '.join(cmd)}\n{out[-3000:]}\n{err[-5000:]}")
    if returncode is not None:
        assert proc.returncode == returncode, f"{' '.join(cmd)}\n{out[-3000:]}\n{err[-5000:]}"
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


# Run by each process of the fixture's torchrun launch before the training command: one launch
# (three interpreters, ~15 s here) serves the map_in_order check and the data-parallel run.
GATHER_THEN_TRAIN = textwrap.dedent("""
    import json, sys
    from datasets import Dataset
    from dialogsum_peft.command_line.cli import main
    from dialogsum_peft.command_line.distributed import map_in_order, process_state
    state = process_state()

    def tag(part):
        assert len(part) > 0, "fn called with an empty share"
        return [f"item{i}-by-rank{state.process_index}" for i in part]

    out = {n: map_in_order(tag, list(range(n)), state) for n in (1, 2, 7)}
    rows = Dataset.from_list([{"i": i} for i in range(3)])
    out["dataset"] = map_in_order(lambda part: tag(part["i"]), rows, state)
    with open(f"{sys.argv[1]}-{state.process_index}.json", "w") as fh:
        json.dump({"world": state.num_processes, "out": out}, fh)
    sys.exit(main(sys.argv[2:]))
""")


@pytest.mark.slow
def test_map_in_order_across_two_processes(ddp_run):
    """Each rank maps its own contiguous share; every rank gets all results back, in order.

    With one item the second rank's share is empty: it must not call ``fn`` (``summarize``
    refuses an empty list) and must still take part in the gather.
    """
    run, _ = ddp_run

    def expected(n):  # contiguous shares, the first rank takes the extra item
        first = (n + 1) // 2
        return [f"item{i}-by-rank{0 if i < first else 1}" for i in range(n)]

    for rank in (0, 1):
        result = json.loads((run.parent / f"gather-{rank}.json").read_text())
        assert result["world"] == 2
        assert result["out"] == {**{str(n): expected(n) for n in (1, 2, 7)}, "dataset": expected(3)}


# Data-parallel training: batch 4 split over 2 processes (2 each), loss logged every step,
# checkpoints at steps 2 and 4.
DDP_TRAIN = [
    "train",
    "--preset",
    "smoke",
    "--max-steps",
    "4",
    "--logging-steps",
    "1",
    "--save-steps",
    "2",
    "--batch-size",
    "4",
    "--learning-rate",
    "1e-2",
]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """One real 2-process training run (torchrun, gloo) and its process, preceded in the same
    launch by the map_in_order check (GATHER_THEN_TRAIN). Every slow test reads it, the resume
    test included (one launch costs ~20 s of CPU here: three interpreters importing torch,
    transformers and peft). Tests copy the folder before they change it."""
    run = tmp_path_factory.mktemp("ddp") / "ddp"
    script = run.parent / "gather_then_train.py"
    script.write_text(GATHER_THEN_TRAIN)
    proc = torchrun(script, run.parent / "gather", *DDP_TRAIN, "--output-dir", run)
    return run, proc


@pytest.mark.slow
def test_two_process_train_and_evaluate_match_single_process(ddp_run, tmp_path):
    run, proc = ddp_run
    common = ["--preset", "smoke", "--output-dir", run]
    metrics = json.loads((run / "train_metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["global_step"] == 4
    assert proc.stdout.count("adapter: ") == 1  # only the main process reports and writes
    assert proc.stderr.count("train dialogues are longer than max_source_length") == 1  # warns
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    assert not list(run.glob(".adapter.tmp-*"))
    history = json.loads((run / "loss_history.json").read_text())
    assert [h["step"] for h in history] == [1, 2, 3, 4]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "checkpoint-2",
        "checkpoint-4",
        "run.json",
    ]

    # The logged loss is the mean over both processes, not N times it: the first step (same
    # initial weights) is on the scale of a single-process run's first step.
    single = tmp_path / "single"
    assert (
        main(
            [
                "train",
                "--preset",
                "smoke",
                "--output-dir",
                str(single),
                "--max-steps",
                "1",
                "--logging-steps",
                "1",
                "--save-steps",
                "100",
                "--batch-size",
                "4",
            ]
        )
        == 0
    )
    first_single = json.loads((single / "loss_history.json").read_text())[0]["loss"]
    assert 0.8 < history[0]["loss"] / first_single < 1.25

    # Distributed evaluation = single-process evaluation, example for example, in order.
    flags = ["--adapter", run / "adapter", "--max-new-tokens", "10", "--batch-size", "4"]
    proc = torchrun(
        "-m",
        "dialogsum_peft",
        "evaluate",
        *common,
        *flags,
        "--results-dir",
        tmp_path / "eval-2",
        "--predictions-format",
        "jsonl",
    )
    assert proc.stdout.count("ROUGE F-measure, protocol: mean") == 1 and "SMOKE MODE" in proc.stdout
    assert (
        main(
            [
                "evaluate",
                *map(str, common),
                *map(str, flags),
                "--results-dir",
                str(tmp_path / "eval-1"),
                "--predictions-format",
                "jsonl",
            ]
        )
        == 0
    )
    for name in ("base", "lora"):
        two = (tmp_path / "eval-2" / f"predictions-{name}.jsonl").read_text().splitlines()
        one = (tmp_path / "eval-1" / f"predictions-{name}.jsonl").read_text().splitlines()
        assert len(two) == 10 and two == one
    assert json.loads((tmp_path / "eval-2" / "scores.json").read_text()) == json.loads(
        (tmp_path / "eval-1" / "scores.json").read_text()
    )


# ------------------------------------------------------------------------------ issue 17, fault 5
TRAIN = ["train", "--preset", "smoke", "--train-limit", "16", "--logging-steps", "1"]


def _errors(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]


@pytest.fixture(scope="module")
def one_process_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("one-process") / "run"
    assert main([*TRAIN, "--output-dir", str(run), "--max-steps", "1", "--save-steps", "1"]) == 0
    return run


def test_a_checkpoint_with_one_rng_file_per_process_is_complete(one_process_run, tmp_path):
    """The Trainer writes rng_state_<rank>.pth in a multi-process run. Before the fix
    `assert is_complete_checkpoint(ckpt)` failed: no multi-process run could resume."""
    ckpt = tmp_path / "checkpoints" / "checkpoint-1"
    shutil.copytree(one_process_run / "checkpoints" / "checkpoint-1", ckpt)
    (ckpt / "rng_state.pth").rename(ckpt / "rng_state_0.pth")
    shutil.copy(ckpt / "rng_state_0.pth", ckpt / "rng_state_1.pth")
    assert is_complete_checkpoint(ckpt)
    assert RunFolder(tmp_path).last_checkpoint() == str(ckpt)
    (ckpt / "rng_state_0.pth").unlink()  # a rank's file missing: not complete
    assert not is_complete_checkpoint(ckpt)
    (ckpt / "rng_state_0.pth").write_bytes(b"cut sh")  # a rank's file cut short: not complete
    assert not is_complete_checkpoint(ckpt)


def test_resume_with_another_world_size_is_refused(one_process_run, monkeypatch, capsys):
    """Before the fix the 2-process resume of a 1-process run went through (exit 0) with twice
    the effective batch: `assert main(...) == 2` failed."""
    before = sorted(p.name for p in one_process_run.rglob("*"))
    monkeypatch.setenv("WORLD_SIZE", "2")  # what torchrun/accelerate set; refused before any setup
    assert (
        main(
            [
                *TRAIN,
                "--output-dir",
                str(one_process_run),
                "--max-steps",
                "1",
                "--save-steps",
                "1",
                "--resume",
            ]
        )
        == 2
    )
    (line,) = _errors(capsys)
    assert "belong to a run with other settings (world_size: 1 -> 2)" in line
    assert sorted(p.name for p in one_process_run.rglob("*")) == before


def test_an_effective_batch_that_cannot_be_split_is_refused_before_writing(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert main([*TRAIN, "--output-dir", str(tmp_path / "r"), "--batch-size", "8"]) == 2
    (line,) = _errors(capsys)
    assert "effective batch 8 (batch size 8 x accumulation 1) cannot be split over 3" in line
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_two_process_run_keeps_the_recipe_and_resumes_exactly(ddp_run, tmp_path):
    straight, _ = ddp_run
    metrics = json.loads((straight / "train_metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["effective_batch"] == 4  # 2 per device x 2
    identity = json.loads((straight / "checkpoints" / "run.json").read_text())
    assert (identity["world_size"], identity["effective_batch"]) == (2, 4)
    assert {p.name for p in (straight / "checkpoints" / "checkpoint-2").glob("rng_state*")} == {
        "rng_state_0.pth",
        "rng_state_1.pth",
    }
    uninterrupted = json.loads((straight / "loss_history.json").read_text())

    # a copy of the run, interrupted after checkpoint-2: the last checkpoint and the final
    # outputs are gone. (A resume like this one hung once in six suite runs on 3 December; 12
    # of 12 copies resumed under double load since; a hang now fails in 2 minutes.)
    run = tmp_path / "ddp"
    shutil.copytree(straight, run)
    shutil.rmtree(run / "checkpoints" / "checkpoint-4")
    for name in RUN_OUTPUTS:
        if name not in ("checkpoints", "config.json") and (run / name).exists():
            shutil.rmtree(run / name) if (run / name).is_dir() else (run / name).unlink()
    if "cpu-multiprocess-resume" in [b.name for b in known_breakages()]:  # transformers < 5.18
        proc = torchrun(
            "-m",
            "dialogsum_peft",
            *DDP_TRAIN,
            "--output-dir",
            run,
            "--resume",
            timeout=120,
            returncode=None,
        )
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
        assert proc.returncode != 0 and len(errors) == 1, proc.stderr[-3000:]
        assert "cpu:0" in errors[0] and "pip install -U 'transformers>=5.18'" in errors[0]
        # the only traceback is torchrun's own report that a worker exited non-zero
        assert proc.stderr.count("Traceback") == proc.stderr.count("ChildFailedError:")
        return
    proc = torchrun(
        "-m", "dialogsum_peft", *DDP_TRAIN, "--output-dir", run, "--resume", timeout=120
    )
    assert "resuming from" in proc.stdout and "checkpoint-2" in proc.stdout
    resumed = json.loads((run / "loss_history.json").read_text())
    assert [h["step"] for h in resumed] == [1, 2, 3, 4]
    assert [h["loss"] for h in resumed] == pytest.approx(
        [h["loss"] for h in uninterrupted], rel=1e-4
    )

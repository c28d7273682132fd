"""dialogsum_peft.run_folder on real Trainer runs: a killed training run resumes to identical
weights and losses, a checkpoint holds the full resume state as safetensors, a half-written one
is skipped, RunFolder.resume_or_start resumes only the same run, and no Hub token ends up in a
run's files."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import shutil
import signal
import string
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from dialogsum_peft.command_line.commands import make_trainer
from dialogsum_peft.command_line.loading import load_base_model
from dialogsum_peft.command_line.run_outputs import save_adapter
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.errors import RunFolderError
from dialogsum_peft.methods import apply_method
from dialogsum_peft.run_folder import CHECKPOINT_STATE_FILES, RunFolder
from dialogsum_peft.safety import redact, scan_for_secrets
from dialogsum_peft.training_log import loss_history

SRC = Path(__file__).resolve().parents[1] / "src" / "dialogsum_peft"


def run_config(output_dir, **overrides) -> TrainConfig:
    """12 steps over 40 examples in batches of 8: 2.4 epochs, so a resume crosses an epoch end."""
    base = dict(
        output_dir=str(output_dir), max_steps=12, logging_steps=1, save_steps=3, save_total_limit=2
    )
    return TrainConfig.smoke(**{**base, **overrides})


def lora_state(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def straight_run(sample, tmp_path_factory):
    """A smoke run trained straight through, with a fake HF_TOKEN in the environment."""
    out = tmp_path_factory.mktemp("straight")
    token = "hf_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(34))
    config = run_config(out)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_TOKEN", token)
        config.save(out / "config.json")
        model, tok = load_base_model(config)
        peft_model = apply_method(model, config)
        trainer = make_trainer(peft_model, tok, sample, config)
        trainer.train()
        save_adapter(peft_model, out / "adapter", tokenizer=tok)
    return dict(
        out=out,
        config=config,
        token=token,
        losses=loss_history(trainer),
        weights=lora_state(peft_model),
    )


# ------------------------------------------------------------------ 1. interruption and resume
CHILD = textwrap.dedent("""
    import sys, time, torch
    from transformers import TrainerCallback
    from dialogsum_peft.data import load_dialogsum
    from dialogsum_peft.offline import sample_data_dir
    from dialogsum_peft.config import TrainConfig
    from dialogsum_peft.methods import apply_method
    from dialogsum_peft.command_line.loading import load_base_model
    from dialogsum_peft.command_line.commands import make_trainer

    out, marker, threads, kill_after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)

    class Hang(TrainerCallback):  # a long run: the parent kills it while it is training
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == kill_after:
                open(marker, "w").write(str(state.global_step))
                time.sleep(600)

    sample = load_dialogsum(sample_data_dir())
    config = TrainConfig.smoke(output_dir=out, max_steps=12, logging_steps=1, save_steps=3,
                               save_total_limit=2)
    model, tok = load_base_model(config)
    make_trainer(apply_method(model, config), tok, sample, config, callbacks=[Hang()]).train()
""")


def test_killed_run_resumes_to_identical_weights_and_losses(straight_run, sample, tmp_path):
    out = tmp_path / "run"
    marker = tmp_path / "at-step"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), str(marker), str(torch.get_num_threads()), "7"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"training child exited early:\n{proc.stderr.read()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail("training child did not reach step 7 in 180 s")
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)  # no clean-up, no final save: a real power cut
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()

    last = RunFolder(out).last_checkpoint()
    assert last is not None and Path(last).name == "checkpoint-6"
    assert not (out / "adapter").exists()  # killed before the end: no final adapter

    config = run_config(out)
    model, tok = load_base_model(config)
    peft_model = apply_method(model, config)
    trainer = make_trainer(peft_model, tok, sample, config)
    trainer.train(resume_from_checkpoint=last)

    # Exact equality, not a tolerance: same seed, same CPU, same thread count; the checkpoint
    # restores the adapter, AdamW moments, LR schedule and the Python/NumPy/torch RNG states
    # (dropout masks), and data_seed fixes the length-grouped batch order per epoch.
    assert loss_history(trainer) == straight_run["losses"]
    assert [s for s, _ in loss_history(trainer)] == list(range(1, 13))
    resumed = lora_state(peft_model)
    assert resumed.keys() == straight_run["weights"].keys()
    for name, tensor in resumed.items():
        assert torch.equal(tensor, straight_run["weights"][name]), name


def test_checkpoints_hold_full_resume_state_as_safetensors(straight_run):
    ckpts = straight_run["out"] / "checkpoints"
    # save_total_limit=2 keeps only the last two of checkpoint-3/6/9/12
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-12", "checkpoint-9"]
    last = ckpts / "checkpoint-12"
    files = {p.name for p in last.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", *CHECKPOINT_STATE_FILES} <= files
    # adapter only (no 250M-parameter base copy), and no pickled weights
    assert not {"model.safetensors", "pytorch_model.bin", "adapter_model.bin"} & files
    assert [
        f
        for f in files
        if f.endswith((".bin", ".pt", ".pth"))
        and f not in ("optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin")
    ] == []
    state = json.loads((last / "trainer_state.json").read_text())
    assert state["global_step"] == 12
    assert (straight_run["out"] / "adapter" / "adapter_model.safetensors").is_file()


def test_half_written_checkpoint_is_skipped(straight_run, tmp_path, caplog):
    out = tmp_path / "run"
    shutil.copytree(straight_run["out"] / "checkpoints", out / "checkpoints")
    partial = out / "checkpoints" / "checkpoint-15"  # killed while the Trainer was saving:
    partial.mkdir()  # weights written, optimizer/RNG/trainer_state not yet
    shutil.copy(out / "checkpoints" / "checkpoint-12" / "adapter_model.safetensors", partial)
    shutil.copy(out / "checkpoints" / "checkpoint-12" / "adapter_config.json", partial)
    with caplog.at_level(logging.WARNING, logger="dialogsum_peft.checkpoints"):
        last = RunFolder(out).last_checkpoint()
    assert Path(last).name == "checkpoint-12"
    assert "skipping incomplete checkpoint" in caplog.text and "checkpoint-15" in caplog.text
    assert RunFolder(tmp_path / "never-trained").last_checkpoint() is None


@pytest.mark.parametrize(
    "world_size, files, complete",
    [
        (2, ["rng_state_0.pth"], False),  # the case: resumed before the fix, not exactly
        (2, ["rng_state_1.pth"], False),
        (2, ["rng_state_0.pth", "rng_state_1.pth"], True),
        (3, ["rng_state_0.pth", "rng_state_1.pth"], False),
        (1, ["rng_state_0.pth"], False),  # a one-process run writes rng_state.pth
        (1, ["rng_state.pth"], True),
        (2, ["rng_state.pth"], False),
    ],
)
def test_complete_means_one_rng_state_per_process_of_the_run(
    straight_run, tmp_path, world_size, files, complete
):
    """Issue 32 (6): a checkpoint is complete when it holds every file its world size needs. The
    world size is the run identity's (checkpoints/run.json), read by every way to resume: the
    command line's --resume, the notebook's resume_or_start, find_last_checkpoint. Before the fix
    a 2-process checkpoint without rng_state_1.pth counted as complete."""
    from dialogsum_peft.run_folder import is_complete_checkpoint

    out, config = tmp_path / "run", straight_run["config"]
    ckpt = out / "checkpoints" / "checkpoint-12"
    shutil.copytree(straight_run["out"] / "checkpoints" / "checkpoint-12", ckpt)
    rng = (ckpt / "rng_state.pth").read_bytes()
    (ckpt / "rng_state.pth").unlink()
    for name in files:
        (ckpt / name).write_bytes(rng)
    identity = config.identity(world_size)
    RunFolder(out).write_identity(identity)
    assert is_complete_checkpoint(ckpt) is complete
    assert is_complete_checkpoint(ckpt, world_size=world_size) is complete
    assert RunFolder(out).last_checkpoint() == (str(ckpt) if complete else None)
    if complete:
        assert RunFolder(out).resume_or_start(identity) == str(ckpt)
    else:  # the notebook starts afresh instead of resuming a checkpoint that is not exact
        assert RunFolder(out).resume_or_start(identity) is None


def test_resume_or_start_resumes_the_same_run_or_starts_afresh(straight_run, tmp_path):
    """The notebook's resume step: the last checkpoint of the same run, a refusal naming the
    differences for another run's checkpoints, and with resume=False a folder holding nothing
    but the new run's identity."""
    out, config = tmp_path / "run", straight_run["config"]
    shutil.copytree(straight_run["out"] / "checkpoints", out / "checkpoints")
    with pytest.raises(RunFolderError, match="has no run.json"):  # nothing says whose they are
        RunFolder(out).resume_or_start(config.identity())
    RunFolder(out).write_identity(config.identity())
    assert Path(RunFolder(out).resume_or_start(config.identity())).name == "checkpoint-12"
    other = dataclasses.replace(config, lora_r=8).identity()
    with pytest.raises(RunFolderError, match=r"lora_r: 32 -> 8"):
        RunFolder(out).resume_or_start(other)
    assert (out / "checkpoints" / "checkpoint-12").is_dir()  # a refusal deletes nothing
    assert RunFolder(out).resume_or_start(other, resume=False) is None
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["run.json"]
    assert RunFolder(out).identity() == other


# ------------------------------------------------------------------ 2. tokens never saved
def test_hub_token_never_lands_in_run_artefacts(straight_run, tmp_path):
    out, token = straight_run["out"], straight_run["token"]
    scanned = [p for p in out.rglob("*") if p.is_file()]
    names = {p.name for p in scanned}
    assert {
        "config.json",
        "trainer_state.json",
        "adapter_config.json",
        "training_args.bin",
        "adapter_model.safetensors",
        "tokenizer_config.json",
    } <= names
    assert scan_for_secrets(out, extra_secrets=[token]) == []
    assert not any(token.encode() in p.read_bytes() for p in scanned)

    # the scanner does find a leaked token (exact value or token-shaped) and never repeats it
    leak = tmp_path / "leak"
    leak.mkdir()
    (leak / "cell_output.txt").write_text(f"login ok, token={token}\n")
    other = "hf_" + "A1b2C3d4" * 5
    (leak / "notes.json").write_text(json.dumps({"hub_token": other}))
    findings = scan_for_secrets(leak, extra_secrets=[token])
    assert sorted(Path(f.path).name for f in findings) == ["cell_output.txt", "notes.json"]
    assert all(token not in str(f) and other not in str(f) for f in findings)
    assert redact(token) in str(findings[0])

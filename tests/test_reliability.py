"""Failure paths, each proven on real objects: a killed training run resumes exactly, NaN never
reaches disk, bad data and an unreachable Hub give one clear message, nothing unsafe is loaded
and no Hub token ends up in a run's files."""

from __future__ import annotations

import ast
import dataclasses
import json
import logging
import os
import re
import secrets
import shutil
import signal
import string
import subprocess
import sys
import textwrap
import time
import traceback
from pathlib import Path

import pytest
import torch

from dialogsum_peft.data import DataError, LoadReport, build_prompt, load_dialogsum, tokenize_split
from dialogsum_peft.adapters import save_adapter
from dialogsum_peft.checkpoints import CHECKPOINT_STATE_FILES, drive_output_dir, find_last_checkpoint
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.errors import ConfigError, HubUnavailableError, RunFolderError, TrainingError
from dialogsum_peft.hardware import in_colab
from dialogsum_peft.methods import apply_method
from dialogsum_peft.modeling import load_base_model
from dialogsum_peft.safety import redact, scan_for_secrets
from dialogsum_peft.trainer import make_trainer, training_arguments
from dialogsum_peft.trainer_parts import loss_history

SRC = Path(__file__).resolve().parents[1] / "src" / "dialogsum_peft"


def run_config(output_dir, **overrides) -> TrainConfig:
    """12 steps over 40 examples in batches of 8: 2.4 epochs, so a resume crosses an epoch end."""
    base = dict(output_dir=str(output_dir), max_steps=12, logging_steps=1, save_steps=3,
                save_total_limit=2)
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
    return dict(out=out, config=config, token=token, losses=loss_history(trainer),
                weights=lora_state(peft_model))


# ------------------------------------------------------------------ 1. interruption and resume
CHILD = textwrap.dedent("""
    import sys, time, torch
    from transformers import TrainerCallback
    from dialogsum_peft.data import load_dialogsum
    from dialogsum_peft.offline import sample_data_dir
    from dialogsum_peft.config import TrainConfig
    from dialogsum_peft.methods import apply_method
    from dialogsum_peft.modeling import load_base_model
    from dialogsum_peft.trainer import make_trainer

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
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
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

    last = find_last_checkpoint(out)
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
    assert [f for f in files if f.endswith((".bin", ".pt", ".pth"))
            and f not in ("optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin")] == []
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
        last = find_last_checkpoint(out)
    assert Path(last).name == "checkpoint-12"
    assert "skipping incomplete checkpoint" in caplog.text and "checkpoint-15" in caplog.text
    assert find_last_checkpoint(tmp_path / "never-trained") is None


def test_resume_or_start_resumes_the_same_run_or_starts_afresh(straight_run, tmp_path):
    """The notebook's resume step: the last checkpoint of the same run, a refusal naming the
    differences for another run's checkpoints, and with resume=False a folder holding nothing
    but the new run's identity."""
    from dialogsum_peft.checkpoints import read_run_identity, write_run_identity
    from dialogsum_peft.trainer import resume_or_start
    from dialogsum_peft.errors import RunFolderError

    out, config = tmp_path / "run", straight_run["config"]
    shutil.copytree(straight_run["out"] / "checkpoints", out / "checkpoints")
    with pytest.raises(RunFolderError, match="has no run.json"):  # nothing says whose they are
        resume_or_start(out, config.identity())
    write_run_identity(out, config.identity())
    assert Path(resume_or_start(out, config.identity())).name == "checkpoint-12"
    other = dataclasses.replace(config, lora_r=8).identity()
    with pytest.raises(RunFolderError, match=r"lora_r: 32 -> 8"):
        resume_or_start(out, other)
    assert (out / "checkpoints" / "checkpoint-12").is_dir()  # a refusal deletes nothing
    assert resume_or_start(out, other, resume=False) is None
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["run.json"]
    assert read_run_identity(out) == other


# ------------------------------------------------------------------ 2. Google Drive
@pytest.mark.skipif(in_colab(), reason="tests the non-Colab path")
def test_drive_output_dir_outside_colab(tmp_path):
    with pytest.raises(RunFolderError, match=r"only inside Google Colab.*SAVE_TO_DRIVE = False"):
        drive_output_dir("run1", mount=True, mount_point=str(tmp_path / "drive"))
    assert not (tmp_path / "drive").exists()  # nothing created on the way out
    with pytest.raises(RunFolderError, match="not mounted"):
        drive_output_dir("run1", mount=False, mount_point=str(tmp_path / "drive"))
    # an already-mounted Drive (here a folder laid out like one) gets the run folder
    (tmp_path / "drive" / "MyDrive").mkdir(parents=True)
    path = drive_output_dir("run1", mount=False, mount_point=str(tmp_path / "drive"))
    assert path == str(tmp_path / "drive" / "MyDrive" / "dialogsum_peft" / "run1")
    assert Path(path).is_dir()
    for bad in ("", "../escape", "a/b", ".."):
        with pytest.raises(RunFolderError, match="plain folder name"):
            drive_output_dir(bad, mount=False, mount_point=str(tmp_path / "drive"))


# ------------------------------------------------------------------ 3. bad input
def test_malformed_json_line_names_file_and_line(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"id": "a", "dialogue": "d", "summary": "s"}\n'
                                          '{"id": "b", "dialogue": "d", "summ\n')
    with pytest.raises(DataError, match=r"train\.jsonl: line 2 is not valid JSON"):
        load_dialogsum(tmp_path)


@pytest.mark.parametrize("rows, file, message", [
    ([{"id": "r7", "dialogue": 12, "summary": "s"}], "train.jsonl",
     r"split 'train', row 'r7': field 'dialogue' must be a string, got int"),
    ([{"id": "r8", "dialogue": ["#Person1#: hi"], "summary": "s"}], "train.jsonl",
     r"split 'train', row 'r8': field 'dialogue' must be a string, got list"),
    ([{"fname": "test_9", "dialogue": "d", "summary1": "a", "summary2": " ", "summary3": "c"}],
     "dialogsum.test.jsonl", r"split 'test', row 'test_9': field 'summary2' is empty"),
])
def test_more_bad_rows_name_split_row_and_field(tmp_path, rows, file, message):
    write_jsonl(tmp_path / file, rows)
    with pytest.raises(DataError, match=message):
        load_dialogsum(tmp_path)


def test_skipped_rows_are_counted_and_logged(tmp_path, caplog):
    write_jsonl(tmp_path / "train.jsonl", [
        {"id": "ok", "dialogue": "d", "summary": "s"},
        {"id": "no-summary", "dialogue": "d"},
        {"id": "empty", "dialogue": "  ", "summary": "s"},
    ])
    report = LoadReport()
    with caplog.at_level(logging.WARNING, logger="dialogsum_peft.data"):
        ds = load_dialogsum(tmp_path, skip_invalid=True, report=report)
    assert ds["train"]["id"] == ["ok"] and report.n_skipped == 2
    assert "'no-summary'" in caplog.text and "'empty'" in caplog.text
    write_jsonl(tmp_path / "train.jsonl", [{"id": "x", "dialogue": "", "summary": "s"}])
    with pytest.raises(DataError, match="split 'train' has no usable rows"):
        load_dialogsum(tmp_path, skip_invalid=True)


def test_missing_train_split_is_clear_in_make_trainer(sample, tiny, tmp_path):
    model, tok = tiny
    config = TrainConfig.smoke(output_dir=str(tmp_path))
    no_train = sample.copy()
    del no_train["train"]
    with pytest.raises(DataError, match=r"no 'train' split \(available: validation, test\)"):
        make_trainer(apply_method(model, config), tok, no_train, config)
    assert not (tmp_path / "checkpoints").exists()


def test_truncation_count_is_logged(tiny, sample, caplog):
    _, tok = tiny
    with caplog.at_level(logging.INFO, logger="dialogsum_peft.data"):
        tokenize_split(sample["train"], tok, max_source_length=256, max_target_length=16,
                       desc="tokenizing train")
    line = next(r.getMessage() for r in caplog.records if "truncated" in r.getMessage())
    m = re.search(r"tokenizing train: (\d+) of 40 dialogues truncated to 256 tokens, "
                  r"(\d+) of 40 summaries to 16 tokens", line)
    assert m, line
    n_long = sum(len(tok(build_prompt(d))["input_ids"]) > 256 for d in sample["train"]["dialogue"])
    n_long_sum = sum(len(tok(text_target=s)["input_ids"]) > 16 for s in sample["train"]["summary"])
    assert (int(m.group(1)), int(m.group(2))) == (n_long, n_long_sum)
    assert n_long >= 1 and n_long_sum >= 1


# ------------------------------------------------------------------ 4. NaN / fp16
def test_nan_between_logs_never_reaches_a_checkpoint(sample, tmp_path):
    from transformers import TrainerCallback

    class Overflow(TrainerCallback):
        """After step 2, make the base model overflow as fp16 would (inf -> NaN activations)."""

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step == 2:
                with torch.no_grad():
                    model.get_base_model().encoder.final_layer_norm.weight.fill_(float("nan"))

    # a checkpoint every step but a log only every 5: the loss check alone would come too late
    config = TrainConfig.smoke(output_dir=str(tmp_path), max_steps=8, logging_steps=5,
                               save_steps=1, save_total_limit=5)
    model, tok = load_base_model(config)
    peft_model = apply_method(model, config)
    trainer = make_trainer(peft_model, tok, sample, config, callbacks=[Overflow()])
    with pytest.raises(TrainingError,
                       match=r"weights became NaN/inf at step 3 .*fp16.*before checkpoint-3"):
        trainer.train()
    ckpts = tmp_path / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-1", "checkpoint-2"]
    from safetensors.torch import load_file

    for ckpt in ckpts.iterdir():
        weights = load_file(ckpt / "adapter_model.safetensors")
        assert weights and all(torch.isfinite(t).all() for t in weights.values())
    assert Path(find_last_checkpoint(tmp_path)).name == "checkpoint-2"  # resumable, sound
    # and the broken model cannot be saved as an adapter either
    with pytest.raises(TrainingError, match="refusing to save weights with NaN"):
        save_adapter(peft_model, tmp_path / "adapter")
    assert not (tmp_path / "adapter").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".adapter")] == []


def test_fp16_refused_at_config_time(tmp_path):
    with pytest.raises(ConfigError, match="T5 overflows in fp16"):
        TrainConfig(precision="fp16")
    config = TrainConfig.smoke(output_dir=str(tmp_path))
    for override in ({"fp16": True}, {"fp16_full_eval": True}):
        with pytest.raises(ConfigError, match=r"refused: T5 overflows in fp16"):
            training_arguments(config, **override)
    assert training_arguments(config, fp16=False).fp16 is False


# ------------------------------------------------------------------ 5. Hub unreachable
@pytest.mark.parametrize("call, name", [
    ("model", "google/flan-t5-base"),
    ("model", "nobody/no-such-model-xyz"),
    ("data", "knkarthick/dialogsum"),
    ("data", "nobody/no-such-dataset-xyz"),
])
def test_offline_hub_gives_one_clear_message_fast(call, name):
    from huggingface_hub import constants

    from dialogsum_peft.modeling import load_model_and_tokenizer

    # conftest sets HF_HUB_OFFLINE=1 before anything imports huggingface_hub: no network retries
    assert constants.HF_HUB_OFFLINE
    start = time.monotonic()
    with pytest.raises(HubUnavailableError) as err:
        load_model_and_tokenizer(name) if call == "model" else load_dialogsum(name)
    assert time.monotonic() - start < 30
    msg = str(err.value)
    assert f"'{name}'" in msg and "Hugging Face Hub" in msg
    assert "DIALOGSUM_MODE=smoke" in msg and "--preset smoke" in msg
    # one exception, not a chain of tracebacks
    text = "".join(traceback.format_exception(err.value))
    assert "During handling" not in text and "direct cause" not in text
    assert text.count("Traceback (most recent call last)") == 1


# ------------------------------------------------------------------ 6. CPU-only full run
def test_cpu_warning_estimate_follows_measured_speed():
    from dialogsum_peft.hardware import CPU_TRAIN_SAMPLES_PER_S, DeviceInfo, cpu_warning

    msg = cpu_warning(DeviceInfo(), 8000, smoke=False)
    hours = 8000 / CPU_TRAIN_SAMPLES_PER_S / 3600
    assert f"roughly {hours:.0f} hours" in msg and "8,000 examples" in msg


# ------------------------------------------------------------------ 7. safe by default
def _calls(tree, attr):
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == attr):
            yield node


def test_never_trust_remote_code_and_torch_load_weights_only():
    sources = {p: p.read_text() for p in SRC.rglob("*.py")}
    assert len(sources) >= 10
    for path, text in sources.items():
        assert not re.search(r"trust_remote_code\s*=\s*True", text), path
        for call in _calls(ast.parse(text), "load"):
            if isinstance(call.func.value, ast.Name) and call.func.value.id == "torch":
                kw = {k.arg: k.value for k in call.keywords}
                assert isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True, path


def test_installed_trainer_resumes_with_weights_only():
    """Resuming unpickles optimizer.pt, scheduler.pt and rng_state.pth: the installed Trainer
    must do it with ``weights_only=True`` (it never loads the pickled training_args.bin)."""
    import transformers.trainer as trainer_module

    tree = ast.parse(Path(trainer_module.__file__).read_text())
    loads = [c for c in _calls(tree, "load")
             if isinstance(c.func.value, ast.Name) and c.func.value.id == "torch"]
    assert loads
    for call in loads:
        kw = {k.arg: k.value for k in call.keywords}
        assert isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True, call.lineno
    assert "training_args.bin" not in Path(trainer_module.__file__).read_text().split(
        "def _load_from_checkpoint")[1].split("\n    def ")[0]


# ------------------------------------------------------------------ 8. tokens never saved
def test_hub_token_never_lands_in_run_artefacts(straight_run, tmp_path):
    out, token = straight_run["out"], straight_run["token"]
    scanned = [p for p in out.rglob("*") if p.is_file()]
    names = {p.name for p in scanned}
    assert {"config.json", "trainer_state.json", "adapter_config.json", "training_args.bin",
            "adapter_model.safetensors", "tokenizer_config.json"} <= names
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


def test_batch_order_depends_only_on_seed_and_epoch(sample, tiny, tmp_path):
    """What makes a mid-epoch resume exact: the global RNG (dropout draws) cannot move batches."""
    model, tok = tiny
    config = TrainConfig.smoke(output_dir=str(tmp_path))
    trainer = make_trainer(apply_method(model, config), tok, sample, config)
    loader = trainer.get_train_dataloader()

    def order(epoch, noise_seed):
        torch.manual_seed(noise_seed)
        loader.set_epoch(epoch)
        return [tuple(b["input_ids"].sum(dim=1).tolist()) for b in loader]

    assert order(1, noise_seed=1) == order(1, noise_seed=2)
    assert order(0, noise_seed=3) != order(1, noise_seed=3)  # still reshuffled every epoch

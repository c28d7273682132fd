"""dialogsum_peft.command_line.commands and generate, end to end: the attack list on the command
line: every bad input is one ``error:`` line and exit 2, no traceback, and nothing already on
disk changes; a run folder belongs to one run."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import needs_ct2, summarize_sample_argv
from dialogsum_peft.command_line.cli import main
from dialogsum_peft.command_line.run_outputs import RunLock
from dialogsum_peft.errors import RunFolderError, TrainingError
from dialogsum_peft.offline import sample_data_dir
from dialogsum_peft.run_folder import RunFolder

SMOKE = ["--preset", "smoke"]
# No validation loss (--eval-steps 0): these tests are about folders and refusals, and every
# run below would otherwise evaluate at each of its 4 steps.
TINY_RUN = [
    "--max-steps",
    "4",
    "--logging-steps",
    "2",
    "--save-steps",
    "2",
    "--train-limit",
    "16",
    "--eval-steps",
    "0",
]


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (what a refused command must leave untouched)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished smoke run (4 steps, checkpoints at 2 and 4)."""
    out = tmp_path_factory.mktemp("hardening") / "run"
    assert main(["train", *SMOKE, "--output-dir", str(out), *TINY_RUN]) == 0
    return out


def one_error(capsys, rc: int) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert rc == 2, err
    assert "Traceback" not in err
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, err
    return errors[0]


# ------------------------------------------------------------------ a run owns its folder
def test_second_run_into_a_used_folder_is_refused(run, capsys):
    before = snapshot(run)
    line = one_error(
        capsys, main(["train", *SMOKE, "--output-dir", str(run), *TINY_RUN, "--seed", "7"])
    )
    assert str(run) in line and "--resume" in line and "--overwrite" in line
    assert snapshot(run) == before


@pytest.mark.parametrize(
    "flags, field",
    [
        (["--seed", "7"], "seed: 42 -> 7"),
        (["--lr", "0.5"], "learning_rate: 0.003 -> 0.5"),
        (["--lora-r", "4"], "lora_r: 32 -> 4"),
        (["--max-steps", "6"], "max_steps: 4 -> 6"),
    ],
)
def test_resume_with_other_settings_is_refused_naming_them(run, capsys, flags, field):
    before = snapshot(run)
    line = one_error(
        capsys, main(["train", *SMOKE, "--output-dir", str(run), *TINY_RUN, *flags, "--resume"])
    )
    assert "cannot resume" in line and field in line
    assert snapshot(run) == before  # config.json untouched


def test_resume_may_change_logging_and_checkpoint_interval(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "checkpoints" / "checkpoint-4")
    assert (
        main(
            [
                "train",
                "--config",
                str(copy / "config.json"),
                "--output-dir",
                str(copy),
                "--logging-steps",
                "1",
                "--save-steps",
                "3",
                "--resume",
            ]
        )
        == 0
    )
    saved = json.loads((copy / "config.json").read_text())
    assert saved["logging_steps"] == 1 and saved["save_steps"] == 3
    assert json.loads((copy / "train_metrics.json").read_text())["global_step"] == 4


@pytest.fixture(scope="module")
def overwritten(run, tmp_path_factory):
    """A copy of the run holding a file of the user's (notes with a Hub token in them), trained
    again with another seed and --overwrite, and what that printed on stderr. One training read
    by the two tests below (the overwrite itself, and the token report after the run)."""
    copy = tmp_path_factory.mktemp("overwrite") / "run"
    shutil.copytree(run, copy)
    token = "hf_" + "Ab3" * 12
    notes = f"my token is {token}\n"  # not a training output: kept
    (copy / "notes.txt").write_text(notes)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert (
            main(
                [
                    "train",
                    *SMOKE,
                    "--output-dir",
                    str(copy),
                    *TINY_RUN,
                    "--seed",
                    "7",
                    "--overwrite",
                ]
            )
            == 0
        )
    return copy, token, notes, err.getvalue()


def test_overwrite_replaces_the_run(overwritten):
    copy, _, notes, _ = overwritten
    assert json.loads((copy / "checkpoints" / "run.json").read_text())["seed"] == 7
    assert json.loads((copy / "config.json").read_text())["seed"] == 7
    assert (copy / "notes.txt").read_text() == notes
    assert not (copy / ".train.lock").exists()


def test_a_live_lock_stops_a_second_training(tmp_path, capsys):
    out = tmp_path / "run"
    with RunLock(out):  # this process is alive and holds the folder
        with pytest.raises(RunFolderError, match="another training"):
            RunLock(out).acquire()
        line = one_error(capsys, main(["train", *SMOKE, "--output-dir", str(out), *TINY_RUN]))
        assert "another training" in line and str(os.getpid()) in line
    assert not (out / ".train.lock").exists()
    assert not (out / "checkpoints").exists()


def test_a_stale_lock_is_taken_over(tmp_path, caplog):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    out = tmp_path / "run"
    out.mkdir()
    import socket

    (out / ".train.lock").write_text(f"{dead} {socket.gethostname()}\n")
    with RunLock(out) as lock:
        assert lock.held and (out / ".train.lock").read_text().split()[0] == str(os.getpid())
    assert "stale lock" in caplog.text


# ------------------------------------------------------------------ checkpoints must parse
@pytest.mark.parametrize(
    "damage", ["trainer_state.json", "optimizer.pt", "adapter_model.safetensors"]
)
def test_a_checkpoint_that_does_not_parse_is_skipped(run, tmp_path, damage, caplog):
    copy = tmp_path / "run"
    shutil.copytree(run / "checkpoints", copy / "checkpoints")
    victim = copy / "checkpoints" / "checkpoint-4" / damage
    victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])  # cut short
    assert Path(RunFolder(copy).last_checkpoint()).name == "checkpoint-2"
    assert "checkpoint-4" in caplog.text


# ------------------------------------------------------------------ one line, exit 2
def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _dataset_with(tmp: Path, train: bytes) -> Path:
    folder = tmp / "data"
    shutil.copytree(sample_data_dir(), folder)
    _write(folder / "train.jsonl", train)
    return folder


def _damaged_adapter(run: Path, tmp: Path, content: bytes | None) -> Path:
    adapter = tmp / "adapter"
    shutil.copytree(run / "adapter", adapter)
    weights = adapter / "adapter_model.safetensors"
    if content is None:  # NaN weights in a well-formed file
        from safetensors.torch import load_file, save_file

        tensors = load_file(weights)
        name = next(iter(tensors))
        tensors[name] = torch.full_like(tensors[name], float("nan"))
        save_file(tensors, weights)
    else:
        weights.write_bytes(content(weights.read_bytes()) if callable(content) else content)
    return adapter


TRAIN_FLAG_CASES = {  # settings, checked before anything loads
    "negative lr": (["--lr", "-0.01"], "learning_rate must be in (0, 1]"),
    "huge lr": (["--lr", "1e6"], "learning_rate must be in (0, 1]"),
    "batch 0": (["--batch-size", "0"], "per_device_train_batch_size must be at least 1"),
    "grad accum 0": (["--grad-accum", "0"], "gradient_accumulation_steps must be at least 1"),
    "logging 0": (["--logging-steps", "0"], "logging_steps must be at least 1"),
    "train limit -5": (["--train-limit", "-5"], "train_limit must be None or >= 1"),
    "train limit 0": (["--train-limit", "0"], "train_limit must be None or >= 1"),
    "epochs -1": (["--epochs", "-1"], "num_train_epochs must be in (0, 100]"),
    "max steps 0": (["--max-steps", "0"], "max_steps must be -1 (use epochs) or >= 1"),
}
GENERATION_FLAG_CASES = {
    "max new tokens 0": (["--max-new-tokens", "0"], "max_new_tokens must be between 1 and 512"),
    "max new tokens 100000": (
        ["--max-new-tokens", "100000"],
        "max_new_tokens must be between 1 and 512",
    ),
    "beams 0": (["--num-beams", "0"], "num_beams must be between 1 and"),
    "generation batch 0": (["--batch-size", "0"], "eval_batch_size must be at least 1"),
}


def _into_o(command: str, t: Path, *flags) -> list:
    """``command`` on the smoke preset with its run folder at ``t / "o"``, which a refused
    command must not create."""
    return [command, *SMOKE, "--output-dir", t / "o", *flags]


CASES = {
    name: (lambda r, t, flags=flags: _into_o("train", t, *flags), message)
    for name, (flags, message) in TRAIN_FLAG_CASES.items()
}
CASES |= {
    "yaml string lr": (
        lambda r, t: _into_o(
            "train", t, "--config", _write(t / "c.yaml", b'learning_rate: "fast"\n')
        ),
        "learning_rate must be a number, got 'fast'",
    ),
    "unknown optimizer": (
        lambda r, t: _into_o("train", t, "--optim", "adamw_typo"),
        "adamw_typo",
    ),
}
CASES |= {
    name: (lambda r, t, flags=flags: ["summarize", *SMOKE, *flags], message)
    for name, (flags, message) in GENERATION_FLAG_CASES.items()
}
CASES |= {
    # files
    "non-UTF-8 data": (
        lambda r, t: _into_o(
            "train",
            t,
            "--dataset",
            _dataset_with(t, b'{"id": "a", "dialogue": "caf\xe9", "summary": "s"}\n'),
        ),
        "not UTF-8 text (byte 0xe9 at offset 28)",
    ),
    "JSON array line": (
        lambda r, t: _into_o("train", t, "--dataset", _dataset_with(t, b'["a", "b"]\n')),
        "line 1 is a JSON array, not an object",
    ),
    "empty adapter": (
        lambda r, t: _into_o("evaluate", t, "--adapter", _damaged_adapter(r, t, b"")),
        "is damaged and cannot be read",
    ),
    "truncated adapter": (
        lambda r, t: _into_o(
            "evaluate", t, "--adapter", _damaged_adapter(r, t, lambda b: b[: len(b) // 2])
        ),
        "is damaged and cannot be read",
    ),
    "random adapter": (
        lambda r, t: ["summarize", *SMOKE, "--adapter", _damaged_adapter(r, t, os.urandom(4096))],
        "is damaged and cannot be read",
    ),
    "NaN adapter": (
        lambda r, t: ["summarize", *SMOKE, "--adapter", _damaged_adapter(r, t, None)],
        "holds NaN/inf weights",
    ),
    "output dir under a file": (
        lambda r, t: ["train", *SMOKE, "--output-dir", _write(t / "afile", b"x") / "run"],
        "is a file, not a folder",
    ),
    "output is a folder": (
        lambda r, t: [
            "summarize",
            *SMOKE,
            "--input",
            sample_data_dir() / "test.jsonl",
            "--output",
            t,
        ],
        "is a folder; give a file name",
    ),
    "non-UTF-8 input": (
        lambda r, t: [
            "summarize",
            *SMOKE,
            "--input",
            _write(t / "in.txt", b"#Person1#: \xff\xfe hi\n"),
        ],
        "not UTF-8 text (byte 0xff at offset 11)",
    ),
    "pickle-only model folder": (
        lambda r, t: [
            "summarize",
            "--model",
            _write(t / "m" / "pytorch_model.bin", b"x").parent,
            "--input",
            sample_data_dir() / "test.jsonl",
        ],
        "holds no model.safetensors",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_bad_input_is_one_error_line(case, run, tmp_path, capsys):
    make_args, expected = CASES[case]
    before = snapshot(run)
    line = one_error(capsys, main([str(a) for a in make_args(run, tmp_path)]))
    assert expected in line, line
    assert snapshot(run) == before
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_pickle_only_model_message_does_not_blame_the_hub(tmp_path, capsys):
    folder = _write(tmp_path / "m" / "pytorch_model.bin", b"x").parent
    line = one_error(
        capsys,
        main(
            ["summarize", "--model", str(folder), "--input", str(sample_data_dir() / "test.jsonl")]
        ),
    )
    assert "Hub" not in line and "internet" not in line


def test_subprocess_failures_print_no_traceback(run, tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    for args in (
        ["train", *SMOKE, "--output-dir", str(tmp_path / "o"), "--lr", "-1"],
        ["summarize", *SMOKE, "--adapter", str(_damaged_adapter(run, tmp_path, b""))],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "dialogsum_peft", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert proc.stderr.strip().splitlines()[-1].startswith("error: ")


# ------------------------------------------------------------------ inputs and outputs
def test_bom_jsonl_input_is_read_as_json_lines(run, tmp_path, capsys):
    source = _write(
        tmp_path / "in.jsonl",
        b"\xef\xbb\xbf"
        + json.dumps({"id": "x", "dialogue": "#Person1#: Hi.\n#Person2#: Hello."}).encode()
        + b"\n",
    )
    assert (
        main(
            [
                "summarize",
                *SMOKE,
                "--adapter",
                str(run / "adapter"),
                "--input",
                str(source),
                "--max-new-tokens",
                "4",
            ]
        )
        == 0
    )
    row = json.loads(capsys.readouterr().out.strip())
    assert row["id"] == "x" and isinstance(row["prediction"], str)


def test_truncation_is_reported_on_the_command_line(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                *SMOKE,
                "--output-dir",
                str(tmp_path / "o"),
                "--max-steps",
                "1",
                "--save-steps",
                "100",
                "--max-source-length",
                "64",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "warning: " in err and "train dialogues are longer than max_source_length=64" in err


def _evaluate_argv(run: Path, results: Path, limit: int) -> list[str]:
    """``evaluate`` of the smoke run's adapter on ``limit`` test dialogues, into ``results``."""
    return [
        "evaluate",
        *SMOKE,
        "--output-dir",
        str(run),
        "--results-dir",
        str(results),
        "--limit",
        str(limit),
        "--max-new-tokens",
        "4",
        "--adapter",
        str(run / "adapter"),
    ]


def test_evaluation_folder_holds_only_the_latest_results(run, tmp_path):
    results = tmp_path / "eval"
    common = _evaluate_argv(run, results, 3)
    assert main(common) == 0
    assert (results / "predictions-base.jsonl").is_file()
    assert main([*common, "--no-base"]) == 0
    assert not (results / "predictions-base.jsonl").exists()  # no stale base beside new scores
    assert list(json.loads((results / "scores.json").read_text())["scores"]) == ["lora"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_adapters_evaluation_goes_to_its_own_run_folder(run, tmp_path, monkeypatch):
    """`evaluate --preset smoke --adapter other/adapter` without --output-dir wrote into the
    preset's outputs/smoke/evaluation and replaced the evaluation of the run kept there."""
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "other"
    shutil.copytree(run, other)
    kept = tmp_path / "outputs" / "smoke" / "evaluation"  # another run's evaluation
    kept.mkdir(parents=True)
    (kept / "scores.json").write_text("{}")
    gen = ["--limit", "2", "--max-new-tokens", "4"]
    assert main(["evaluate", *SMOKE, "--adapter", str(other / "adapter"), *gen]) == 0
    assert (kept / "scores.json").read_text() == "{}"
    scores = json.loads((other / "evaluation" / "scores.json").read_text())
    assert list(scores["scores"]) == ["base", "lora"]
    # a run the flags name keeps its own folder, whatever the adapter
    named = tmp_path / "named"
    assert (
        main(
            [
                "evaluate",
                *SMOKE,
                "--output-dir",
                str(named),
                "--adapter",
                str(other / "adapter"),
                *gen,
            ]
        )
        == 0
    )
    assert (named / "evaluation" / "scores.json").is_file()


@pytest.mark.parametrize("limit", [1, 3])
def test_evaluate_on_too_few_dialogues_gives_no_95_percent_interval(run, tmp_path, capsys, limit):
    """Issue 32 (10): `evaluate --limit 1` wrote a zero-width "95%" interval (score to score) into
    scores.json and rouge.png and said nothing. Now every interval is null with its reason, and
    stderr says so, once per reason."""
    results = tmp_path / "eval"
    capsys.readouterr()
    assert main(_evaluate_argv(run, results, limit)) == 0
    reason = f"{limit} dialogue{'s' * (limit > 1)}; at least 10 are needed"
    summary = json.loads((results / "scores.json").read_text())
    for name in ("base", "lora"):
        for protocol, scores in summary["scores"][name].items():
            assert set(scores["ci95"].values()) == {None}, (name, protocol)
            assert set(scores["ci95_not_estimable"].values()) == {reason}
    for protocol, by_type in summary["differences"]["lora - base"].items():
        assert all(
            d["ci95"] is None and d["ci95_not_estimable"] == reason for d in by_type.values()
        )
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if "95% interval" in line]
    assert len(warned) == 1 and warned[0].startswith(
        "warning: no 95% interval can be estimated for base rouge1 (mean), base rouge2 (mean)"
    )
    assert f"and 30 more ({reason}): scores.json records null" in warned[0]


# ------------------------------------------------------------------ divergence guard
def test_exploding_loss_stops_training_before_anything_is_saved(sample, tmp_path):
    from dialogsum_peft.command_line.commands import make_trainer
    from dialogsum_peft.command_line.loading import load_base_model
    from dialogsum_peft.config import TrainConfig
    from dialogsum_peft.methods import apply_method
    from dialogsum_peft.trainer import DIVERGENCE_FACTOR, DivergenceGuard

    guard = DivergenceGuard()
    args = type("Args", (), {"bf16": False, "fp16": False, "learning_rate": 1.0})()
    state = type("State", (), {"global_step": 3})()
    guard.on_log(args, state, None, logs={"loss": 2.0, "grad_norm": 1.0})
    guard.on_log(args, state, None, logs={"loss": 2.0 * DIVERGENCE_FACTOR * 0.99, "grad_norm": 1.0})
    with pytest.raises(TrainingError, match=r"diverged.*at step 3.*learning rate 1.0"):
        guard.on_log(args, state, None, logs={"loss": 2.0 * DIVERGENCE_FACTOR * 1.01})
    with pytest.raises(TrainingError, match="gradient norm became 0.0"):
        DivergenceGuard().on_log(args, state, None, logs={"loss": 2.0, "grad_norm": 0.0})
    with pytest.raises(TrainingError, match="gradient norm became inf"):
        DivergenceGuard().on_log(args, state, None, logs={"loss": 2.0, "grad_norm": float("inf")})

    # and in a real run: after step 3 the logits blow up (what a far too high learning rate does
    # to a model); the log at step 4 stops training before checkpoint-4 is written
    from transformers import TrainerCallback

    class BlowUp(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step == 3:
                with torch.no_grad():
                    model.get_base_model().decoder.final_layer_norm.weight.mul_(1e3)

    config = TrainConfig.smoke(output_dir=str(tmp_path), max_steps=8, logging_steps=2, save_steps=4)
    model, tok = load_base_model(config)
    trainer = make_trainer(apply_method(model, config), tok, sample, config, callbacks=[BlowUp()])
    with pytest.raises(TrainingError, match=r"diverged.*at step 4 .*learning rate 0.003"):
        trainer.train()
    assert not (tmp_path / "checkpoints" / "checkpoint-4").exists()


def test_an_adapter_saved_with_another_vocabulary_is_refused(run, tmp_path, sample, capsys):
    from dialogsum_peft.offline import sample_texts, train_tokenizer

    adapter = tmp_path / "adapter"
    shutil.copytree(run / "adapter", adapter)
    other = train_tokenizer(sample_texts(sample)[:30], vocab_size=500)  # another base's tokenizer
    other.save_pretrained(adapter)
    line = one_error(capsys, main(summarize_sample_argv(adapter, *SMOKE)))
    assert "was trained with another tokenizer" in line


def test_a_token_written_into_a_run_folder_is_reported(overwritten):
    _, token, _, err = overwritten
    assert "warning: a Hub token was written to" in err and "notes.txt" in err
    assert token not in err  # reported redacted


# Issue 32: --merge-for-generation only where it can apply, refused before any model is loaded.
@pytest.fixture()
def no_model_loads(monkeypatch):
    """Any base or trained model loaded from here on fails the test."""
    import dialogsum_peft.command_line.generate as generate

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the refusal")

    monkeypatch.setattr(generate, "load_base", refuse)
    monkeypatch.setattr(generate, "_load_trained", refuse)


def test_merge_for_generation_that_cannot_apply_is_refused_before_loading(
    run, tiny, tmp_path, capsys, no_model_loads
):
    from dialogsum_peft.command_line.run_outputs import save_adapter
    from dialogsum_peft.config import TrainConfig
    from dialogsum_peft.methods import apply_method
    from dialogsum_peft.offline import tiny_base_dir

    model, tok = tiny
    prompt = save_adapter(
        apply_method(model, TrainConfig.smoke(method="prompt-tuning"), str(tiny_base_dir())),
        tmp_path / "prompt",
        tok,
    )
    data = str(sample_data_dir() / "test.jsonl")
    out = tmp_path / "ev"
    # Before the fix: the zero-shot row was generated, then merged_copy refused
    rc = main(
        [
            "evaluate",
            *SMOKE,
            "--adapter",
            str(prompt),
            "--merge-for-generation",
            "--limit",
            "2",
            "--output-dir",
            str(out),
        ]
    )
    assert f"--merge-for-generation: {prompt} is a prompt-tuning adapter" in one_error(capsys, rc)
    rc = main(
        ["summarize", *SMOKE, "--adapter", str(prompt), "--merge-for-generation", "--input", data]
    )
    assert "is a prompt-tuning adapter, which has no weights to merge" in one_error(capsys, rc)
    # a flag with nothing to merge: no adapter (before the fix: silently unused)
    rc = main(["summarize", *SMOKE, "--merge-for-generation", "--input", data])
    assert "and no --adapter is given: leave it off" in one_error(capsys, rc)
    assert not out.exists()


@needs_ct2
def test_torch_flags_with_the_ctranslate2_backend_and_eval_steps_without_validation_are_refused(
    run, tmp_path, capsys, no_model_loads
):
    """Before the fix both were silently unused."""
    data = str(sample_data_dir() / "test.jsonl")
    rc = main(
        [
            "summarize",
            *SMOKE,
            "--adapter",
            str(run / "adapter"),
            "--backend",
            "ctranslate2",
            "--precision",
            "bf16",
            "--input",
            data,
        ]
    )
    assert "--precision sets how PyTorch runs the model" in one_error(capsys, rc)
    own = tmp_path / "own"
    own.mkdir()
    shutil.copy(sample_data_dir() / "train.jsonl", own / "train.jsonl")
    rc = main(
        [
            "train",
            *SMOKE,
            "--dataset",
            str(own),
            "--eval-steps",
            "2",
            "--output-dir",
            str(tmp_path / "o"),
        ]
    )
    assert f"--eval-steps: {own} has no validation split" in one_error(capsys, rc)
    assert not (tmp_path / "o").exists()


def test_data_without_the_split_a_command_reads_names_the_folder_and_the_file(tmp_path, capsys):
    """Review item 13: the error named neither the folder nor the file it expected."""
    own = tmp_path / "only_test"
    own.mkdir()
    shutil.copy(sample_data_dir() / "test.jsonl", own / "test.jsonl")
    rc = main(["train", *SMOKE, "--dataset", str(own), "--output-dir", str(tmp_path / "o")])
    line = one_error(capsys, rc)
    assert f"error: {own} has no train split: it holds test.jsonl; add train.jsonl or " in line
    assert not (tmp_path / "o").exists()
    (own / "test.jsonl").rename(own / "validation.jsonl")
    shutil.copy(sample_data_dir() / "train.jsonl", own / "train.jsonl")
    rc = main(["evaluate", *SMOKE, "--dataset", str(own), "--results-dir", str(tmp_path / "e")])
    line = one_error(capsys, rc)
    assert (
        f"{own} has no test split: it holds train.jsonl, validation.jsonl; add test.jsonl" in line
    )
    assert not (tmp_path / "e").exists()

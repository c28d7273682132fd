"""The command line, end to end on the shipped sample with the tiny T5 (offline, CPU).

Commands run in-process through ``main([...])`` (fast). The run every test reads is trained by a
real ``python -m dialogsum_peft`` process: the entry point, its exit code and a console without
library notices (test_commands' failing processes prove exit status 2; the tutorial's export cell
runs ``export`` and ``summarize`` as processes).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import gen, summarize_sample_argv
from dialogsum_peft.command_line.cli import build_parser, main
from dialogsum_peft.command_line.cli_config import resolve_config
from dialogsum_peft.command_line.loading import load_adapter, load_base_model
from dialogsum_peft.command_line.summarize_input import read_dialogues
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.evaluation import compute_rouge
from dialogsum_peft.generation import summarize
from dialogsum_peft.metrics import MULTI_REF_PROTOCOLS, ROUGE_TYPES, per_example, score_pairs
from dialogsum_peft.offline import SMOKE_BANNER, sample_data_dir

GEN = ["--max-new-tokens", "8", "--batch-size", "16"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _env():
    return dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg")


def run_cli(*args, stdin: str | None = None, timeout: int = 240):
    """A real ``python -m dialogsum_peft`` process (with this process's thread count, through
    conftest's OMP_NUM_THREADS: a run it trains is resumed in-process, compared for equality)."""
    return subprocess.run(
        [sys.executable, "-m", "dialogsum_peft", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=timeout,
    )


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def train_process(tmp_path_factory):
    """One smoke training run by a real ``python -m dialogsum_peft train`` process (8 steps,
    loss logged every 2): its run folder and the finished process."""
    out = tmp_path_factory.mktemp("cli-run") / "run"
    proc = run_cli(
        "train",
        "--preset",
        "smoke",
        "--output-dir",
        out,
        "--max-steps",
        "8",
        "--logging-steps",
        "2",
        "--save-steps",
        "4",
        "--lora-r",
        "4",
        "--lora-alpha",
        "8",
        "--lr",
        "1e-2",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, proc


@pytest.fixture(scope="module")
def run_dir(train_process):
    return train_process[0]


# ------------------------------------------------------------------------------------ train
def test_logs_written_to_files_read_as_lines(train_process, run_dir, tmp_path):
    """Issue 32 (11): a training run whose output goes to files (here pipes, as a log file or a
    job scheduler gets it) logged raw dicts ("{'loss': '22.75', ...}"), carriage-return progress
    bars and "[transformers] mtime may not be reliable on this filesystem"."""
    _, proc = train_process
    for text in (proc.stdout, proc.stderr):
        assert "\r" not in text and "{'" not in text and "it/s]" not in text
    assert "mtime" not in proc.stderr
    logged = [line for line in proc.stdout.splitlines() if line.startswith("step ")]
    assert [line.split(":")[0] for line in logged if ": loss " in line] == [
        f"step {s}/8 (epoch {s * 8 / 40:.2f})" for s in (2, 4, 6, 8)
    ]
    assert re.search(  # review item 10: measured, not the Trainer's nominal examples/s
        r"^training ended at step 8/8: this session trained 8 optimizer steps on 64 examples "
        r"in (< )?[\d.]+ s \([\d.]+ steps/s, [\d.]+ examples/s\), mean training loss [\d.]+$",
        proc.stdout,
        re.M,
    )
    path = tmp_path / "in.txt"
    path.write_text("#Person1#: Hi.\n#Person2#: Hello.\n", encoding="utf-8")
    for args in (
        ["summarize", "--input", path, "--output", tmp_path / "out.txt", *GEN[:2]],
        ["evaluate", "--limit", "2", "--results-dir", tmp_path / "eval", *GEN[:2]],
        ["export", "--to", tmp_path / "merged"],
    ):
        done = run_cli(*args, "--preset", "smoke", "--adapter", run_dir / "adapter")
        assert done.returncode == 0, done.stderr[-2000:]
        assert "\r" not in done.stdout + done.stderr, (args[0], done.stderr)
        if args[0] == "summarize":  # one dialogue: "1 summary", not "1 summaries"
            assert "1 summary written to " in done.stderr


def test_train_writes_adapter_config_and_training_log(run_dir):
    config = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    assert config == TrainConfig.smoke(
        output_dir=str(run_dir),
        max_steps=8,
        logging_steps=2,
        save_steps=4,
        lora_r=4,
        lora_alpha=8,
        learning_rate=1e-2,
    )

    with open(run_dir / "loss_history.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    steps = [int(r["step"]) for r in rows]
    losses = [float(r["loss"]) for r in rows]
    assert steps == [2, 4, 6, 8]
    assert all(math.isfinite(x) and x > 0 for x in losses)
    assert losses[-1] < losses[0]
    validation = [float(r["validation_loss"]) for r in rows]  # eval_steps 0.2 of 8 steps: every 2
    assert all(math.isfinite(x) and x > 0 for x in validation)
    assert read_jsonl_or_json(run_dir / "loss_history.json") == [
        {"step": s, "loss": pytest.approx(x), "validation_loss": pytest.approx(v)}
        for s, x, v in zip(steps, losses, validation)
    ]
    assert (run_dir / "loss_curve.png").read_bytes()[:8] == PNG_MAGIC

    metrics = json.loads((run_dir / "train_metrics.json").read_text())
    assert metrics["global_step"] == 8 and metrics["world_size"] == 1 and metrics["smoke"] is True
    assert metrics["trainer"]["train_loss"] == pytest.approx(sum(losses) / len(losses), rel=1e-4)
    # measured: 8 steps of 8 of the 40 examples; the Trainer's own figures apart, labelled
    assert (metrics["session_optimizer_steps"], metrics["session_examples"]) == (8, 64)
    assert metrics["session_examples_per_second"] == pytest.approx(
        64 / metrics["trainer"]["train_runtime"], rel=1e-3
    )
    assert "train_samples_per_second" in metrics["trainer"] and "nominal" not in metrics
    assert "not the examples seen" in metrics["trainer_note"]
    assert metrics["validation_loss"] == pytest.approx(validation[-1])

    adapter = run_dir / "adapter"
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == 4
    assert (adapter / "adapter_model.safetensors").is_file()
    assert (adapter / "tokenizer.json").is_file()
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "checkpoint-4",
        "checkpoint-8",
        "run.json",
    ]  # run.json: the identity of the run
    assert json.loads((run_dir / "checkpoints" / "run.json").read_text()) == config.identity()


def read_jsonl_or_json(path):
    return json.loads(Path(path).read_text())


def test_smoke_train_prints_the_banner_and_no_warnings(train_process):
    """A normal run shows progress, results and the smoke banner, not library deprecation
    notices."""
    _, proc = train_process
    assert "SMOKE MODE" in proc.stdout and "gibberish" in proc.stdout
    assert "Traceback" not in proc.stderr
    noise = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if "Warning" in line or "deprecat" in line.lower()
    ]
    assert noise == []


def test_resume_continues_the_same_run_exactly(run_dir, tmp_path):
    """Lose the end of a run (last checkpoint and adapter), resume: the same losses and weights."""
    from safetensors.torch import load_file

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    shutil.rmtree(run / "checkpoints" / "checkpoint-8")
    shutil.rmtree(run / "adapter")
    rc = main(["train", "--config", str(run / "config.json"), "--output-dir", str(run), "--resume"])
    assert rc == 0
    assert read_jsonl_or_json(run / "loss_history.json") == read_jsonl_or_json(
        run_dir / "loss_history.json"
    )
    assert json.loads((run / "train_metrics.json").read_text())["global_step"] == 8
    resumed = load_file(run / "adapter" / "adapter_model.safetensors")
    straight = load_file(run_dir / "adapter" / "adapter_model.safetensors")
    assert resumed.keys() == straight.keys()
    assert all((resumed[k] == straight[k]).all() for k in resumed)


# ------------------------------------------------------------------------------------ evaluate
@pytest.fixture(scope="module")
def evaluated(run_dir):
    rc = main(
        [
            "evaluate",
            "--preset",
            "smoke",
            "--output-dir",
            str(run_dir),
            "--adapter",
            str(run_dir / "adapter"),
            *GEN,
        ]
    )
    assert rc == 0
    return run_dir / "evaluation"


def test_evaluate_writes_scores_predictions_and_chart(evaluated, sample):
    test = sample["test"]
    summary = json.loads((evaluated / "scores.json").read_text())
    assert summary["split"] == "test" and summary["num_dialogues"] == len(test) == 10
    assert summary["smoke"] is True and summary["adapter"].endswith("adapter")
    assert list(summary["scores"]) == ["base", "lora"]
    for name in ("base", "lora"):
        rows = read_jsonl(evaluated / f"predictions-{name}.jsonl")
        assert [r["id"] for r in rows] == list(test["id"])
        assert [r["dialogue"] for r in rows] == list(test["dialogue"])
        assert [r["references"] for r in rows] == list(test["references"])
        assert all(isinstance(r["prediction"], str) for r in rows)
        by_protocol = summary["scores"][name]
        assert list(by_protocol) == list(MULTI_REF_PROTOCOLS)  # mean, best, first
        for protocol, scores in by_protocol.items():
            ci95 = scores.pop("ci95")  # each value's 95% bootstrap interval, beside it
            missing = scores.pop("ci95_not_estimable", {})  # or why it has none (no spread)
            assert list(scores) == list(ROUGE_TYPES) == list(ci95)
            assert all(0.0 <= v <= 1.0 for v in scores.values())
            assert {k for k, ci in ci95.items() if ci is None} == set(missing)
            assert all(
                low <= scores[k] <= high for k, ci in ci95.items() if ci for low, high in [ci]
            )
            assert scores == pytest.approx(
                compute_rouge(
                    [r["prediction"] for r in rows],
                    [r["references"] for r in rows],
                    multi_ref=protocol,
                )
            )
        per_dialogue = per_example(
            score_pairs([r["prediction"] for r in rows], [r["references"] for r in rows])
        )
        assert len(per_dialogue) == len(rows)  # one dict per dialogue (approx takes no nesting)
        for row, expected in zip(rows, per_dialogue):
            assert row["rouge"] == pytest.approx(expected)
        with open(evaluated / f"predictions-{name}.csv", newline="", encoding="utf-8") as fh:
            csv_rows = list(csv.DictReader(fh))
        assert [
            {**r, "references": json.loads(r["references"]), "rouge": json.loads(r["rouge"])}
            for r in csv_rows
        ] == rows
    difference = summary["differences"]["lora - base"]["mean"]["rouge1"]
    assert difference["difference"] == pytest.approx(
        summary["scores"]["lora"]["mean"]["rouge1"] - summary["scores"]["base"]["mean"]["rouge1"]
    )
    assert (
        difference["ci95"][0] <= difference["difference"] <= difference["ci95"][1]
        if difference["ci95"]
        else difference["ci95_not_estimable"].startswith("no spread")
    )
    assert (evaluated / "rouge.png").read_bytes()[:8] == PNG_MAGIC
    assert (
        TrainConfig.from_dict(json.loads((evaluated / "config.json").read_text())).max_new_tokens
        == 8
    )


def test_evaluate_scores_the_adapter_and_the_untouched_base(evaluated, run_dir, sample, tmp_path):
    """'lora' is the saved adapter; 'base' (adapter switched off) equals a run without adapter."""
    config = TrainConfig.smoke(output_dir=str(run_dir))
    dialogues = list(sample["test"]["dialogue"])
    base, tok = load_base_model(config)
    expected_base = summarize(
        base, tok, dialogues, progress=False, **gen(max_new_tokens=8, batch_size=16)
    )
    expected_lora = summarize(
        load_adapter(base, run_dir / "adapter"),
        tok,
        dialogues,
        progress=False,
        **gen(max_new_tokens=8, batch_size=16),
    )
    assert [
        r["prediction"] for r in read_jsonl(evaluated / "predictions-lora.jsonl")
    ] == expected_lora
    assert [
        r["prediction"] for r in read_jsonl(evaluated / "predictions-base.jsonl")
    ] == expected_base

    alone = tmp_path / "base-only"
    assert (
        main(
            [
                "evaluate",
                "--preset",
                "smoke",
                "--output-dir",
                str(run_dir),
                "--results-dir",
                str(alone),
                "--limit",
                "4",
                "--predictions-format",
                "jsonl",
                *GEN,
            ]
        )
        == 0
    )
    rows = read_jsonl(alone / "predictions-base.jsonl")
    assert [r["prediction"] for r in rows] == expected_base[:4]
    assert not (alone / "predictions-base.csv").exists()
    assert list(json.loads((alone / "scores.json").read_text())["scores"]) == ["base"]


# ------------------------------------------------------------------------------------ summarize
def test_summarize_jsonl_file_to_jsonl(run_dir, evaluated, tmp_path):
    source = sample_data_dir() / "test.jsonl"  # 27 rows: each test dialogue once per reference
    out = tmp_path / "out.jsonl"
    argv = summarize_sample_argv(run_dir / "adapter", "--preset", "smoke")
    assert main([*argv, "--output", str(out), *GEN]) == 0
    inputs = read_jsonl(source)
    rows = read_jsonl(out)
    assert len(rows) == len(inputs) == 27
    assert [r["id"] for r in rows] == [r["id"] for r in inputs]
    by_dialogue = {
        r["dialogue"]: r["prediction"] for r in read_jsonl(evaluated / "predictions-lora.jsonl")
    }
    assert [r["prediction"] for r in rows] == [by_dialogue[r["dialogue"].strip()] for r in inputs]


def test_summarize_text_blocks_from_stdin(run_dir, monkeypatch, capsys):
    text = (
        "#Person1#: Where is the station?\n#Person2#: Turn left at the bank.\n\n\n"
        "#Person1#: Are you free tonight?\n#Person2#: Yes, let's eat out.\n  \n"
        "#Person1#: The printer is broken.\n#Person2#: I'll call IT.\n"
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["summarize", "--preset", "smoke", *GEN]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 3
    records, is_jsonl = read_dialogues(text)
    base, tok = load_base_model(TrainConfig.smoke(output_dir=str(run_dir)))
    assert lines == summarize(
        base, tok, [r["dialogue"] for r in records], progress=False, **gen(max_new_tokens=8)
    )
    assert "SMOKE MODE" in captured.err  # banner on stderr, stdout is the summaries alone


def test_read_dialogues_formats():
    records, is_jsonl = read_dialogues(
        '{"id": "a", "dialogue": "x: hi"}\n\n{"dialogue": "y: yo"}\n'
    )
    assert is_jsonl and [r["dialogue"] for r in records] == ["x: hi", "y: yo"]
    records, is_jsonl = read_dialogues("a: 1\nb: 2\r\n\r\nc: 3\n")
    assert not is_jsonl and [r["dialogue"] for r in records] == ["a: 1\nb: 2", "c: 3"]


def test_summarize_stdin_to_jsonl(run_dir, monkeypatch, capsys):
    """Dialogues on stdin, one JSON line per dialogue on stdout, the banner on stderr."""
    monkeypatch.setattr(
        sys,
        "stdin",
        io.StringIO("#Person1#: Hi.\n#Person2#: Hello.\n\n#Person1#: Bye.\n#Person2#: See you.\n"),
    )
    assert (
        main(
            [
                "summarize",
                "--preset",
                "smoke",
                "--adapter",
                str(run_dir / "adapter"),
                *GEN,
                "--format",
                "jsonl",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["dialogue"] for r in rows] == [
        "#Person1#: Hi.\n#Person2#: Hello.",
        "#Person1#: Bye.\n#Person2#: See you.",
    ]
    assert all(isinstance(r["prediction"], str) for r in rows)
    assert SMOKE_BANNER.split()[0] in captured.err
    # issue 32 (11): the banner names what summarize reads, not the project's sample; review
    # item 4: in a sentence of its own, not as what the model was trained on
    banner = " ".join(
        line.strip("! ") for line in captured.err.splitlines() if line.startswith("!!")
    )
    assert "This run summarizes the dialogues of standard input." in banner
    assert "T5 on" not in banner and "sample" not in banner


def test_help_and_flag_errors_do_not_import_torch():
    """``--help`` and a bad flag answer in a fraction of a second: building the parser (every
    flag's preset-dependent default) and validating the config need no torch (3 s to import)."""
    code = (
        "import sys\nfrom dialogsum_peft.command_line.cli import main\n"
        "codes = [main(['train', '--help']), main(['train', '--preset', 'smoke', '--lora-r', '-3'])]\n"
        "print(codes, 'torch' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert proc.stdout.strip().splitlines()[-1] == "[0, 2] False", proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == ["error: lora_r must be at least 1, got -3"]


@pytest.mark.parametrize("command", ["train", "evaluate", "summarize"])
def test_help_has_examples(command, capsys):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:" in text and f"dialogsum_peft {command}" in text and "--preset" in text


def _subcommand_options(command: str) -> dict[str, str]:
    """``{option string: help}`` of one subcommand's parser."""
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    return {
        flag: action.help or ""
        for action in sub._actions
        for flag in action.option_strings
        if flag.startswith("--") and flag != "--help"
    }


@pytest.mark.parametrize("command", ["train", "evaluate", "summarize"])
def test_every_flag_says_its_default(command):
    missing = [
        flag for flag, text in _subcommand_options(command).items() if "default" not in text.lower()
    ]
    assert missing == []


def test_each_command_lists_only_the_flags_it_uses():
    """summarize writes to --output and reads no dataset; evaluate trains nothing."""
    summarize, evaluate = _subcommand_options("summarize"), _subcommand_options("evaluate")
    for ignored in (
        "--recipe",
        "--seed",
        "--dataset",
        "--output-dir",
        "--limit",
        "--method",
        "--lr",
        "--max-steps",
    ):
        assert ignored not in summarize, ignored
    for ignored in ("--recipe", "--seed", "--method", "--lr", "--max-steps", "--lora-r"):
        assert ignored not in evaluate, ignored
    assert {"--dataset", "--output-dir", "--limit", "--adapter"} <= set(evaluate)


def test_preset_dependent_defaults_name_each_preset():
    lr = _subcommand_options("train")["--lr"]
    assert "lora 0.001" in lr and "prompt-tuning 0.03" in lr and "(smoke)" in lr
    assert "quick 250" in _subcommand_options("train")["--max-steps"]
    assert "ia3" not in _subcommand_options("train")["--lora-r"]  # LoRA settings: LoRA methods only


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_help_examples_show_own_data_and_methods(command, capsys):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out.split("examples:")[1]
    assert "--dataset my_data" in text and ("--method" in text or "runs/full/model" in text)


# ------------------------------------------------------------------------------------ config
def test_config_resolution_preset_file_flags(tmp_path):
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("learning_rate: 0.0005\nlora_r: 8\nlora_target_modules: [q, k, v]\n")
    parser = build_parser()
    args = parser.parse_args(
        [
            "train",
            "--preset",
            "smoke",
            "--config",
            str(yaml_file),
            "--lora-r",
            "16",
            "--epochs",
            "2",
        ]
    )
    config = resolve_config(args)
    assert config.model_name == TrainConfig.smoke().model_name  # from the preset
    assert config.learning_rate == 0.0005 and config.lora_target_modules == ("q", "k", "v")  # file
    assert config.lora_r == 16  # flags win
    assert config.num_train_epochs == 2 and config.max_steps == -1

    saved = tmp_path / "config.json"
    TrainConfig.smoke(max_steps=7, output_dir="x").save(saved)
    config = resolve_config(parser.parse_args(["evaluate", "--config", str(saved), "--limit", "3"]))
    assert config == TrainConfig.smoke(max_steps=7, output_dir="x", eval_limit=3)
    # no preset and no file: flan-t5-base sized for this device
    assert resolve_config(
        parser.parse_args(["train", "--lora-targets", "q,v,o"])
    ) == TrainConfig.auto(lora_target_modules=("q", "v", "o"))


# ------------------------------------------------------------------------------------ errors
def _not_an_adapter(tmp_path):
    path = tmp_path / "not-adapter"
    path.mkdir()
    (path / "config.json").write_text("{}")
    return path


ERROR_CASES = {
    "missing dataset folder": (
        lambda t: [
            "train",
            "--preset",
            "smoke",
            "--output-dir",
            t / "o",
            "--dataset",
            t / "no-such-folder",
        ],
        "dataset folder not found",
    ),
    "unknown preset": (lambda t: ["train", "--preset", "huge"], "invalid choice: 'huge'"),
    "non-adapter dir": (
        lambda t: [
            "evaluate",
            "--preset",
            "smoke",
            "--output-dir",
            t / "o",
            "--adapter",
            _not_an_adapter(t),
        ],
        "is neither a peft adapter folder",
    ),
    "fp16": (
        lambda t: ["train", "--preset", "smoke", "--precision", "fp16"],
        "T5 overflows in fp16",
    ),
    "missing adapter": (
        lambda t: ["summarize", "--preset", "smoke", "--adapter", t / "nope"],
        "adapter folder not found",
    ),
    "missing input": (
        lambda t: ["summarize", "--preset", "smoke", "--input", t / "nope.txt"],
        "nope.txt: file not found",
    ),
    "missing config": (lambda t: ["train", "--config", t / "nope.json"], "config file not found"),
    "unknown config field": (
        lambda t: ["train", "--config", _bad_config(t)],
        "unknown TrainConfig field(s): lora_rank",
    ),
    "nothing to resume": (
        lambda t: ["train", "--preset", "smoke", "--output-dir", t / "o", "--resume"],
        "no complete checkpoint-N folder",
    ),
    "both steps and epochs": (lambda t: ["train", "--max-steps", "3", "--epochs", "1"], "not both"),
    "bad number": (lambda t: ["train", "--lora-r", "many"], "invalid int value"),
    "no command": (lambda t: [], "required"),
}


def _bad_config(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"lora_rank": 8}))
    return path


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_arguments_exit_2_with_one_line(case, tmp_path, capsys):
    make_args, expected = ERROR_CASES[case]
    rc = main([str(a) for a in make_args(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], err
    assert not (tmp_path / "o" / "config.json").exists()  # failed before writing anything


# ------------------------------------------------------------------------------------ own data
OWN_DIALOGUES = [  # written for this test, in the README's documented own-data format
    (
        "#Person1#: Can you water the plants on Friday?\n#Person2#: Sure, I'll be home.",
        "#Person2# agrees to water #Person1#'s plants on Friday.",
    ),
    (
        "#Person1#: The printer is jammed again.\n#Person2#: Open the back tray and pull the paper.",
        "#Person2# tells #Person1# how to clear the printer jam.",
    ),
    (
        "#Person1#: Is the library open late today?\n#Person2#: Until nine on Thursdays.",
        "#Person2# says the library is open until nine on Thursdays.",
    ),
    (
        "#Person1#: I'd like a table for two.\n#Person2#: Inside or on the terrace?",
        "#Person1# asks for a table for two.",
    ),
    (
        "#Person1#: My flight was cancelled.\n#Person2#: We can rebook you on the evening flight.",
        "#Person2# rebooks #Person1# after a cancelled flight.",
    ),
]


def test_train_and_evaluate_on_a_folder_of_ones_own(tmp_path, capsys):
    """The README's own-data layout: train.jsonl with dialogue/summary, test.jsonl with several
    references as summary1..N. Training 8 x 8 examples over 10 dialogues (6.4 epochs) warns."""
    data = tmp_path / "my_data"
    data.mkdir()
    rows = [
        {"id": f"t{i}-{k}", "dialogue": d, "summary": s}
        for k in range(2)
        for i, (d, s) in enumerate(OWN_DIALOGUES)
    ]
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tests = [
        {"id": f"e{i}", "dialogue": d, "summary1": s, "summary2": s.replace("#Person2#", "Bob")}
        for i, (d, s) in enumerate(OWN_DIALOGUES[:3])
    ]
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in tests), encoding="utf-8")
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--preset",
                "smoke",
                "--dataset",
                str(data),
                "--output-dir",
                str(out),
                "--max-steps",
                "8",
                "--save-steps",
                "8",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "warning: 8 steps x 8 examples is 6.4 epochs over 10 training dialogues" in err
    assert (
        main(
            [
                "evaluate",
                "--config",
                str(out / "config.json"),
                "--adapter",
                str(out / "adapter"),
                *GEN,
            ]
        )
        == 0
    )
    scores = json.loads((out / "evaluation" / "scores.json").read_text(encoding="utf-8"))
    assert scores["num_dialogues"] == 3 and set(scores["scores"]) == {"base", "lora"}
    predictions = read_jsonl(out / "evaluation" / "predictions-lora.jsonl")
    assert [len(p["references"]) for p in predictions] == [2, 2, 2]


def test_evaluate_warns_once_when_references_lose_letters_to_rouge(tmp_path, capsys):
    """Issue 16: Cyrillic references scored 0.0 without a word; now one `warning:` line."""
    data = tmp_path / "data"
    shutil.copytree(sample_data_dir(), data)
    rows = read_jsonl(data / "test.jsonl")
    rows[0]["summary"] = "Пётр купил новую машину."
    (data / "test.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    rc = main(
        [
            "evaluate",
            "--preset",
            "smoke",
            "--dataset",
            str(data),
            "--limit",
            "2",
            *GEN,
            "--results-dir",
            str(tmp_path / "ev"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0
    warnings = [
        line
        for line in err.splitlines()  # (2 dialogues: no 95% interval, said apart)
        if line.startswith("warning:") and "95% interval" not in line
    ]
    assert len(warnings) == 1 and "1 of " in warnings[0] and "references" in warnings[0]
    assert "English" in warnings[0] and "Warning" not in err  # no Python warning printed


def test_speed_flags_reach_the_command_line():
    from dialogsum_peft.command_line.cli import build_parser
    from dialogsum_peft.command_line.cli_config import resolve_config

    parser = build_parser()
    config = resolve_config(
        parser.parse_args(
            [
                "train",
                "--preset",
                "smoke",
                "--torch-compile",
                "--dataloader-num-workers",
                "2",
                "--attn-implementation",
                "flex_attention",
            ]
        )
    )
    assert config.torch_compile and config.dataloader_num_workers == 2
    assert config.attn_implementation == "flex_attention"
    config = resolve_config(
        parser.parse_args(["evaluate", "--preset", "smoke", "--merge-for-generation"])
    )
    assert config.merge_for_generation


def _readme_own_data_commands() -> list[list[str]]:
    import shlex

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Fine-tune on your own dialogues")[1].split("\n## ")[0]
    block = section.split("```bash\n")[1].split("```")[0]
    return [shlex.split(line)[3:] for line in block.splitlines() if line.startswith("python -m")]


def test_the_readmes_own_data_commands_run_offline_with_a_local_model_folder(
    tiny_dir, tmp_path, monkeypatch, capsys
):
    """Issue 32, fault 3: the README's own-data commands, as written, plus `--model DIR` (a
    save_pretrained folder: the tiny T5 without its smoke mark, as any local model), run with the
    Hub switched off: train (preset auto, recipe own-data), evaluate, summarize."""
    model = tmp_path / "models" / "my-t5"
    shutil.copytree(tiny_dir, model)
    config = json.loads((model / "config.json").read_text())
    del config["dialogsum_peft_smoke_model"]
    (model / "config.json").write_text(json.dumps(config))
    data = tmp_path / "my_data"
    data.mkdir()
    rows = [{"id": f"t{i}", "dialogue": d, "summary": s} for i, (d, s) in enumerate(OWN_DIALOGUES)]
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    tests = [
        {"id": f"e{i}", "dialogue": d, "summary1": s, "summary2": s.replace("#", "")}
        for i, (d, s) in enumerate(OWN_DIALOGUES[:2])
    ]
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in tests), "utf-8")
    (tmp_path / "new_dialogues.txt").write_text(
        OWN_DIALOGUES[0][0] + "\n\n" + OWN_DIALOGUES[1][0], "utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    train, evaluate, summarize_ = _readme_own_data_commands()
    assert train[0] == "train" and "--model" not in train
    assert main([*train, "--model", "models/my-t5"]) == 0
    saved = TrainConfig.from_dict(json.loads((tmp_path / "runs/mine/config.json").read_text()))
    assert (saved.preset, saved.recipe, saved.model_name) == ("auto", "own-data", str(model))
    assert saved.max_steps == -1 and saved.num_train_epochs == 3
    assert main(evaluate) == 0
    scores = json.loads((tmp_path / "runs/mine/evaluation/scores.json").read_text())
    assert scores["num_dialogues"] == 2 and scores["model"] == str(model)
    capsys.readouterr()
    monkeypatch.chdir(tmp_path / "models")  # the adapter's base is found from anywhere
    summarize_ = [str(tmp_path / a) if a.startswith(("runs/", "new_")) else a for a in summarize_]
    assert main(summarize_) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_summarize_help_says_what_separates_plain_text_dialogues(capsys):
    """The help's rule, checked against the reader summarize uses: a line of nothing, of
    whitespace (tab, no-break space, ideographic space) or of invisible characters (zero-width
    space, byte-order mark) separates two dialogues."""
    assert main(["summarize", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert (
        "plain-text dialogues separated by a line with nothing visible on it (blank, spaces "
        "or invisible characters)"
    ) in help_text and "blank line" not in help_text
    separators = ["", "   \t", "\u00a0\u3000", "\u200b", "\ufeff \u200d"]
    text = "\n".join(
        f"#Person1#: line {i}\n#Person2#: reply {i}\n{sep}" for i, sep in enumerate(separators)
    )
    records, is_jsonl = read_dialogues(text)
    assert not is_jsonl and len(records) == len(separators)


def test_a_refusal_under_torchrun_is_printed_once(tmp_path):
    """Before the fix each of the 2 processes printed the same `error:` line."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "dialogsum_peft",
            "train",
            "--preset",
            "smoke",
            "--method",
            "ia3",
            "--lora-r",
            "4",
            "--output-dir",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=240,
    )
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: --lora-r is a setting of --method lora or lora-all; this run trains "
        "ia3: drop --lora-r or choose that method"
    ], proc.stderr[-3000:]
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------- the card, wins (issue 34)
def test_train_writes_a_model_card_and_evaluate_adds_its_results(run_dir, evaluated):
    from huggingface_hub import ModelCard

    card = ModelCard.load(run_dir / "adapter" / "README.md")
    assert "untrained toy" in card.text.strip().splitlines()[0]  # a smoke run's card says so first
    assert card.data.library_name == "peft" and "smoke-test" in card.data.tags
    assert "r=4, lora_alpha=8" in card.text  # the run's --lora-r 4 --lora-alpha 8
    assert "| trained on | CPU, 8 optimizer steps |" in card.text  # --max-steps 8, this machine
    summary = json.loads((evaluated / "scores.json").read_text())
    values = {
        (r.metric_args["multi_ref"], r.metric_config): r.metric_value
        for r in card.data.eval_results
    }
    for protocol in MULTI_REF_PROTOCOLS:
        for k in ROUGE_TYPES:
            assert values[(protocol, k)] == round(summary["scores"]["lora"][protocol][k], 4)
    assert (
        "| mean | zero-shot (base model) |" in card.text
        and "10 dialogues of the test split" in card.text
    )


def test_scores_json_counts_the_dialogues_each_model_wins(evaluated):
    """scores.json's "wins": the same counts as the per-dialogue ROUGE of the predictions files."""
    summary = json.loads((evaluated / "scores.json").read_text())
    base, lora = (read_jsonl(evaluated / f"predictions-{name}.jsonl") for name in ("base", "lora"))
    for k in ROUGE_TYPES:
        wins = summary["wins"]["lora vs base"]["mean"][k]
        pairs = [(b["rouge"][k], t["rouge"][k]) for b, t in zip(base, lora)]
        assert wins["higher"]["dialogues"] == sum(t > b + 1e-9 for b, t in pairs)
        assert wins["lower"]["dialogues"] == sum(t < b - 1e-9 for b, t in pairs)
        assert sum(wins[o]["dialogues"] for o in ("higher", "equal", "lower")) == 10
        assert all(
            wins[o]["ci95"][0] <= wins[o]["share"] <= wins[o]["ci95"][1]
            for o in ("higher", "equal", "lower")
        )


def test_evaluate_prints_the_wins_and_updates_only_the_evaluated_adapters_card(
    run_dir, evaluated, tmp_path, capsys
):
    from huggingface_hub import ModelCard

    before = (run_dir / "adapter" / "README.md").read_text()
    copy = shutil.copytree(run_dir / "adapter", tmp_path / "adapter")
    evaluate_copy = [
        "evaluate",
        "--preset",
        "smoke",
        "--output-dir",
        str(run_dir),
        "--results-dir",
        str(tmp_path / "results"),
        "--adapter",
        str(copy),
        "--limit",
        "4",
        *GEN,
    ]
    assert main(evaluate_copy) == 0
    out = capsys.readouterr().out
    assert "Test dialogues where lora scores higher than, equal to, lower than base" in out
    assert "not estimable: 4 dialogues; at least 10 are needed" in out
    assert f"model card: {copy / 'README.md'}" in out
    assert "4 dialogues of the test split" in ModelCard.load(copy / "README.md").text
    assert (run_dir / "adapter" / "README.md").read_text() == before
    # a card someone wrote is kept: a warning line, and the evaluation itself succeeds
    (copy / "README.md").write_text("---\nlicense: mit\n---\n# Mine\n", encoding="utf-8")
    assert main(evaluate_copy) == 0
    err = capsys.readouterr().err
    assert "warning: the model card was not updated: " in err and "someone wrote" in err
    assert (copy / "README.md").read_text(encoding="utf-8").endswith("# Mine\n")

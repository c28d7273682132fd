"""``python -m dialogsum_peft`` (or ``dialogsum-peft``): train, evaluate and summarize from a shell.

Why: the notebook teaches; longer runs (the full dataset, a bigger Flan-T5, several GPUs) need
the same pipeline as a command. Every subcommand is driven by one :class:`TrainConfig`: a preset,
optionally a JSON/YAML file on top, then command-line flags on top of that; the resolved config
is saved beside the outputs as ``config.json`` (and ``--config`` reloads it).

Multi-GPU runs use the existing engines: start the same command with ``accelerate launch`` or
``torchrun`` and the Trainer trains data-parallel; generation is split across processes by
:mod:`dialogsum_peft.distributed`; only the main process writes files or prints results.

Bad arguments print one line ``error: ...`` on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

PROG = "python -m dialogsum_peft"
DEFAULT_PRESET = "auto"
PRESETS = ("smoke", "colab", "full", "auto")
MODEL_NAMES = ("base", "lora")  # the keys of scores.json and the predictions files


class CliError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`CliError` (one line, no usage dump) instead of exiting."""

    def error(self, message):  # noqa: D401 - argparse API
        raise CliError(f"{message} (see '{self.prog} --help')")


# ------------------------------------------------------------------------------------ config
def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The fields stored in a JSON or YAML config file (e.g. a previous run's config.json)."""
    path = Path(path)
    if not path.is_file():
        raise CliError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as err:  # json.JSONDecodeError, yaml.YAMLError
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CliError(f"cannot parse config file {path}: {first}") from None
    if not isinstance(data, dict):
        raise CliError(f"config file {path} must hold a mapping of TrainConfig fields")
    return data


def resolve_config(args: argparse.Namespace):
    """preset → ``--config`` file → flags, validated by :class:`TrainConfig`.

    Without ``--preset`` a config file stands alone (it holds every field of a saved run);
    without either, the ``auto`` preset (Flan-T5-base sized for this device) is the start.
    """
    from .training import TrainConfig

    file_values = load_config_file(args.config) if getattr(args, "config", None) else {}
    flags = {name: getattr(args, name) for name in TrainConfig.field_names() - {"preset"}
             if hasattr(args, name)}
    if getattr(args, "epochs", None) is not None:
        if "max_steps" in flags:
            raise CliError("give --max-steps or --epochs, not both")
        flags.update(num_train_epochs=args.epochs, max_steps=-1)
    preset = getattr(args, "preset", None)
    try:
        if file_values:
            TrainConfig.from_dict(file_values)  # names every unknown field
        if preset is not None or not file_values:
            preset = preset or DEFAULT_PRESET
            file_values = {k: v for k, v in file_values.items() if k != "preset"}
            return TrainConfig.from_preset(preset, **{**file_values, **flags})
        return TrainConfig.from_dict({**file_values, **flags})
    except (TypeError, ValueError) as err:
        raise CliError(str(err)) from None


# ------------------------------------------------------------------------------------ helpers
def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _say(state, *lines: str, file=None) -> None:
    """Print on the main process only."""
    if state.is_main_process:
        for line in lines:
            print(line, file=file or sys.stdout, flush=True)


def _banner(state, config, file=None) -> None:
    if config.is_smoke:
        from .offline import smoke_banner

        _say(state, smoke_banner(), file=file)


SMOKE_NOTE = "SMOKE: tiny random T5 on the offline sample; meaningless numbers"


def _load_dataset(config, state):
    from .data import DataError, load_dialogsum

    with state.main_process_first():  # one Hub download, not one per process
        try:
            return load_dialogsum(config.dataset_source)
        except (FileNotFoundError, DataError) as err:
            raise CliError(_one_line(err)) from None


def _load_base(config, state, dataset_dict=None):
    from .training import load_base_model

    # The main process builds (smoke) or downloads the base first; the others then read it.
    with state.main_process_first():
        return load_base_model(config, dataset_dict, device=state.device)


def _check_adapter_dir(path: str | None) -> Path | None:
    if path is None:
        return None
    from .training import check_adapter_dir

    try:
        return check_adapter_dir(path)
    except (FileNotFoundError, ValueError) as err:
        raise CliError(str(err)) from None


def _attach_adapter(model, path: Path):
    from .training import load_adapter

    try:
        return load_adapter(model, path)
    except (ValueError, RuntimeError, KeyError) as err:
        raise CliError(f"cannot load the adapter {path} onto the base model: "
                       f"{_one_line(err)[:300]}") from None


def _save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=120)
    plt.close(fig)


def _use_agg() -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, works headless


# ------------------------------------------------------------------------------------ train
def cmd_train(args: argparse.Namespace) -> int:
    from .distributed import finish, process_state

    config = resolve_config(args)
    out = Path(config.output_dir)
    checkpoint = None
    if args.resume is not None:
        from .training import find_last_checkpoint

        if args.resume == "last":
            checkpoint = find_last_checkpoint(out)
            if checkpoint is None:
                raise CliError(f"--resume: no checkpoint-N folder in {out / 'checkpoints'} "
                               "(train with the same --output-dir first)")
        else:
            checkpoint = args.resume
            if not (Path(checkpoint) / "trainer_state.json").is_file():
                raise CliError(f"--resume: {checkpoint} is not a Trainer checkpoint folder")

    state = process_state()
    dataset = _load_dataset(config, state)
    _banner(state, config)
    from .data import require_split

    try:
        require_split(dataset, "train")
    except ValueError as err:
        raise CliError(_one_line(err)) from None
    model, tokenizer = _load_base(config, state, dataset)

    from .modeling import count_parameters
    from .training import add_lora_from_config, make_trainer

    try:
        peft_model = add_lora_from_config(model, config)
    except ValueError as err:  # e.g. target modules the model does not have
        raise CliError(f"cannot add LoRA: {_one_line(err)[:300]}") from None
    if state.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        config.save(out / "config.json")
        print(f"run folder: {out}  (world size {state.num_processes}, device {state.device})")
        count_parameters(peft_model)
        if checkpoint:
            print(f"resuming from {checkpoint}")
    # LoRA layers are used in every forward pass: no need for DDP's search for unused ones.
    trainer = make_trainer(peft_model, tokenizer, dataset, config, ddp_find_unused_parameters=False)
    result = trainer.train(resume_from_checkpoint=checkpoint)

    if trainer.is_world_process_zero():
        _write_training_outputs(trainer, peft_model, tokenizer, config, result, state)
    finish(state)
    return 0


def _write_training_outputs(trainer, peft_model, tokenizer, config, result, state) -> None:
    from .reporting import plot_loss_curve
    from .training import adapter_size_mb, loss_history, save_adapter

    out = Path(config.output_dir)
    adapter = save_adapter(peft_model, out / "adapter", tokenizer=tokenizer)
    history = loss_history(trainer)
    with open(out / "loss_history.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", "loss"])
        writer.writerows(history)
    (out / "loss_history.json").write_text(
        json.dumps([{"step": s, "loss": loss} for s, loss in history], indent=1) + "\n")
    metrics = dict(result.metrics)
    metrics.update(global_step=trainer.state.global_step, world_size=state.num_processes,
                   adapter_mb=round(adapter_size_mb(adapter), 3), smoke=config.is_smoke)
    (out / "train_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    if history:
        _use_agg()
        fig = plot_loss_curve(history, note=SMOKE_NOTE if config.is_smoke else None)
        _save_figure(fig, out / "loss_curve.png")
    else:
        print(f"no loss was logged (fewer than logging_steps={config.logging_steps} steps): "
              "no loss curve")
    print(f"adapter: {adapter} ({adapter_size_mb(adapter):.2f} MB)")
    print(f"training log: {out / 'loss_history.csv'}, {out / 'loss_history.json'}"
          + (f", plot {out / 'loss_curve.png'}" if history else ""))
    if history:
        print(f"loss: {history[0][1]:.4f} at step {history[0][0]} -> "
              f"{history[-1][1]:.4f} at step {history[-1][0]}")
    _banner(state, config)


# ------------------------------------------------------------------------------------ evaluate
def cmd_evaluate(args: argparse.Namespace) -> int:
    from .distributed import distributed_evaluate, finish, process_state

    config = resolve_config(args)
    adapter = _check_adapter_dir(args.adapter)
    if args.no_base and adapter is None:
        raise CliError("--no-base needs --adapter (otherwise there is nothing to evaluate)")
    results_dir = Path(args.results_dir) if args.results_dir else Path(config.output_dir) / "evaluation"

    state = process_state()
    dataset = _load_dataset(config, state)
    _banner(state, config)
    from .data import require_split
    from .evaluation import limit_split

    try:
        split = limit_split(require_split(dataset, args.split), config.eval_limit)
    except ValueError as err:
        raise CliError(_one_line(err)) from None
    model, tokenizer = _load_base(config, state, dataset)
    gen = config.generation_kwargs()

    results = {}
    if adapter is None:
        results["base"] = distributed_evaluate(model, tokenizer, split, state, desc="base", **gen)
    else:
        # PeftModel.from_pretrained injects LoRA layers into ``model`` in place, so the zero-shot
        # numbers come from the same object with the adapter switched off.
        model = _attach_adapter(model, adapter)
        if not args.no_base:
            with model.disable_adapter():
                results["base"] = distributed_evaluate(model, tokenizer, split, state,
                                                       desc="base (adapter off)", **gen)
        results["lora"] = distributed_evaluate(model, tokenizer, split, state, desc="lora", **gen)

    if state.is_main_process:
        _write_evaluation_outputs(results, split, config, args, adapter, results_dir)
        _banner(state, config)
    finish(state)
    return 0


def _write_evaluation_outputs(results, split, config, args, adapter, results_dir: Path) -> None:
    from .reporting import plot_rouge_comparison, rouge_table

    results_dir.mkdir(parents=True, exist_ok=True)
    config.save(results_dir / "config.json")
    scores = {name: r.scores for name, r in results.items()}
    summary = {
        "split": args.split, "num_dialogues": len(split), "model": config.model_name,
        "adapter": str(adapter) if adapter else None, "smoke": config.is_smoke, "scores": scores,
    }
    (results_dir / "scores.json").write_text(json.dumps(summary, indent=2) + "\n")
    formats = ("csv", "jsonl") if args.predictions_format == "both" else (args.predictions_format,)
    ids, dialogues, references = list(split["id"]), list(split["dialogue"]), list(split["references"])
    written = []
    for name, result in results.items():
        rows = [{"id": i, "dialogue": d, "references": refs, "prediction": p}
                for i, d, refs, p in zip(ids, dialogues, references, result.predictions)]
        if "jsonl" in formats:
            path = results_dir / f"predictions-{name}.jsonl"
            with open(path, "w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            written.append(path)
        if "csv" in formats:
            path = results_dir / f"predictions-{name}.csv"
            with open(path, "w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=["id", "dialogue", "references", "prediction"])
                writer.writeheader()
                for row in rows:  # references: a JSON list, so every reference survives
                    writer.writerow({**row, "references": json.dumps(row["references"],
                                                                     ensure_ascii=False)})
            written.append(path)
    _use_agg()
    fig = plot_rouge_comparison(scores, title=f"ROUGE on DialogSum {args.split} ({len(split)} dialogues)",
                                note=SMOKE_NOTE if config.is_smoke else None)
    _save_figure(fig, results_dir / "rouge.png")
    both = len(results) == 2
    print(rouge_table(scores, baseline="base" if both else None, improved="lora" if both else None)
          .to_string())
    print(f"scores: {results_dir / 'scores.json'}; predictions: "
          f"{', '.join(str(p) for p in written)}; chart: {results_dir / 'rouge.png'}")


# ------------------------------------------------------------------------------------ summarize
def read_dialogues(text: str) -> tuple[list[dict[str, Any]], bool]:
    """Dialogues from JSON Lines (a ``"dialogue"`` field per line) or blank-line-separated text.

    Returns the records (each with a ``"dialogue"``) and whether the input was JSON Lines.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and all(line.lstrip().startswith("{") for line in lines):
        records = []
        for n, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise CliError(f"input line {n} is not valid JSON ({err.msg})") from None
            if not isinstance(record, dict) or not isinstance(record.get("dialogue"), str) \
                    or not record["dialogue"].strip():
                raise CliError(f"input line {n} has no non-empty \"dialogue\" string field")
            records.append(record)
        return records, True
    blocks = [b.strip() for b in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")) if b.strip()]
    return [{"dialogue": b} for b in blocks], False


def cmd_summarize(args: argparse.Namespace) -> int:
    from .distributed import distributed_summarize, finish, process_state

    config = resolve_config(args)
    adapter = _check_adapter_dir(args.adapter)
    if args.input == "-":
        text = sys.stdin.read()
    else:
        path = Path(args.input)
        if not path.is_file():
            raise CliError(f"input file not found: {path}")
        text = path.read_text(encoding="utf-8")
    records, is_jsonl = read_dialogues(text)
    if not records:
        raise CliError("no dialogues in the input (give JSON Lines with a \"dialogue\" field, or "
                       "plain-text dialogues separated by blank lines)")
    fmt = args.format or ("jsonl" if is_jsonl or (args.output or "").endswith(".jsonl") else "text")

    state = process_state()
    _banner(state, config, file=sys.stderr)  # stdout stays the summaries alone
    dataset = None
    if config.is_smoke and not (Path(config.output_dir) / "tiny-base" / "config.json").is_file():
        dataset = _load_dataset(config, state)  # the tiny tokenizer is trained on the sample
    model, tokenizer = _load_base(config, state, dataset)
    if adapter is not None:
        model = _attach_adapter(model, adapter)
    summaries = distributed_summarize(
        model, tokenizer, [r["dialogue"] for r in records], state,
        progress=args.output is not None, **config.generation_kwargs(),
    )
    if state.is_main_process:
        if fmt == "jsonl":
            lines = [json.dumps({**r, "prediction": s}, ensure_ascii=False)
                     for r, s in zip(records, summaries)]
        else:
            lines = [" ".join(s.split()) for s in summaries]
        body = "\n".join(lines) + "\n"
        if args.output:
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            Path(args.output).write_text(body, encoding="utf-8")
            print(f"{len(lines)} summaries written to {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(body)
            sys.stdout.flush()
    _banner(state, config, file=sys.stderr)
    finish(state)
    return 0


# ------------------------------------------------------------------------------------ parser
TRAIN_EPILOG = """\
examples:
  # offline smoke run (tiny random T5 on the shipped sample; seconds on a CPU, gibberish output)
  python -m dialogsum_peft train --preset smoke --output-dir runs/smoke
  # Flan-T5-base on DialogSum, settings chosen for this GPU, 2 epochs
  python -m dialogsum_peft train --preset auto --epochs 2 --output-dir runs/base
  # a bigger model, more LoRA targets, bf16
  python -m dialogsum_peft train --model google/flan-t5-large --lora-targets q,k,v,o \\
      --lora-r 16 --precision bf16 --max-steps 3000 --output-dir runs/large
  # continue an interrupted run from its last checkpoint
  python -m dialogsum_peft train --config runs/base/config.json --resume
  # 4 GPUs, data parallel (either launcher)
  accelerate launch --multi_gpu --num_processes 4 -m dialogsum_peft train --output-dir runs/ddp
  torchrun --nproc_per_node 4 -m dialogsum_peft train --output-dir runs/ddp

writes into --output-dir: config.json, adapter/ (LoRA weights + tokenizer),
loss_history.csv, loss_history.json, loss_curve.png, train_metrics.json, checkpoints/
"""

EVALUATE_EPILOG = """\
examples:
  # after 'train --preset smoke --output-dir runs/smoke': zero-shot base vs. the adapter
  python -m dialogsum_peft evaluate --preset smoke --output-dir runs/smoke --adapter runs/smoke/adapter
  # Flan-T5-base zero-shot on the first 200 test dialogues
  python -m dialogsum_peft evaluate --limit 200 --output-dir runs/zero-shot
  # only the adapter, beam search, on the validation split, on 4 GPUs
  accelerate launch --multi_gpu --num_processes 4 -m dialogsum_peft evaluate \\
      --config runs/base/config.json --adapter runs/base/adapter --no-base --split validation --num-beams 4

writes into --results-dir (default <output-dir>/evaluation): scores.json ({"scores": {"base"|"lora":
{rouge1, rouge2, rougeL, rougeLsum}}}), predictions-<base|lora>.csv/.jsonl (id, dialogue,
references, prediction), rouge.png, config.json
"""

SUMMARIZE_EPILOG = """\
input: JSON Lines with a "dialogue" field per line, or plain-text dialogues separated by a blank line.
output: one summary per input dialogue, in order: one line each (text), or the input records
with a "prediction" field added (jsonl; the default for JSON Lines input or a .jsonl --output).

examples:
  python -m dialogsum_peft summarize --adapter runs/base/adapter --input dialogues.txt
  cat dialogues.jsonl | python -m dialogsum_peft summarize --adapter runs/base/adapter --output out.jsonl
  python -m dialogsum_peft summarize --preset smoke --output-dir runs/smoke \\
      --adapter runs/smoke/adapter --input data/dialogsum_sample/test.jsonl
"""


def _add_common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("configuration (a preset, then --config, then these flags)")
    S = argparse.SUPPRESS  # flags that were not given leave the config's value alone
    g.add_argument("--preset", choices=PRESETS, metavar="{" + ",".join(PRESETS) + "}",
                   help="starting point: smoke (offline tiny T5 on the shipped sample), colab "
                        "(T4, fp32), auto/full (flan-t5-base sized for this device). "
                        f"Default: {DEFAULT_PRESET}, or the --config file alone")
    g.add_argument("--config", metavar="FILE",
                   help="TrainConfig fields as JSON or YAML (e.g. a previous run's config.json)")
    g.add_argument("--model", dest="model_name", default=S, metavar="NAME_OR_PATH",
                   help="base model: a Hub id (google/flan-t5-base, google/flan-t5-large) or folder")
    g.add_argument("--dataset", dest="dataset_source", default=S, metavar="ID_OR_DIR",
                   help="knkarthick/dialogsum (Hub) or a local folder of DialogSum .jsonl files")
    g.add_argument("--output-dir", dest="output_dir", default=S, metavar="DIR",
                   help="the run folder (the smoke base model is cached in DIR/tiny-base)")
    g.add_argument("--seed", type=int, default=S)
    g.add_argument("--precision", default=S, metavar="{bf16,fp32}",
                   help="bf16 (Ampere or newer GPUs) or fp32; fp16 is refused: T5 overflows")
    g.add_argument("--max-source-length", dest="max_source_length", type=int, default=S,
                   metavar="TOKENS", help="dialogue prompts are truncated to this many tokens")


def _add_generation(p: argparse.ArgumentParser) -> None:
    S = argparse.SUPPRESS
    g = p.add_argument_group("generation")
    g.add_argument("--adapter", metavar="DIR",
                   help="a LoRA adapter folder written by 'train' (<output-dir>/adapter)")
    g.add_argument("--batch-size", dest="eval_batch_size", type=int, default=S,
                   help="dialogues per generation batch")
    g.add_argument("--max-new-tokens", dest="max_new_tokens", type=int, default=S)
    g.add_argument("--num-beams", dest="num_beams", type=int, default=S,
                   help="1: greedy (default); more: beam search")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Flan-T5 + LoRA (peft) on DialogSum: train an adapter, evaluate ROUGE, "
                    "summarize dialogues. Run '<command> --help' for each command's flags.",
        epilog="multi-GPU: start any command with 'accelerate launch [--multi_gpu --num_processes N] "
               "-m dialogsum_peft ...' or 'torchrun --nproc_per_node N -m dialogsum_peft ...'",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"dialogsum_peft {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,summarize}")
    sub.required = True
    fmt = argparse.RawDescriptionHelpFormatter
    S = argparse.SUPPRESS

    p = sub.add_parser("train", help="LoRA fine-tune and save the adapter", epilog=TRAIN_EPILOG,
                       formatter_class=fmt, description="LoRA fine-tuning with the Trainer "
                       "(data parallel when started by accelerate launch or torchrun).")
    _add_common(p)
    g = p.add_argument_group("LoRA")
    g.add_argument("--lora-r", dest="lora_r", type=int, default=S, metavar="R")
    g.add_argument("--lora-alpha", dest="lora_alpha", type=int, default=S, metavar="ALPHA")
    g.add_argument("--lora-targets", dest="lora_target_modules", type=_module_list, default=S,
                   metavar="q,v", help="comma-separated module names (T5: q,k,v,o,wi_0,wi_1,wo)")
    g.add_argument("--lora-dropout", dest="lora_dropout", type=float, default=S, metavar="P")
    g = p.add_argument_group("optimisation")
    g.add_argument("--max-steps", dest="max_steps", type=int, default=S, metavar="N")
    g.add_argument("--epochs", type=float, metavar="E", help="train E epochs instead of --max-steps")
    g.add_argument("--batch-size", dest="per_device_train_batch_size", type=int, default=S,
                   metavar="N", help="per device (the effective batch is N x processes x --grad-accum)")
    g.add_argument("--grad-accum", dest="gradient_accumulation_steps", type=int, default=S,
                   metavar="N")
    g.add_argument("--learning-rate", "--lr", dest="learning_rate", type=float, default=S,
                   metavar="LR")
    g.add_argument("--warmup-steps", dest="warmup_steps", type=int, default=S, metavar="N")
    g.add_argument("--weight-decay", dest="weight_decay", type=float, default=S)
    g.add_argument("--optim", default=S, help="Trainer optimizer name (adamw_torch, adamw_torch_fused)")
    g.add_argument("--gradient-checkpointing", dest="gradient_checkpointing", action="store_true",
                   default=S, help="trade compute for memory")
    g.add_argument("--train-limit", dest="train_limit", type=int, default=S, metavar="N",
                   help="use only the first N training dialogues")
    g.add_argument("--max-target-length", dest="max_target_length", type=int, default=S,
                   metavar="TOKENS")
    g = p.add_argument_group("logging and checkpoints")
    g.add_argument("--logging-steps", dest="logging_steps", type=int, default=S, metavar="N")
    g.add_argument("--save-steps", dest="save_steps", type=int, default=S, metavar="N")
    g.add_argument("--save-total-limit", dest="save_total_limit", type=int, default=S, metavar="N")
    g.add_argument("--resume", nargs="?", const="last", metavar="CHECKPOINT",
                   help="continue from the last checkpoint in <output-dir>/checkpoints "
                        "(or from the given checkpoint folder)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="ROUGE of the base model and/or an adapter",
                       epilog=EVALUATE_EPILOG, formatter_class=fmt,
                       description="Generate summaries for a split and score them (ROUGE-1/2/L/Lsum "
                       "against every reference). With --adapter both the zero-shot base and the "
                       "adapter are scored, unless --no-base.")
    _add_common(p)
    _add_generation(p)
    g = p.add_argument_group("evaluation")
    g.add_argument("--no-base", action="store_true", help="with --adapter: skip the zero-shot base")
    g.add_argument("--split", default="test", choices=("train", "validation", "test"))
    g.add_argument("--limit", dest="eval_limit", type=int, default=S, metavar="N",
                   help="score only the first N dialogues of the split")
    g.add_argument("--results-dir", metavar="DIR", help="default: <output-dir>/evaluation")
    g.add_argument("--predictions-format", choices=("csv", "jsonl", "both"), default="both")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("summarize", help="summaries for dialogues from a file or stdin",
                       epilog=SUMMARIZE_EPILOG, formatter_class=fmt,
                       description="Summarize dialogues with the base model or an adapter.")
    _add_common(p)
    _add_generation(p)
    g = p.add_argument_group("input and output")
    g.add_argument("--input", "-i", default="-", metavar="FILE", help="default: stdin")
    g.add_argument("--output", "-o", metavar="FILE", help="default: stdout")
    g.add_argument("--format", choices=("text", "jsonl"), help="output format (see below)")
    p.set_defaults(func=cmd_summarize)
    return parser


def _module_list(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("give module names separated by commas, e.g. q,v")
    return names


def _error(message: str) -> None:
    print(f"error: {_one_line(message)}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 run failed, 2 bad arguments)."""
    from .hub import HubUnavailableError
    from .training import NonFiniteLossError

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except SystemExit as stop:  # --help / --version
        return stop.code if isinstance(stop.code, int) else 0
    except CliError as err:
        _error(str(err))
        return 2
    except (HubUnavailableError, NonFiniteLossError) as err:
        _error(str(err))
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``python -m dialogsum_peft`` (or ``dialogsum-peft``): train, evaluate and summarize from a shell.

Why: the notebook teaches; longer runs (the full dataset, a bigger Flan-T5, several GPUs) need
the same pipeline as a command. Every subcommand is driven by one :class:`TrainConfig`: a preset
(and recipe), optionally a JSON/YAML file on top, then flags on top of that. The flags are made
from ``TrainConfig``'s fields and their help text, so a new setting is one edit in ``config.py``.

Multi-GPU runs use the existing engines: start the same command with ``accelerate launch`` or
``torchrun``; the Trainer trains data-parallel and generation is split across processes.

Every failure the user can fix prints one line ``error: ...`` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from .config import DEFAULT_RECIPE, PRESETS, RECIPES, TrainConfig
from .errors import ConfigError, DialogSumError, one_line

PROG = "python -m dialogsum_peft"
DEFAULT_PRESET = "auto"


TRAIN_EPILOG = """\
examples:
  # offline smoke run (tiny random T5 on the shipped sample; seconds on a CPU, gibberish output)
  python -m dialogsum_peft train --preset smoke --output-dir runs/smoke
  # Flan-T5-base on DialogSum, the thorough recipe (2 epochs), split for this GPU
  python -m dialogsum_peft train --recipe thorough --output-dir runs/base
  # continue an interrupted run from its last checkpoint (same settings: its config.json)
  python -m dialogsum_peft train --config runs/base/config.json --resume
  # 4 GPUs, data parallel (either launcher)
  accelerate launch --multi_gpu --num_processes 4 -m dialogsum_peft train --output-dir runs/ddp
  torchrun --nproc_per_node 4 -m dialogsum_peft train --output-dir runs/ddp

writes into --output-dir: config.json, adapter/ (LoRA weights + tokenizer), loss_history.csv,
loss_history.json, loss_curve.png, train_metrics.json, checkpoints/ (with run.json, the run's
identity). A folder that already holds a run needs --resume (same settings) or --overwrite.
"""

EVALUATE_EPILOG = """\
examples:
  python -m dialogsum_peft evaluate --preset smoke --output-dir runs/smoke --adapter runs/smoke/adapter
  python -m dialogsum_peft evaluate --limit 200 --output-dir runs/zero-shot
  python -m dialogsum_peft evaluate --config runs/base/config.json --adapter runs/base/adapter

writes (complete, replacing an earlier evaluation) into --results-dir (default
<output-dir>/evaluation): scores.json (per model: ROUGE under the "mean", "best" and "first"
reference protocols), predictions-<base|lora>.csv/.jsonl, rouge.png, config.json
"""

SUMMARIZE_EPILOG = """\
input: JSON Lines with a "dialogue" field per line, or plain-text dialogues separated by a blank
line (UTF-8; a byte-order mark is fine). output: one summary per dialogue, in order: one line
each (text), or the input records with a "prediction" field (jsonl; the default for JSON Lines
input or a .jsonl --output).

examples:
  python -m dialogsum_peft summarize --adapter runs/base/adapter --input dialogues.txt
  python -m dialogsum_peft summarize --preset smoke --adapter runs/smoke/adapter \\
      --input data/dialogsum_sample/test.jsonl --output runs/smoke/summaries.jsonl
"""


class CliError(DialogSumError):
    """A problem with the command line itself: reported in one line, exit status 2."""


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
    try:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as err:  # UnicodeDecodeError, OSError, json/yaml errors
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CliError(f"cannot read config file {path}: {first}") from None
    if not isinstance(data, dict):
        raise CliError(f"config file {path} must hold a mapping of TrainConfig fields")
    return data


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """preset (+ recipe) → ``--config`` file → flags, validated by :class:`TrainConfig`.

    Without ``--preset`` a config file stands alone (it holds every field of a saved run);
    without either, the ``auto`` preset (Flan-T5-base, split for this device) is the start.
    """
    file_values = load_config_file(args.config) if getattr(args, "config", None) else {}
    flags = {name: getattr(args, name) for name in TrainConfig.field_names() - {"preset"}
             if hasattr(args, name)}
    if "num_train_epochs" in flags:
        if "max_steps" in flags:
            raise CliError("give --max-steps or --epochs, not both")
        flags["max_steps"] = -1
    preset = getattr(args, "preset", None)
    if file_values:
        TrainConfig.from_dict({**file_values, **flags})  # names unknown fields, checks values
    if preset is not None or not file_values:
        file_values = {k: v for k, v in file_values.items() if k != "preset"}
        return TrainConfig.from_preset(preset or DEFAULT_PRESET, **{**file_values, **flags})
    return TrainConfig.from_dict({**file_values, **flags})


# ------------------------------------------------------------------------------------ parser
def _flag_type(f: dataclasses.Field):
    base = str(f.type).replace("| None", "").strip()
    if base == "tuple[str, ...]":
        return _module_list
    return {"int": int, "float": float, "str": str}[base]


def _module_list(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("give module names separated by commas, e.g. q,v")
    return names


def add_config_flags(parser: argparse.ArgumentParser, groups: tuple[str, ...],
                     skip: tuple[str, ...] = ()) -> None:
    """One flag per ``TrainConfig`` field whose ``cli`` group is in ``groups``.

    Flags that are not given leave the preset's or file's value alone (``SUPPRESS``).
    """
    g = parser.add_argument_group("configuration (a preset, then --config, then these flags)")
    g.add_argument("--preset", choices=PRESETS, metavar="{" + ",".join(PRESETS) + "}",
                   help="starting point: smoke (offline tiny T5 on the shipped sample), colab "
                        "(T4, fp32), auto/full (flan-t5-base split for this device). "
                        f"Default: {DEFAULT_PRESET}, or the --config file alone")
    g.add_argument("--recipe", default=argparse.SUPPRESS, choices=tuple(RECIPES),
                   help="full-mode recipe, the same on every card: " + "; ".join(
                       f"{r.name}: {r.description}" for r in RECIPES.values())
                   + f" (default {DEFAULT_RECIPE})")
    g.add_argument("--config", metavar="FILE",
                   help="TrainConfig fields as JSON or YAML (e.g. a previous run's config.json)")
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        if meta.get("cli") not in groups or f.name in skip:
            continue
        flags = meta.get("flag") or "--" + f.name.replace("_", "-")
        flags = (flags,) if isinstance(flags, str) else flags
        kwargs: dict[str, Any] = dict(dest=f.name, default=argparse.SUPPRESS, help=meta["help"])
        if str(f.type) == "bool":
            kwargs["action"] = "store_true"
        else:
            kwargs.update(type=_flag_type(f), metavar=meta.get("metavar"))
            if meta.get("choices"):
                kwargs["metavar"] = "{" + ",".join(meta["choices"]) + "}"
        g.add_argument(*flags, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .commands import cmd_evaluate, cmd_summarize, cmd_train

    parser = _Parser(
        prog=PROG,
        description="Flan-T5 + LoRA (peft) on DialogSum: train an adapter, evaluate ROUGE, "
                    "summarize dialogues. Run '<command> --help' for each command's flags.",
        epilog="multi-GPU: start any command with 'accelerate launch [--multi_gpu --num_processes N] "
               "-m dialogsum_peft ...' or 'torchrun --nproc_per_node N -m dialogsum_peft ...'",
    )
    parser.add_argument("--version", action="version", version=f"dialogsum_peft {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,summarize}")
    sub.required = True
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser("train", help="LoRA fine-tune and save the adapter", epilog=TRAIN_EPILOG,
                       formatter_class=fmt, description="LoRA fine-tuning with the Trainer "
                       "(data parallel when started by accelerate launch or torchrun).")
    add_config_flags(p, ("common", "train"))
    g = p.add_argument_group("run folder")
    g.add_argument("--resume", nargs="?", const="last", metavar="CHECKPOINT",
                   help="continue this run from its last checkpoint in <output-dir>/checkpoints "
                        "(or from the given checkpoint folder of the same run)")
    g.add_argument("--overwrite", action="store_true",
                   help="replace the training outputs already in --output-dir")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="ROUGE of the base model and/or an adapter",
                       epilog=EVALUATE_EPILOG, formatter_class=fmt,
                       description="Generate summaries for a split and score them (ROUGE-1/2/L/"
                       "Lsum under the mean, best and first reference protocols). With --adapter "
                       "both the zero-shot base and the adapter are scored, unless --no-base.")
    add_config_flags(p, ("common", "generate"))
    g = p.add_argument_group("evaluation")
    g.add_argument("--adapter", metavar="DIR", help="an adapter folder written by 'train'")
    g.add_argument("--no-base", action="store_true", help="with --adapter: skip the zero-shot base")
    g.add_argument("--split", default="test", choices=("train", "validation", "test"))
    g.add_argument("--results-dir", metavar="DIR", help="default: <output-dir>/evaluation")
    g.add_argument("--predictions-format", choices=("csv", "jsonl", "both"), default="both")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("summarize", help="summaries for dialogues from a file or stdin",
                       epilog=SUMMARIZE_EPILOG, formatter_class=fmt,
                       description="Summarize dialogues with the base model or an adapter.")
    add_config_flags(p, ("common", "generate"), skip=("eval_limit",))
    g = p.add_argument_group("input and output")
    g.add_argument("--adapter", metavar="DIR", help="an adapter folder written by 'train'")
    g.add_argument("--input", "-i", default="-", metavar="FILE", help="default: stdin")
    g.add_argument("--output", "-o", metavar="FILE", help="default: stdout")
    g.add_argument("--format", choices=("text", "jsonl"), help="output format (see below)")
    p.set_defaults(func=cmd_summarize)
    return parser


def _error(message: str) -> None:
    print(f"error: {one_line(message)}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 a failure the user can fix)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except SystemExit as stop:  # --help / --version
        return stop.code if isinstance(stop.code, int) else 0
    except (DialogSumError, ConfigError) as err:
        _error(str(err))
        return 2
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

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
import functools
import os
import sys
import textwrap
import time
import warnings
from typing import Any

from .config import DEFAULT_RECIPE, PRESETS, RECIPES, TrainConfig
from .cli_config import DEFAULT_PRESET, CliError, default_help
from .errors import ConfigError, DialogSumError, DialogSumWarning, one_line
from .run_folder import describe_run_files

PROG = "python -m dialogsum_peft"


TRAIN_EPILOG = """\
examples:
  # offline smoke run (tiny random T5 on the shipped sample; seconds on a CPU, gibberish output)
  python -m dialogsum_peft train --preset smoke --output-dir runs/smoke
  # Flan-T5-base on DialogSum, the thorough recipe (2 epochs), split for this GPU
  python -m dialogsum_peft train --recipe thorough --output-dir runs/base
  # continue an interrupted run from its last checkpoint (same settings: its config.json)
  python -m dialogsum_peft train --config runs/base/config.json --resume
  # your own dialogues (a folder with train.jsonl: "dialogue" and "summary" per line), 3 epochs;
  # the base model comes from the Hub (once, then its cache), or offline from a local folder
  python -m dialogsum_peft train --dataset my_data --recipe own-data --output-dir runs/mine
  python -m dialogsum_peft train --dataset my_data --recipe own-data --model /models/flan-t5-base \
      --output-dir runs/mine
  # another method: lora-all, ia3, prompt-tuning or full (each with its own learning rate)
  python -m dialogsum_peft train --method ia3 --output-dir runs/ia3
  # 4 GPUs, data parallel (either launcher)
  accelerate launch --multi_gpu --num_processes 4 -m dialogsum_peft train --output-dir runs/ddp
  torchrun --nproc_per_node 4 -m dialogsum_peft train --output-dir runs/ddp

""" + textwrap.fill(f"writes into --output-dir: {describe_run_files()}. A folder that already "
                   "holds a run needs --resume (same settings) or --overwrite.", 96) + "\n"

EVALUATE_EPILOG = """\
with --adapter, the base model is the one the adapter was trained on (no --model, --preset or
--config needed; one naming another base is refused, naming both).

examples:
  python -m dialogsum_peft evaluate --preset smoke --output-dir runs/smoke --adapter runs/smoke/adapter
  python -m dialogsum_peft evaluate --limit 200 --output-dir runs/zero-shot
  python -m dialogsum_peft evaluate --config runs/base/config.json --adapter runs/base/adapter
  # your own test set (test.jsonl; several references as "summary1", "summary2", ...)
  python -m dialogsum_peft evaluate --dataset my_data --adapter runs/mine/adapter --output-dir runs/mine
  # a run of another method: its adapter/ or, for --method full, its model/ folder
  python -m dialogsum_peft evaluate --config runs/full/config.json --adapter runs/full/model

writes (complete, replacing an earlier evaluation) into --results-dir (default
<output-dir>/evaluation): scores.json (per model: ROUGE under the "mean", "best" and "first"
reference protocols), predictions-<base|method>.csv/.jsonl, rouge.png, config.json
"""

SUMMARIZE_EPILOG = """\
with --adapter, the base model is the one the adapter was trained on (no --model, --preset or
--config needed; one naming another base is refused, naming both).

input: JSON Lines with a "dialogue" field per line, or plain-text dialogues separated by a line
with nothing visible on it (blank, spaces or invisible characters) (UTF-8; a byte-order mark is
fine). output: one summary per dialogue, in order: one line each (text), or the input records
with a "prediction" field (jsonl; the default for JSON Lines input or a .jsonl --output).

examples:
  python -m dialogsum_peft summarize --adapter runs/base/adapter --input dialogues.txt
  python -m dialogsum_peft summarize --adapter runs/full/model --input dialogues.jsonl -o out.jsonl
  python -m dialogsum_peft summarize --preset smoke --adapter runs/smoke/adapter \\
      --input data/dialogsum_sample/test.jsonl --output runs/smoke/summaries.jsonl
"""


ADAPTER_HELP = "what 'train' wrote: <output-dir>/adapter (PEFT methods) or <output-dir>/model (--method full)"

EXPORT_EPILOG = """\
examples:
  # LoRA/IA3: merged into a fresh base, saved as safetensors + tokenizer
  python -m dialogsum_peft export --adapter runs/base/adapter --to runs/base/export
  # for the ctranslate2 backend (pip install ".[serve]"), then summarize with it
  python -m dialogsum_peft export --adapter runs/base/adapter --to runs/base/ct2 --format ctranslate2
  python -m dialogsum_peft summarize --backend ctranslate2 --adapter runs/base/ct2 --input dialogues.txt

the base model is the one the adapter was trained on (its adapter_config.json), as for evaluate
and summarize: no flag needed; --model, --preset or --config naming another base is refused. A
full fine-tuning run's model/ is exported as it is; prompt tuning cannot be merged (its virtual
tokens are an input, not a weight).
"""


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`CliError` (one line, no usage dump) instead of exiting."""

    def error(self, message):  # noqa: D401 - argparse API
        raise CliError(f"{message} (see '{self.prog} --help')")


# ------------------------------------------------------------------------------------ parser
def _flag_type(f: dataclasses.Field):
    base = str(f.type).replace("| None", "").strip()
    if base == "tuple[str, ...]":
        return _module_list
    return {"int": int, "float": float, "str": str}[base]


def user_path(text: str) -> str:
    """A path flag's value with ``~`` expanded: the shell does not expand it after ``=``
    (``--adapter=~/runs/x/adapter``), and every reader and writer must see the same folder."""
    return os.path.expanduser(text)


def _module_list(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("give module names separated by commas, e.g. q,v")
    return names


def add_config_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """One flag per ``TrainConfig`` field that ``command`` uses (its ``cli`` metadata), each help
    ending with its default. Flags that are not given leave the preset's or file's value alone
    (``SUPPRESS``)."""
    g = parser.add_argument_group(
        "configuration (a preset built with --recipe and --method, then the --config file's "
        "fields, then the other flags; a flag that cannot apply is refused)")
    g.add_argument("--preset", choices=PRESETS, metavar="{" + ",".join(PRESETS) + "}",
                   help="starting point: smoke (offline tiny T5 on the shipped sample), colab "
                        "(T4, fp32), auto/full (flan-t5-base split for this device); colab and "
                        "auto load the model and DialogSum from the Hugging Face Hub (or its "
                        "cache) unless --model and --dataset name local folders. "
                        f"Default: {DEFAULT_PRESET}, or the --config file alone, or with "
                        "--adapter the base it was trained on")
    if command == "train":
        g.add_argument("--recipe", default=argparse.SUPPRESS, choices=tuple(RECIPES),
                       help="training schedule, the same on every card and on any preset; it "
                            "replaces the schedule of the preset and of a --config file: "
                       + "; ".join(f"{r.name}: {r.description}" for r in RECIPES.values())
                       + f" (default: {DEFAULT_RECIPE}; smoke: its own 30 steps)")
    g.add_argument("--config", metavar="FILE", type=user_path,
                   help="TrainConfig fields as JSON or YAML (e.g. a previous run's config.json) "
                        "(default: none)")
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        if command not in meta.get("cli", ()):
            continue
        flags = meta.get("flag") or "--" + f.name.replace("_", "-")
        flags = (flags,) if isinstance(flags, str) else flags
        kwargs: dict[str, Any] = dict(dest=f.name, default=argparse.SUPPRESS,
                                      help=f"{meta['help']} ({default_help(f.name)})")
        if str(f.type) == "bool":
            kwargs["action"] = "store_true"
        else:
            kwargs.update(type=_flag_type(f), metavar=meta.get("metavar"))
            if meta.get("choices"):
                kwargs["metavar"] = "{" + ",".join(meta["choices"]) + "}"
        g.add_argument(*flags, **kwargs)


def add_backend_flags(parser: argparse.ArgumentParser) -> None:
    """``--backend`` and ``--quantization`` of evaluate and summarize."""
    from .ctranslate2_backend import BACKENDS, QUANTIZATIONS

    g = parser.add_argument_group("inference backend")
    g.add_argument("--backend", choices=BACKENDS, default="transformers",
                   help="transformers: PyTorch generate (default); ctranslate2: the CTranslate2 "
                        "engine, about 2x faster on a CPU (optional: pip install '.[serve]'); "
                        "--adapter may then also be a folder from 'export --format ctranslate2' "
                        "(default: transformers)")
    g.add_argument("--quantization", choices=QUANTIZATIONS,
                   help="ctranslate2 backend: run the weights as int8, float32 or bfloat16 "
                        "(default: as exported; float32, the same summaries as transformers, "
                        "for a model converted on the fly)")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .commands import cmd_evaluate, cmd_export, cmd_summarize, cmd_train
    from .ctranslate2_backend import QUANTIZATIONS
    from .export import FORMATS

    parser = _Parser(
        prog=PROG,
        description="Flan-T5 + LoRA (peft) on DialogSum: train an adapter, evaluate ROUGE, "
                    "summarize dialogues, export a standalone model. Run '<command> --help' for each "
                    "command's flags.",
        epilog="multi-GPU: start any command with 'accelerate launch [--multi_gpu --num_processes N] "
               "-m dialogsum_peft ...' or 'torchrun --nproc_per_node N -m dialogsum_peft ...'",
    )
    parser.add_argument("--version", action="version", version=f"dialogsum_peft {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,summarize,export}")
    sub.required = True
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser("train", help="fine-tune (LoRA by default) and save the adapter or model",
                       epilog=TRAIN_EPILOG, formatter_class=fmt,
                       description="Fine-tune with a PEFT method (LoRA by default) or fully, with "
                       "the Trainer (data parallel when started by accelerate launch or torchrun).")
    add_config_flags(p, "train")
    g = p.add_argument_group("run folder")
    g.add_argument("--resume", nargs="?", const="last", metavar="CHECKPOINT", type=user_path,
                   help="continue this run from its last checkpoint in <output-dir>/checkpoints "
                        "(or from the given checkpoint folder of the same run) (default: off: "
                        "a folder that holds a run is refused)")
    g.add_argument("--overwrite", action="store_true",
                   help="replace the training outputs already in --output-dir (default: off)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="ROUGE of the base model and/or an adapter",
                       epilog=EVALUATE_EPILOG, formatter_class=fmt,
                       description="Generate summaries for a split and score them (ROUGE-1/2/L/"
                       "Lsum under the mean, best and first reference protocols). With --adapter "
                       "both the zero-shot base and the adapter are scored, unless --no-base.")
    add_config_flags(p, "evaluate")
    g = p.add_argument_group("evaluation")
    g.add_argument("--adapter", metavar="DIR", type=user_path, help=ADAPTER_HELP + "; with it both the zero-shot "
                   "base and the trained model are scored (default: none: the base model alone)")
    g.add_argument("--no-base", action="store_true",
                   help="with --adapter: skip the zero-shot base (default: off)")
    g.add_argument("--split", default="test", choices=("train", "validation", "test"),
                   help="which split of the dataset to summarize and score (default: test)")
    g.add_argument("--results-dir", metavar="DIR", type=user_path, help="where the results go (default: "
                   "<output-dir>/evaluation)")
    g.add_argument("--predictions-format", choices=("csv", "jsonl", "both"), default="both",
                   help="file format of predictions-<model> (default: both)")
    add_backend_flags(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("summarize", help="summaries for dialogues from a file or stdin",
                       epilog=SUMMARIZE_EPILOG, formatter_class=fmt,
                       description="Summarize dialogues with the base model or an adapter.")
    add_config_flags(p, "summarize")
    g = p.add_argument_group("input and output")
    g.add_argument("--adapter", metavar="DIR", type=user_path,
                   help=ADAPTER_HELP + " (default: none: the base model alone)")
    g.add_argument("--input", "-i", default="-", metavar="FILE", type=user_path,
                   help="the dialogues (default: stdin)")
    g.add_argument("--output", "-o", metavar="FILE", type=user_path, help="where the summaries go (default: stdout)")
    g.add_argument("--format", choices=("text", "jsonl"), help="output format, see below (default: "
                   "jsonl for JSON Lines input or a .jsonl --output, text otherwise)")
    add_backend_flags(p)
    p.set_defaults(func=cmd_summarize)

    p = sub.add_parser("export", help="a standalone model: adapter merged, or for CTranslate2",
                       epilog=EXPORT_EPILOG, formatter_class=fmt,
                       description="Merge a LoRA/IA3 adapter into a fresh base model "
                       "(merge_and_unload) and write a standalone folder (safetensors + "
                       "tokenizer), or convert it for the CTranslate2 engine.")
    add_config_flags(p, "export")
    g = p.add_argument_group("export")
    g.add_argument("--adapter", required=True, metavar="DIR", type=user_path,
                   help="what 'train' wrote: <output-dir>/adapter, or <output-dir>/model (full) "
                        "(default: none, required)")
    g.add_argument("--to", required=True, metavar="DIR", help="the folder to write, new or empty "
                   "(default: none, required)")
    g.add_argument("--format", choices=FORMATS, default="merged",
                   help="merged: a transformers model folder (default); ctranslate2: for "
                        "--backend ctranslate2 (needs pip install '.[serve]') (default: merged)")
    g.add_argument("--quantization", choices=QUANTIZATIONS,
                   help="weight type: float32 (default; ctranslate2's summaries then equal "
                        "transformers'), bfloat16, or int8 (ctranslate2 only; see docs/inference.md)")
    g.add_argument("--overwrite", action="store_true", help="replace what --to already holds (default: off)")
    p.set_defaults(func=cmd_export)
    return parser


def _error(message: str, wait: bool = True) -> None:
    """The one ``error:`` line, from the main process only: under a launcher (torchrun,
    accelerate launch: ``RANK``) every process refuses the same command line at the same check,
    and N copies of the line hid nothing but the line itself. The exit status is every
    process's. Another process waits up to :data:`LAUNCHER_GRACE_S` before it exits: the
    launcher ends every process as soon as one fails, and a process that failed first used to
    end the main one before its line was printed (seen under load)."""
    if int(os.environ.get("RANK", "0") or 0) == 0:
        print(f"error: {one_line(message)}", file=sys.stderr, flush=True)
    elif wait:
        time.sleep(LAUNCHER_GRACE_S)  # ended sooner by the launcher once the main process fails


LAUNCHER_GRACE_S = 30


def _show_warning(message, category, filename, lineno, file=None, line=None, _default=None,
                  _seen=None):
    """The package's own warnings as one ``warning: ...`` line, from the main process only, each
    message once per command (the base and the adapter read the same dialogues)."""
    if not issubclass(category, DialogSumWarning):
        return _default(message, category, filename, lineno, file, line)
    text = f"warning: {one_line(message)}"
    if int(os.environ.get("RANK", "0")) == 0 and text not in _seen:
        _seen.add(text)
        print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 a failure the user can fix)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    with warnings.catch_warnings():
        warnings.simplefilter("always", DialogSumWarning)  # _show_warning shows each once
        warnings.showwarning = functools.partial(_show_warning, _default=warnings.showwarning,
                                                 _seen=set())
        return _run(parser, argv)


def _run(parser, argv) -> int:
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except SystemExit as stop:  # --help / --version
        return stop.code if isinstance(stop.code, int) else 0
    except (DialogSumError, ConfigError) as err:
        _error(str(err))
        return 2
    except KeyboardInterrupt:
        _error("interrupted", wait=False)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

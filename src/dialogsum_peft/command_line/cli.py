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
import functools
import os
import sys
import time
import warnings

from ..errors import ConfigError, DialogSumError, DialogSumWarning, one_line
from .cli_config import CliError
from .flags import (
    ADAPTER_HELP,
    EVALUATE_EPILOG,
    EXPORT_EPILOG,
    SUMMARIZE_EPILOG,
    TRAIN_EPILOG,
    add_backend_flags,
    add_config_flags,
    user_path,
)

PROG = "python -m dialogsum_peft"


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`CliError` (one line, no usage dump) instead of exiting."""

    def error(self, message):  # noqa: D401 - argparse API
        raise CliError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from ..ctranslate2_backend import QUANTIZATIONS
    from .commands import cmd_export, cmd_train
    from .export import FORMATS
    from .generate import cmd_evaluate, cmd_summarize

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

    p, g = _command(
        sub,
        cmd_train,
        "run folder",
        help="fine-tune (LoRA by default) and save the adapter or model",
        epilog=TRAIN_EPILOG,
        description="Fine-tune with a PEFT method (LoRA by default) or fully, with "
        "the Trainer (data parallel when started by accelerate launch or torchrun).",
    )
    g.add_argument(
        "--resume",
        nargs="?",
        const="last",
        metavar="CHECKPOINT",
        type=user_path,
        help="continue this run from its last checkpoint in <output-dir>/checkpoints "
        "(or from the given checkpoint folder of the same run) (default: off: "
        "a folder that holds a run is refused)",
    )
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the training outputs already in --output-dir (default: off)",
    )

    p, g = _command(
        sub,
        cmd_evaluate,
        "evaluation",
        help="ROUGE of the base model and/or an adapter",
        epilog=EVALUATE_EPILOG,
        description="Generate summaries for a split and score them (ROUGE-1/2/L/"
        "Lsum under the mean, best and first reference protocols). With --adapter "
        "both the zero-shot base and the adapter are scored, unless --no-base.",
    )
    g.add_argument(
        "--adapter",
        metavar="DIR",
        type=user_path,
        help=ADAPTER_HELP + "; with it both the zero-shot "
        "base and the trained model are scored (default: none: the base model alone)",
    )
    g.add_argument(
        "--no-base",
        action="store_true",
        help="with --adapter: skip the zero-shot base (default: off)",
    )
    g.add_argument(
        "--split",
        default="test",
        choices=("train", "validation", "test"),
        help="which split of the dataset to summarize and score (default: test)",
    )
    g.add_argument(
        "--results-dir",
        metavar="DIR",
        type=user_path,
        help="where the results go (default: <output-dir>/evaluation when --output-dir or "
        "--config names the run, else the --adapter's own run folder: runs/x/evaluation for "
        "runs/x/adapter)",
    )
    g.add_argument(
        "--predictions-format",
        choices=("csv", "jsonl", "both"),
        default="both",
        help="file format of predictions-<model> (default: both)",
    )
    add_backend_flags(p)

    p, g = _command(
        sub,
        cmd_summarize,
        "input and output",
        help="summaries for dialogues from a file or stdin",
        epilog=SUMMARIZE_EPILOG,
        description="Summarize dialogues with the base model or an adapter.",
    )
    g.add_argument(
        "--adapter",
        metavar="DIR",
        type=user_path,
        help=ADAPTER_HELP + " (default: none: the base model alone)",
    )
    g.add_argument(
        "--input",
        "-i",
        default="-",
        metavar="FILE",
        type=user_path,
        help="the dialogues (default: stdin)",
    )
    g.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        type=user_path,
        help="where the summaries go (default: stdout)",
    )
    g.add_argument(
        "--format",
        choices=("text", "jsonl"),
        help="output format, see below (default: "
        "jsonl for JSON Lines input or a .jsonl --output, text otherwise)",
    )
    add_backend_flags(p)

    p, g = _command(
        sub,
        cmd_export,
        "export",
        help="a standalone model: adapter merged, or for CTranslate2",
        epilog=EXPORT_EPILOG,
        description="Merge a LoRA/IA3 adapter into a fresh base model "
        "(merge_and_unload) and write a standalone folder (safetensors + "
        "tokenizer), or convert it for the CTranslate2 engine.",
    )
    g.add_argument(
        "--adapter",
        required=True,
        metavar="DIR",
        type=user_path,
        help="what 'train' wrote: <output-dir>/adapter, or <output-dir>/model (full) "
        "(default: none, required)",
    )
    g.add_argument(
        "--to",
        required=True,
        metavar="DIR",
        help="the folder to write, new or empty (default: none, required)",
    )
    g.add_argument(
        "--format",
        choices=FORMATS,
        default="merged",
        help="merged: a transformers model folder (default); ctranslate2: for "
        "--backend ctranslate2 (needs pip install '.[serve]') (default: merged)",
    )
    g.add_argument(
        "--quantization",
        choices=QUANTIZATIONS,
        help="weight type: float32 (default; ctranslate2's summaries then equal "
        "transformers'), bfloat16, or int8 (ctranslate2 only; see docs/inference.md)",
    )
    g.add_argument(
        "--overwrite", action="store_true", help="replace what --to already holds (default: off)"
    )
    return parser


def _command(sub, func, group: str, **parser_args):
    """The sub-parser of one command (``func``: ``cmd_<name>``), with its ``TrainConfig`` flags,
    and the argument group of its own flags: (parser, group)."""
    name = func.__name__.removeprefix("cmd_")
    p = sub.add_parser(name, formatter_class=argparse.RawDescriptionHelpFormatter, **parser_args)
    add_config_flags(p, name)
    p.set_defaults(func=func)
    return p, p.add_argument_group(group)


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


def _show_warning(
    message, category, filename, lineno, file=None, line=None, _default=None, _seen=None
):
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
        warnings.showwarning = functools.partial(
            _show_warning, _default=warnings.showwarning, _seen=set()
        )
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

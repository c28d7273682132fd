"""Each command's flags and help: one flag per ``TrainConfig`` field a command uses (its help and
default from the field), the inference backend's flags, and the examples under ``--help``.

Why a module of its own: the parser (:mod:`dialogsum_peft.command_line.cli`) is the commands'
shape; this is what a user reads of them, written once.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import textwrap
from typing import Any

from ..config import TrainConfig
from ..recipes import DEFAULT_RECIPE, RECIPES
from .cli_config import DEFAULT_PRESET, PRESETS
from .field_flags import FIELD_FLAGS, default_help, flags_of
from .run_outputs import describe_run_files

TRAIN_EPILOG = (
    """\
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

"""
    + textwrap.fill(
        f"writes into --output-dir: {describe_run_files()}. A folder that already "
        "holds a run needs --resume (same settings) or --overwrite.",
        96,
    )
    + "\n"
)

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
<output-dir>/evaluation, or without --output-dir and --config the --adapter's own run folder's
evaluation/): scores.json (per model: ROUGE under the "mean", "best" and "first"
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


ADAPTER_HELP = (
    "what 'train' wrote: <output-dir>/adapter (PEFT methods) or <output-dir>/model (--method full)"
)

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
    """One flag per ``TrainConfig`` field that ``command`` takes (:data:`.field_flags.FIELD_FLAGS`), each help
    ending with its default. Flags that are not given leave the preset's or file's value alone
    (``SUPPRESS``)."""
    g = parser.add_argument_group(
        "configuration (a preset built with --recipe and --method, then the --config file's "
        "fields, then the other flags; a flag that cannot apply is refused)"
    )
    g.add_argument(
        "--preset",
        choices=PRESETS,
        metavar="{" + ",".join(PRESETS) + "}",
        help="starting point: smoke (offline tiny T5 on the shipped sample), colab "
        "(T4, fp32), auto/full (flan-t5-base split for this device); colab and "
        "auto load the model and DialogSum from the Hugging Face Hub (or its "
        "cache) unless --model and --dataset name local folders. "
        f"Default: {DEFAULT_PRESET}, or the --config file alone, or with "
        "--adapter the base it was trained on",
    )
    if command == "train":
        g.add_argument(
            "--recipe",
            default=argparse.SUPPRESS,
            choices=tuple(RECIPES),
            help="training schedule, the same on every card and on any preset; it "
            "replaces the schedule of the preset and of a --config file: "
            + "; ".join(f"{r.name}: {r.description}" for r in RECIPES.values())
            + f" (default: {DEFAULT_RECIPE}; smoke: its own 30 steps)",
        )
    g.add_argument(
        "--config",
        metavar="FILE",
        type=user_path,
        help="TrainConfig fields as JSON or YAML (e.g. a previous run's config.json) "
        "(default: none)",
    )
    for f in dataclasses.fields(TrainConfig):
        if command not in FIELD_FLAGS.get(f.name, ((),))[0]:
            continue
        meta = f.metadata
        kwargs: dict[str, Any] = dict(
            dest=f.name, default=argparse.SUPPRESS, help=f"{meta['help']} ({default_help(f.name)})"
        )
        if str(f.type) == "bool":
            kwargs["action"] = "store_true"
        else:
            kwargs.update(type=_flag_type(f), metavar=FIELD_FLAGS[f.name][2])
            if meta.get("choices"):
                kwargs["metavar"] = "{" + ",".join(meta["choices"]) + "}"
        g.add_argument(*flags_of(f.name), **kwargs)


def add_backend_flags(parser: argparse.ArgumentParser) -> None:
    """``--backend`` and ``--quantization`` of evaluate and summarize."""
    from ..ctranslate2_backend import BACKENDS, QUANTIZATIONS

    g = parser.add_argument_group("inference backend")
    g.add_argument(
        "--backend",
        choices=BACKENDS,
        default="transformers",
        help="transformers: PyTorch generate (default); ctranslate2: the CTranslate2 "
        "engine, about 2x faster on a CPU (optional: pip install '.[serve]'); "
        "--adapter may then also be a folder from 'export --format ctranslate2' "
        "(default: transformers)",
    )
    g.add_argument(
        "--quantization",
        choices=QUANTIZATIONS,
        help="ctranslate2 backend: run the weights as int8, float32 or bfloat16 "
        "(default: as exported; float32, the same summaries as transformers, "
        "for a model converted on the fly)",
    )

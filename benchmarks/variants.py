"""The variants a benchmark compares: flags, the variant registry, one child process per
variant (with a deadline), baselines and Markdown tables.

Why: ``train_throughput.py`` and ``eval_throughput.py`` measure named variants of the package's
settings the same way, each in its own process so one variant's memory, compile cache or crash
does not leak into the next. The data, tokenizer, model and result files they measure with are
in ``benchmarks/common.py``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field

# ------------------------------------------------------------------------------ variants
# Each benchmark variant is a set of TrainConfig overrides on a named base, so what is measured
# is what a user switches on (``--attn-implementation``, ``--torch-compile``, ...). Settings that
# are not TrainConfig fields yet are kept apart (``trainer_args``, ``generate``) and every result
# row names them, so nobody mistakes them for a switch the package offers.

BASELINE = "previous-default"
MIN_START_S = 15  # a variant is not started with less than this left of the run's --deadline


@dataclass(frozen=True)
class Variant:
    help: str
    config: dict = field(default_factory=dict)  # TrainConfig overrides
    base: str = BASELINE  # previous-default, default (TrainConfig.auto() as it is now) or colab
    trainer_args: dict = field(default_factory=dict)  # Seq2SeqTrainingArguments, not in TrainConfig
    generate: dict = field(default_factory=dict)  # generation options, not in TrainConfig
    deadline_s: float = 60.0  # sized for a GPU run at real lengths (benchmarks/README.md)
    gpu_only: str | None = None  # why it is not run on a CPU
    worst_case: bool = False  # training: every example at the 512/128-token limits
    subset: bool = False  # generation: only --loop-examples dialogues (slow variants)
    backend: dict = field(
        default_factory=dict
    )  # generation: another engine (ctranslate2), not torch


# In every benchmark's table, meaning the same in each: today's default, which variant_names always
# runs beside the baseline, and sdpa attention.
CURRENT_DEFAULT = Variant(
    "TrainConfig.auto() as it is now (runs only when it differs from previous-default)",
    base="default",
)
SDPA = Variant("attn_implementation=sdpa", dict(attn_implementation="sdpa"))


def previous_default_settings(device_type: str) -> dict:
    """The speed settings of the default recipe before the speed variants (2026-11), pinned.

    ``TrainConfig.auto()`` may change once a GPU measurement says another setting wins; the
    ``previous-default`` row keeps meaning what it meant, and a ``default`` row (the config as it
    is now) runs beside it whenever the two differ.
    """
    return dict(
        attn_implementation="eager",
        torch_compile=False,
        pad_to_multiple_of=8,
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length",
        gradient_checkpointing=False,
        merge_for_generation=False,
        optim="adamw_torch_fused" if device_type == "cuda" else "adamw_torch",
    )


def variant_config(variant: Variant, info, **run_fields):
    """The TrainConfig a variant runs with on the device ``info`` (``hardware.DeviceInfo``)."""
    from dialogsum_peft.config import TrainConfig

    overrides = {**variant.config, **run_fields}
    if variant.base == "colab":
        return TrainConfig.colab(**overrides)
    if variant.base == "default":
        return TrainConfig.for_device(info, preset="auto", **overrides)
    return TrainConfig.for_device(
        info, preset="auto", **{**previous_default_settings(info.kind), **overrides}
    )


def variant_identity(variant: Variant, info) -> str:
    """What a variant computes, for spotting two names for one configuration."""
    d = variant_config(variant, info).to_dict()
    for key in ("preset", "output_dir"):
        d.pop(key)
    return json.dumps(
        [
            d,
            variant.trainer_args,
            variant.generate,
            variant.worst_case,
            variant.subset,
            variant.backend,
        ],
        sort_keys=True,
        default=str,
    )


def not_config_settings(variant: Variant) -> list[str]:
    return sorted({*variant.trainer_args, *variant.generate, *variant.backend})


def variants_help(table: dict[str, Variant]) -> str:
    return "; ".join(f"{name}: {v.help}" for name, v in table.items())


def compile_stats() -> dict:
    """torch's own compile timers (dynamo + inductor, forward and backward graphs) so far."""
    try:
        from torch._dynamo.utils import calculate_time_spent, counters
    except ImportError:  # pragma: no cover - very old torch
        return {"compile_s": None, "graphs": None}
    return {
        "compile_s": round(calculate_time_spent().get("total_wall_time", 0.0), 2),
        "graphs": int(counters["stats"]["unique_graphs"]),
    }


def compile_delta(before: dict, after: dict) -> dict:
    if before["compile_s"] is None or after["compile_s"] is None:
        return {"compile_s": None, "graphs": None}
    return {
        "compile_s": round(after["compile_s"] - before["compile_s"], 2),
        "graphs": after["graphs"] - before["graphs"],
    }


def ratio(a, b) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def markdown_table(rows: list[dict], metric: str, columns: dict) -> str:
    """A Markdown table, one line per variant: ``columns`` maps a header to a function of the
    row; a variant without ``metric`` says why instead (its error, why it was skipped, or which
    row it is the same as)."""
    lines = ["| variant | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for r in rows:
        if metric in r:
            cells = [fn(r) for fn in columns.values()]
        else:
            why = r.get("error") or r.get("skipped") or f"same as {r.get('same_as')}"
            cells = [why[:90]] + [""] * (len(columns) - 1)
        lines.append(f"| {r['variant']} | " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def print_variants(variants: dict, outside_config: str) -> None:
    """``--list``: every variant, its TrainConfig overrides and the settings outside TrainConfig."""
    width = max(map(len, variants)) + 2
    for name, v in variants.items():
        extra = getattr(v, outside_config)
        print(
            f"{name:{width}} {v.help}\n{'':{width}} config {v.config or '{}'}"
            + (f", not TrainConfig settings {extra}" if extra else "")
        )


def variant_names(parser, args, variants: dict, baseline: str) -> list[str]:
    """The variants to run: the baseline and today's default first, then those asked for."""
    names = [baseline, "default"] + [
        v for v in args.variants.split(",") if v and v not in (baseline, "default")
    ]
    unknown = [n for n in names if n not in variants]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(variants)}")
    return names


def compare_to_baseline(result: dict, baseline: str, metric: str, comparable, targets) -> None:
    """Give every measured row its ratios against ``baseline`` and the targets it meets.

    ``comparable(row, base)`` says whether the two measured the same work (same batch, same
    dialogues); ``targets(row, speed_ratio, memory_ratio, comparable)`` returns the target checks
    of a GPU run (a CPU run only shows that the script works: no targets apply).
    """
    rows = result["rows"]
    base = next((r for r in rows if r["variant"] == baseline and metric in r), None)
    for r in rows:
        if metric not in r or base is None:
            continue
        speed = ratio(r[metric], base[metric])
        memory = ratio(r["peak_memory_gib"], base["peak_memory_gib"])
        r["vs_previous_default"] = {metric: speed, "peak_memory": memory}
        same = comparable(r, base)
        r["targets_met"] = (
            targets(r, speed, memory, same) if result["gpu"] else "targets apply to GPU runs"
        )


def add_common_arguments(parser, variants: dict, baseline: str) -> None:
    """The flags both throughput scripts take: variants, deadlines, data, tokenizer, output."""
    parser.add_argument(
        "--variants",
        default="",
        help=f"comma-separated, run after {baseline} and default: {variants_help(variants)}",
    )
    parser.add_argument("--list", action="store_true", help="print the variants and exit")
    parser.add_argument(
        "--deadline",
        type=float,
        default=None,
        help="seconds for the whole run: no variant starts later, none runs past it",
    )
    parser.add_argument(
        "--variant-deadline",
        type=float,
        default=None,
        help="seconds per variant, for every variant (default: each variant's own, "
        "sized for a GPU run)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the variants in this "
        "process (tests, debugging): no deadlines, shared compile caches",
    )
    for hidden in ("--child", "--child-out", "--progress"):
        parser.add_argument(hidden, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--data",
        default=None,
        help="DialogSum folder, either file format (default: "
        ".bench/ or ../shared/dialogsum with the real files, else the project sample)",
    )
    parser.add_argument(
        "--tokenizer",
        default=None,
        help="local tokenizer folder (default: "
        "../shared/flan-t5-tokenizer, else a stand-in trained on the data)",
    )
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results)")

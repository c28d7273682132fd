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
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from common import ROOT, write_json

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
    backend: dict = field(default_factory=dict)  # generation: another engine (ctranslate2), not torch


def previous_default_settings(device_type: str) -> dict:
    """The speed settings of the default recipe before the speed variants (2026-11), pinned.

    ``TrainConfig.auto()`` may change once a GPU measurement says another setting wins; the
    ``previous-default`` row keeps meaning what it meant, and a ``default`` row (the config as it
    is now) runs beside it whenever the two differ.
    """
    return dict(attn_implementation="eager", torch_compile=False, pad_to_multiple_of=8,
                dataloader_num_workers=0, train_sampling_strategy="group_by_length",
                gradient_checkpointing=False, merge_for_generation=False,
                optim="adamw_torch_fused" if device_type == "cuda" else "adamw_torch")


def variant_config(variant: Variant, info, **run_fields):
    """The TrainConfig a variant runs with on the device ``info`` (``hardware.DeviceInfo``)."""
    from dialogsum_peft.config import TrainConfig

    overrides = {**variant.config, **run_fields}
    if variant.base == "colab":
        return TrainConfig.colab(**overrides)
    if variant.base == "default":
        return TrainConfig.for_device(info, preset="auto", **overrides)
    return TrainConfig.for_device(info, preset="auto",
                                  **{**previous_default_settings(info.kind), **overrides})


def variant_identity(variant: Variant, info) -> str:
    """What a variant computes, for spotting two names for one configuration."""
    d = variant_config(variant, info).to_dict()
    for key in ("preset", "output_dir"):
        d.pop(key)
    return json.dumps([d, variant.trainer_args, variant.generate, variant.worst_case,
                       variant.subset, variant.backend], sort_keys=True, default=str)


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
    return {"compile_s": round(calculate_time_spent().get("total_wall_time", 0.0), 2),
            "graphs": int(counters["stats"]["unique_graphs"])}


def compile_delta(before: dict, after: dict) -> dict:
    if before["compile_s"] is None or after["compile_s"] is None:
        return {"compile_s": None, "graphs": None}
    return {"compile_s": round(after["compile_s"] - before["compile_s"], 2),
            "graphs": after["graphs"] - before["graphs"]}


class Progress:
    """A child's progress file: what a variant reached when its deadline stopped it."""

    def __init__(self, path: str | None):
        self.path = Path(path) if path else None
        self.t0 = time.perf_counter()

    def update(self, **fields) -> None:
        if self.path is not None:
            fields["elapsed_s"] = round(time.perf_counter() - self.t0, 1)
            write_json(self.path, {**fields, **compile_stats()})


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _log_tail(path: Path, lines: int = 3) -> str:
    try:
        text = [l for l in path.read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        return ""
    return " | ".join(text[-lines:])[-400:]


def run_child_process(script: str, name: str, child_argv: list[str], deadline_s: float,
                      log_path: Path) -> dict:
    """Run one variant in a fresh Python process, killed (with everything it started) at
    ``deadline_s``. A fresh process per variant: its own peak-memory counter, a crash or
    out-of-memory cannot spoil the next variant, and compile caches start empty, so compile time
    is the time a user's first run pays."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        tmp = Path(tmp)
        row_file, progress = tmp / "row.json", tmp / "progress.json"
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=str(tmp / "inductor"),
                   TRITON_CACHE_DIR=str(tmp / "triton"), PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join(p for p in (str(ROOT / "src"),
                                                          os.environ.get("PYTHONPATH")) if p))
        cmd = [sys.executable, str(Path(__file__).parent / script), *child_argv, "--child", name,
               "--child-out", str(row_file), "--progress", str(progress)]
        t = time.perf_counter()
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                rc = proc.wait(timeout=deadline_s)
            except subprocess.TimeoutExpired:
                rc = None
            finally:  # also when this process is stopped: the child's own children too
                try:  # (dataloader workers, compile workers)
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                proc.wait()
        wall = round(time.perf_counter() - t, 1)
        if rc is None:
            row = {"variant": name, "error": f"deadline: stopped after {deadline_s:.3g} s",
                   "progress": _read_json(progress)}
        elif rc != 0 or not row_file.is_file():
            row = {"variant": name, "error": f"exit code {rc}: {_log_tail(log_path)}"}
        else:
            row = json.loads(row_file.read_text())
    row["process_wall_s"] = wall
    row["log"] = str(log_path)
    return row


def run_variants(script: str, names: list[str], table: dict[str, Variant], args, result: dict,
                 path: Path, child_argv: list[str], run_child, device: torch.device,
                 summarize_row) -> None:
    """Run ``names`` one after another; the JSON at ``path`` is rewritten after every variant,
    so a run cut short keeps what it measured.

    A variant is skipped (with the reason in its row) when it needs a GPU and there is none, or
    when less than ``MIN_START_S`` of the run's ``--deadline`` is left; one whose configuration
    equals an earlier variant's is recorded as ``same_as`` that one, not run twice. Each runs
    under its own deadline (``Variant.deadline_s``, or ``--variant-deadline``), cut to what is
    left of ``--deadline``.
    """
    from dialogsum_peft.hardware import describe_device

    def stop(signum, frame):  # `timeout` sends SIGTERM: end the running variant's processes too
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    info = describe_device()
    t0, seen = time.monotonic(), {}
    logs = Path(path).parent / "logs"
    for name in names:
        variant = table[name]
        left = args.deadline - (time.monotonic() - t0) if args.deadline else None
        ident = variant_identity(variant, info)
        if variant.gpu_only and device.type != "cuda":
            row = {"variant": name, "skipped": variant.gpu_only}
        elif ident in seen:
            row = {"variant": name, "same_as": seen[ident],
                   "note": "the same configuration on this device: not run twice"}
        elif left is not None and left < MIN_START_S:
            row = {"variant": name, "skipped": f"run deadline: {max(left, 0):.0f} s left of "
                                               f"--deadline {args.deadline:.0f} s"}
        else:
            deadline = min(args.variant_deadline or variant.deadline_s, left or math.inf)
            if args.in_process:  # tests and debugging: no deadline, caches shared
                t = time.perf_counter()
                try:
                    row = run_child(name, args)
                except Exception as err:  # noqa: BLE001 - a benchmark reports what broke
                    row = {"variant": name, "error": f"{type(err).__name__}: {err}"[:400]}
                row["process_wall_s"] = round(time.perf_counter() - t, 1)
            else:
                row = run_child_process(script, name, child_argv, deadline,
                                        logs / f"{path.stem}-{name}.log")
            row["deadline_s"] = None if args.in_process else round(deadline, 1)
            seen[ident] = name  # a failed configuration is not retried under another name
        row.setdefault("help", variant.help)
        row.setdefault("overrides", {"config": variant.config, "base": variant.base,
                                     "not_config_settings": {**variant.trainer_args,
                                                             **variant.generate,
                                                             **variant.backend}})
        result["rows"].append(row)
        summarize_row(result)
        write_json(path, result)
        print(json.dumps({k: row[k] for k in row if k not in ("help", "overrides", "log")}),
              flush=True)


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


def run_child_variant(args, run_child) -> dict:
    """``--child NAME``: measure one variant in this process and write its row where asked."""
    row = run_child(args.child, args)
    write_json(Path(args.child_out), row)
    return row


def print_variants(variants: dict, outside_config: str) -> None:
    """``--list``: every variant, its TrainConfig overrides and the settings outside TrainConfig."""
    width = max(map(len, variants)) + 2
    for name, v in variants.items():
        extra = getattr(v, outside_config)
        print(f"{name:{width}} {v.help}\n{'':{width}} config {v.config or '{}'}"
              + (f", not TrainConfig settings {extra}" if extra else ""))


def variant_names(parser, args, variants: dict, baseline: str) -> list[str]:
    """The variants to run: the baseline and today's default first, then those asked for."""
    names = [baseline, "default"] + [v for v in args.variants.split(",")
                                     if v and v not in (baseline, "default")]
    unknown = [n for n in names if n not in variants]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(variants)}")
    return names


def start_child(name: str, variants: dict, args):
    """What every variant's own process starts with: (variant, device, progress, device info)."""
    from dialogsum_peft.hardware import describe_device

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    progress = Progress(args.progress)
    progress.update(phase="loading")
    return variants[name], device, progress, describe_device()


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
        r["targets_met"] = (targets(r, speed, memory, same) if result["gpu"]
                            else "targets apply to GPU runs")


def add_common_arguments(parser, variants: dict, baseline: str) -> None:
    """The flags both throughput scripts take: variants, deadlines, data, tokenizer, output."""
    parser.add_argument("--variants", default="", help="comma-separated, run after "
                        f"{baseline} and default: {variants_help(variants)}")
    parser.add_argument("--list", action="store_true", help="print the variants and exit")
    parser.add_argument("--deadline", type=float, default=None,
                        help="seconds for the whole run: no variant starts later, none runs past it")
    parser.add_argument("--variant-deadline", type=float, default=None,
                        help="seconds per variant, for every variant (default: each variant's own, "
                        "sized for a GPU run)")
    parser.add_argument("--in-process", action="store_true", help="run the variants in this "
                        "process (tests, debugging): no deadlines, shared compile caches")
    for hidden in ("--child", "--child-out", "--progress"):
        parser.add_argument(hidden, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data", default=None, help="DialogSum folder, either file format (default: "
                        ".bench/ or ../shared/dialogsum with the real files, else the project sample)")
    parser.add_argument("--tokenizer", default=None, help="local tokenizer folder (default: "
                        "../shared/flan-t5-tokenizer, else a stand-in trained on the data)")
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results)")

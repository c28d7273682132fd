"""Shared pieces of the benchmarks: data, tokenizer, model, token statistics, reporting.

Why: samples/s, FLOPs and MFU only mean something at the sequence lengths users train on, and
those are set by Flan-T5's own tokenizer on real DialogSum text. So both scripts read the same
data, tokenize with the real tokenizer whenever one is at hand, and write into every result
which tokenizer and which lengths the figures were measured with (benchmarks/README.md).

Data: ``--data DIR``, else the real DialogSum files in ``.bench/`` or ``../shared/dialogsum``
(next to the repository), else the project's sample; read with the package's own loader.
Tokenizer: ``--tokenizer DIR``, else ``../shared/flan-t5-tokenizer``, else a stand-in trained on
the benchmark dialogues, announced loudly because its sequences are shorter than Flan-T5's.
Model: on a GPU, flan-t5-base's exact shape with random weights (the package's builder, same
FLOPs, no download); on a CPU, the tiny smoke T5.
"""

from __future__ import annotations

import argparse

import json
import math
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402

from dialogsum_peft.data import (  # noqa: E402
    ORIGINAL_FILES,
    build_prompt,
    load_dialogsum,
    require_split,
)
from dialogsum_peft.offline import sample_data_dir, train_tokenizer  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SHARED = ROOT.parent / "shared"
BENCH_COPY = ROOT / ".bench"  # data and tokenizer staged for a GPU machine (git-ignored)
# The truncation limits the project trains and generates with.
MAX_SOURCE_TOKENS, MAX_TARGET_TOKENS = 512, 128
# Flan-T5's tokenizer has 32,100 tokens and splits this probe into exactly these ids; a
# tokenizer that agrees on both is taken to be the real one, wherever its folder lives.
FLAN_T5_VOCAB = 32100
FLAN_T5_PROBE = ("Summarize the following conversation.", [12198, 1635, 1737, 8, 826, 3634, 5, 1])


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


def data_dir(requested: str | None = None) -> Path:
    if requested:
        return Path(requested)
    for path in (BENCH_COPY, SHARED / "dialogsum"):
        if (path / ORIGINAL_FILES["test"]).is_file():
            return path
    return sample_data_dir()


def load_rows(requested: str | None = None) -> tuple[list[dict], list[dict], dict]:
    """(training pairs, test dialogues with their references, description of the data).

    Training pairs are every (dialogue, reference) of every split present, so a test dialogue
    with three references trains three times, as it would in DialogSum's training split.
    """
    path = data_dir(requested)
    splits = load_dialogsum(path)
    eval_rows = list(require_split(splits, "test"))
    pairs = [{"dialogue": row["dialogue"], "summary": ref}
             for split in splits.values() for row in split for ref in row["references"]]
    sample = path.resolve() == sample_data_dir().resolve()
    source = {
        "name": "project sample (data/dialogsum_sample)" if sample else f"DialogSum {'+'.join(splits)}",
        "path": str(path), "dialogues_by_split": {s: len(d) for s, d in splits.items()},
    }
    return pairs, eval_rows, source


def is_flan_t5_tokenizer(tokenizer) -> bool:
    text, ids = FLAN_T5_PROBE
    return len(tokenizer) == FLAN_T5_VOCAB and tokenizer(text).input_ids == ids


def load_tokenizer(requested: str | None, pairs: list[dict]):
    """(tokenizer, description): the real Flan-T5 tokenizer whenever one is found.

    An explicit ``requested`` folder that does not exist is an error, never a silent fallback.
    """
    from transformers import AutoTokenizer

    path = Path(requested) if requested else next(
        (p for p in (SHARED / "flan-t5-tokenizer", BENCH_COPY / "flan-t5-tokenizer")
         if p.is_dir()), SHARED / "flan-t5-tokenizer")
    if requested and not path.is_dir():
        raise SystemExit(f"--tokenizer {requested}: no such folder")
    if path.is_dir():
        tokenizer = AutoTokenizer.from_pretrained(path)
        info = {"name": str(path.resolve()), "real_flan_t5": is_flan_t5_tokenizer(tokenizer)}
    else:
        texts = [p["dialogue"] for p in pairs] + [p["summary"] for p in pairs]
        tokenizer = train_tokenizer(texts, vocab_size=8000 if len(pairs) > 200 else 2000)
        info = {"name": "stand-in (Unigram trained on the benchmark dialogues)", "real_flan_t5": False}
    info["vocab_size"] = len(tokenizer)
    announce_tokenizer(info)
    return tokenizer, info


def tokenizer_for_children(tokenizer, info: dict, tmp: Path) -> str:
    """A folder the variant processes load the parent's tokenizer from (the stand-in is saved)."""
    if Path(info["name"]).is_dir():
        return info["name"]
    tokenizer.save_pretrained(tmp / "stand-in-tokenizer")
    return str(tmp / "stand-in-tokenizer")


def select(items: list, n: int | None) -> list:
    """The first ``n`` of a seeded shuffle (all of them, in order, when ``n`` is None or larger):
    a subset with the length mix of the whole set, the same in every process."""
    import random

    if n is None or n >= len(items):
        return list(items)
    return random.Random(0).sample(list(items), n)


# Dense bf16 tensor-core peaks (TFLOP/s, NVIDIA data sheets), most specific name first; MFU is
# reported for bf16 runs on these cards only.
BF16_PEAK_TFLOPS = (("H100 PCIe", 756.5), ("H100 NVL", 835.5), ("H200 NVL", 835.5),
                    ("H100", 989.5), ("H200", 989.5), ("A100", 312.0), ("L4", 121.0),
                    ("A10", 125.0))


def peak_tflops(device: str) -> float | None:
    return next((v for k, v in BF16_PEAK_TFLOPS if k in device), None)


def announce_tokenizer(info: dict) -> None:
    if info["real_flan_t5"]:
        print(f"TOKENIZER: the real Flan-T5 tokenizer ({info['name']}): real token lengths.",
              file=sys.stderr, flush=True)
        return
    bar = "!" * 96
    print(f"{bar}\n!! TOKENIZER: {info['name']} is NOT Flan-T5's tokenizer.\n"
          "!! Token counts, samples/s, FLOPs and MFU are not those of Flan-T5 on this data (its\n"
          "!! sequences are shorter; see benchmarks/README.md). Pass --tokenizer DIR with the\n"
          f"!! Flan-T5 tokenizer, or put it in {SHARED / 'flan-t5-tokenizer'}.\n{bar}",
          file=sys.stderr, flush=True)


def length_stats(lengths: list[int], limit: int) -> dict:
    """Mean, 95th percentile (nearest rank), max, and how many exceed ``limit``."""
    ordered = sorted(lengths)
    return {"n": len(ordered), "mean": round(statistics.mean(ordered), 1),
            "p95": ordered[math.ceil(0.95 * len(ordered)) - 1], "max": ordered[-1],
            "limit": limit, "over_limit": sum(n > limit for n in ordered)}


def token_stats(tokenizer, dialogues: list[str], summaries: list[str]) -> dict:
    """Untruncated lengths: prompts as the model is trained on them, summaries as labels."""
    source = tokenizer([build_prompt(d) for d in dialogues], verbose=False).input_ids
    target = tokenizer(text_target=list(summaries), verbose=False).input_ids
    return {"source": length_stats([len(ids) for ids in source], MAX_SOURCE_TOKENS),
            "target": length_stats([len(ids) for ids in target], MAX_TARGET_TOKENS)}


def make_model(kind: str, tokenizer, dtype: torch.dtype, device: torch.device, attn: str | None = None):
    """A fresh random model: 'base' = flan-t5-base shape, 'tiny' = the smoke T5."""
    from transformers import T5ForConditionalGeneration

    from dialogsum_peft.modeling import flan_t5_base_shaped_model, untie_lm_head
    from dialogsum_peft.offline import tiny_t5_config

    torch.manual_seed(0)
    if kind == "base":
        return flan_t5_base_shaped_model(device=device, dtype=dtype, attn_implementation=attn)
    config = tiny_t5_config(len(tokenizer))
    if attn:
        config._attn_implementation = attn
    with torch.device(device):
        model = T5ForConditionalGeneration(config)
    return untie_lm_head(model).to(dtype)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def versions() -> dict[str, str]:
    import datasets
    import peft
    import tokenizers
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "peft": peft.__version__,
            "tokenizers": tokenizers.__version__, "datasets": datasets.__version__}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_gib(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**30


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def command_line(script: str, argv: list[str] | None) -> str:
    """The command that produced a result, so a figure can be reproduced exactly."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python", f"benchmarks/{script}", *([shlex.join(args)] if args else [])])


def result_path(name: str, device_slug: str, out_dir: Path | None = None) -> Path:
    """Where a run writes its JSON: one file per run, named when the run starts."""
    out_dir = Path(out_dir or RESULTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir / f"{name}-{device_slug}-{time.strftime('%Y%m%d-%H%M%S')}.json"


def write_json(path: Path, data: dict) -> Path:
    """Write ``data`` atomically (a ``.tmp`` file renamed into place): a run killed while writing
    leaves the previous version of its result, never half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def write_result(name: str, result: dict, out_dir: Path | None = None) -> Path:
    return write_json(result_path(name, result["device_slug"], out_dir), result)


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")[:40]


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

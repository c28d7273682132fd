"""Running a benchmark's variants: one child process per variant, with a deadline, its row
gathered into the result file as it comes (or the reason it has none); a child's start and its
progress lines.

Why a module of its own: :mod:`variants` says what a variant is (TrainConfig overrides, the
registry, the tables); this is how ``train_throughput.py`` and ``eval_throughput.py`` run them.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import common
from common import ROOT, write_json
from variants import MIN_START_S, Variant, compile_stats, print_variants, variant_identity


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
        text = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return " | ".join(text[-lines:])[-400:]


def run_child_process(
    script: str, name: str, child_argv: list[str], deadline_s: float, log_path: Path
) -> dict:
    """Run one variant in a fresh Python process, killed (with everything it started) at
    ``deadline_s``. A fresh process per variant: its own peak-memory counter, a crash or
    out-of-memory cannot spoil the next variant, and compile caches start empty, so compile time
    is the time a user's first run pays."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        tmp = Path(tmp)
        row_file, progress = tmp / "row.json", tmp / "progress.json"
        env = dict(
            os.environ,
            TORCHINDUCTOR_CACHE_DIR=str(tmp / "inductor"),
            TRITON_CACHE_DIR=str(tmp / "triton"),
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(
                p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p
            ),
        )
        cmd = [
            sys.executable,
            str(Path(__file__).parent / script),
            *child_argv,
            "--child",
            name,
            "--child-out",
            str(row_file),
            "--progress",
            str(progress),
        ]
        t = time.perf_counter()
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
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
            row = {
                "variant": name,
                "error": f"deadline: stopped after {deadline_s:.3g} s",
                "progress": _read_json(progress),
            }
        elif rc != 0 or not row_file.is_file():
            row = {"variant": name, "error": f"exit code {rc}: {_log_tail(log_path)}"}
        else:
            row = json.loads(row_file.read_text())
    row["process_wall_s"] = wall
    row["log"] = str(log_path)
    return row


def run_variants(
    script: str,
    names: list[str],
    table: dict[str, Variant],
    args,
    result: dict,
    path: Path,
    child_argv: list[str],
    run_child,
    device: torch.device,
    summarize_row,
) -> None:
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
            row = {
                "variant": name,
                "same_as": seen[ident],
                "note": "the same configuration on this device: not run twice",
            }
        elif left is not None and left < MIN_START_S:
            row = {
                "variant": name,
                "skipped": f"run deadline: {max(left, 0):.0f} s left of "
                f"--deadline {args.deadline:.0f} s",
            }
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
                row = run_child_process(
                    script, name, child_argv, deadline, logs / f"{path.stem}-{name}.log"
                )
            row["deadline_s"] = None if args.in_process else round(deadline, 1)
            seen[ident] = name  # a failed configuration is not retried under another name
        row.setdefault("help", variant.help)
        row.setdefault(
            "overrides",
            {
                "config": variant.config,
                "base": variant.base,
                "not_config_settings": {
                    **variant.trainer_args,
                    **variant.generate,
                    **variant.backend,
                },
            },
        )
        result["rows"].append(row)
        summarize_row(result)
        write_json(path, result)
        print(
            json.dumps({k: row[k] for k in row if k not in ("help", "overrides", "log")}),
            flush=True,
        )


def run_child_variant(args, run_child) -> dict:
    """``--child NAME``: measure one variant in this process and write its row where asked."""
    row = run_child(args.child, args)
    write_json(Path(args.child_out), row)
    return row


def start_child(name: str, variants: dict, args):
    """What every variant's own process starts with: (variant, device, progress, device info)."""
    from dialogsum_peft.hardware import describe_device

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    progress = Progress(args.progress)
    progress.update(phase="loading")
    return variants[name], device, progress, describe_device()


def device_and_model(args) -> torch.device:
    """The device a benchmark runs on (CUDA if there is one) and, unless ``--model`` said,
    ``args.model`` for it: flan-t5-base's shape on a GPU, the tiny T5 on a CPU."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args.model = args.model or ("base" if device.type == "cuda" else "tiny")
    return device


def child_or_list(args, table: dict[str, Variant], run_child, outside_config: str):
    """``--child``: the one variant this process runs (its row); ``--list``: the variants,
    printed (``outside_config``: what a variant sets besides TrainConfig fields)."""
    if args.child:
        return run_child_variant(args, run_child)
    return print_variants(table, outside_config)


def run_benchmark(
    script,
    argv,
    args,
    names: list[str],
    device,
    source: dict,
    tokenizer,
    tokenizer_info: dict,
    *,
    tokens: dict,
    fields: dict,
    passes: str,
    summary: str,
) -> dict:
    """The result file of the benchmark ``script`` (its module, named by its file: ``VARIANTS``,
    ``BASELINE``, ``TARGETS``, ``child_argv``, ``run_child``, ``compare`` and ``markdown``): the
    run's facts (device, versions, data, tokenizer, ``tokens``, the script's own ``fields``, its
    timed ``passes``), then every variant of ``names`` run by :func:`run_variants` with the
    tokenizer saved for the children; prints ``summary`` and the Markdown table. Returns the
    result."""
    benchmark = Path(script.__file__).stem
    dev = common.device_name(device)
    result = {
        "benchmark": benchmark,
        "date": time.strftime("%Y-%m-%d"),
        "device": dev,
        "device_slug": common.slug(dev),
        "gpu": device.type == "cuda",
        "versions": common.versions(),
        "model": args.model,
        "data": source,
        "tokenizer": tokenizer_info,
        "tokens": tokens,
        **fields,
        "baseline": script.BASELINE,
        "targets": script.TARGETS,
        "timing": f"per variant: {passes}; compile_s from torch's own compile timers",
        "isolation": "in-process (caches shared)"
        if args.in_process
        else "one process per variant, empty compile caches",
        "variants_requested": names,
        "deadline_s": args.deadline,
        "rows": [],
        "command": common.command_line(f"{benchmark}.py", argv),
    }
    path = common.result_path(benchmark, result["device_slug"], args.out)
    with tempfile.TemporaryDirectory(prefix="bench-tok-") as tmp:
        args.tokenizer = common.tokenizer_for_children(tokenizer, tokenizer_info, Path(tmp))
        run_variants(
            f"{benchmark}.py",
            names,
            script.VARIANTS,
            args,
            result,
            path,
            script.child_argv(args, args.tokenizer),
            script.run_child,
            device,
            script.compare,
        )
    print(f"\n{dev} | {source['name']} | tokenizer {tokenizer_info['name']} | {summary} | {path}")
    print(script.markdown(result))
    return result

"""Training throughput: the seed tutorial's recipe against the project's default, same data.

    python benchmarks/train_throughput.py                       # GPU: flan-t5-base shape
    python benchmarks/train_throughput.py --model tiny          # CPU smoke check
    python benchmarks/train_throughput.py --variants default-bs128,default-sdpa,colab-peak
    python benchmarks/train_throughput.py --tokenizer DIR --data DIR

Recipes run one after another in one process, each on a fresh random model with LoRA r=32 on
q/v, through the project's own ``make_trainer``. Warm-up steps are excluded from the timing;
the timed steps cover about one epoch of the benchmark data, so both recipes see the same
length distribution. Token counts come from Flan-T5's own tokenizer when one is found (see
common.py; a stand-in is announced loudly and recorded). Reports samples/s, peak GPU memory,
and model FLOPs utilisation (MFU: 3x forward FLOPs per example, from the model shape and the
token counts, over the GPU's dense bf16 peak). Writes a JSON result to benchmarks/results/
(with the tokenizer and the length statistics of the data) and prints Markdown rows.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import common
import torch

from dialogsum_peft.data import tokenize_for_training
from dialogsum_peft.hardware import describe_device
from dialogsum_peft.modeling import add_lora, t5_forward_flops
from dialogsum_peft.training import TrainConfig, make_trainer

# Dense bf16 tensor-core peaks (TFLOP/s) for MFU; other GPUs report MFU as n/a.
BF16_PEAK_TFLOPS = {"H200": 989.5, "H100": 989.5, "A100": 312.0, "L4": 121.0, "A10": 125.0}


def peak_tflops(name: str) -> float | None:
    return next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), None)


def recipes(device: torch.device) -> dict[str, dict]:
    """name -> TrainConfig overrides (+ model options). 'seed' is the original tutorial."""
    auto = TrainConfig.auto() if device.type == "cuda" else TrainConfig.smoke()
    default = dict(precision=auto.precision, per_device_train_batch_size=auto.per_device_train_batch_size,
                   optim=auto.optim, train_sampling_strategy="group_by_length", pad_to_multiple_of=8,
                   attn=auto.attn_implementation)
    colab = TrainConfig.colab()
    return {
        # the original tutorial: fp32 weights, batch 8, random order, plain dynamic padding;
        # attention as transformers loads it by default (sdpa where the model supports it)
        "seed": dict(precision="fp32", per_device_train_batch_size=8, optim="adamw_torch",
                     train_sampling_strategy="random", pad_to_multiple_of=None, attn="sdpa"),
        "default": default,
        "default-sdpa": {**default, "attn": "sdpa"},
        "default-bs64": {**default, "per_device_train_batch_size": 64},
        "default-bs128": {**default, "per_device_train_batch_size": 128},
        "default-gc-bs256": {**default, "per_device_train_batch_size": 256, "gradient_checkpointing": True},
        "default-compile": {**default, "compile": True, "pad_to_multiple_of": 64},
        # Peak memory on the worst case, every example at the 512/128-token limits: the Colab T4
        # preset (fp32, batch 8) and the bf16 tiers for 80 GiB (64) and 141 GiB (128) GPUs.
        "colab-peak": dict(precision=colab.precision, per_device_train_batch_size=colab.per_device_train_batch_size,
                           optim="adamw_torch", train_sampling_strategy="group_by_length",
                           pad_to_multiple_of=8, attn=colab.attn_implementation, worst_case=True),
        "peak-bs64": {**default, "per_device_train_batch_size": 64, "worst_case": True},
        "peak-bs128": {**default, "per_device_train_batch_size": 128, "worst_case": True},
    }


class Timer:
    """TrainerCallback: wall time of the steps after ``warmup`` (GPU synchronised)."""

    def __init__(self, warmup: int, device: torch.device):
        from transformers import TrainerCallback

        timer = self

        class _CB(TrainerCallback):
            def on_step_end(self, args, state, control, **kw):
                if state.global_step == warmup:
                    common.sync(device)
                    timer.start = time.perf_counter()
                if state.global_step == state.max_steps:
                    common.sync(device)
                    timer.end = time.perf_counter()

        self.callback = _CB()
        self.start = self.end = None

    @property
    def seconds(self) -> float:
        return self.end - self.start


def tokenize(pairs, tokenizer, worst_case: bool = False):
    batch = {"dialogue": [p["dialogue"] for p in pairs], "summary": [p["summary"] for p in pairs]}
    if worst_case:  # every example at the truncation limits: the memory worst case
        long_d = " ".join(batch["dialogue"][:8])
        long_s = " ".join(batch["summary"][:12])
        batch = {"dialogue": [long_d] * len(pairs), "summary": [long_s] * len(pairs)}
    enc = tokenize_for_training(batch, tokenizer, 512, 128)
    return [{"input_ids": i, "attention_mask": a, "labels": l}
            for i, a, l in zip(enc["input_ids"], enc["attention_mask"], enc["labels"])]


def run_recipe(name, spec, args, pairs, tokenizer, device, out_dir):
    spec = dict(spec)
    attn, compile_, worst = spec.pop("attn", None), spec.pop("compile", False), spec.pop("worst_case", False)
    bs = spec["per_device_train_batch_size"]
    data = tokenize(pairs[: bs * (args.warmup + 3)] if worst else pairs, tokenizer, worst_case=worst)
    steps = 3 if worst else max(args.min_steps, math.ceil(len(data) / bs))
    config = TrainConfig(output_dir=str(out_dir / name), max_steps=args.warmup + steps,
                         learning_rate=1e-3, seed=0, **spec)
    common.reset_peak(device)
    dtype = config.torch_dtype
    model = add_lora(common.make_model(args.model, tokenizer, dtype, device, attn=attn), r=32, alpha=32)
    timer = Timer(args.warmup, device)
    trainer = make_trainer(model, tokenizer, {"train": data}, config, callbacks=[timer.callback],
                           save_strategy="no", logging_steps=10**6, disable_tqdm=True,
                           torch_compile=compile_)
    trainer.train()
    samples = steps * bs
    src = statistics.mean(len(x["input_ids"]) for x in data)
    tgt = statistics.mean(len(x["labels"]) for x in data)
    flops = 3 * statistics.mean(t5_forward_flops(model.config, len(x["input_ids"]), len(x["labels"]),
                                                 lora_r=32) for x in data)
    sps = samples / timer.seconds
    peak = peak_tflops(common.device_name(device))
    row = {
        "recipe": name, "precision": config.precision, "batch_size": bs,
        "sampling": config.train_sampling_strategy, "attn": attn or "default",
        "gradient_checkpointing": config.gradient_checkpointing, "torch_compile": compile_,
        "timed_steps": steps, "samples_per_s": round(sps, 2),
        "peak_memory_gib": round(common.peak_gib(device), 2) if device.type == "cuda" else None,
        "mean_source_tokens": round(src, 1), "mean_target_tokens": round(tgt, 1),
        "train_gflops_per_sample": round(flops / 1e9, 2),
        "achieved_tflops": round(sps * flops / 1e12, 2),
        "mfu_bf16_pct": round(100 * sps * flops / 1e12 / peak, 2) if peak else None,
        "worst_case_lengths": worst,
    }
    del trainer, model
    common.reset_peak(device)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("base", "tiny"), default=None,
                        help="base = flan-t5-base shape (default on GPU), tiny = smoke T5 (default on CPU)")
    parser.add_argument("--variants", default="", help="extra recipes, comma-separated: "
                        "default-sdpa, default-bs64, default-bs128, default-gc-bs256, default-compile, colab-peak, "
                        "peak-bs64, peak-bs128")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--min-steps", type=int, default=10)
    parser.add_argument("--max-pairs", type=int, default=None,
                        help="use only the first N training pairs (default: all on GPU, 64 on CPU)")
    parser.add_argument("--deadline", type=float, default=None,
                        help="seconds from start after which no further recipe is started")
    common.add_common_arguments(parser)
    args = parser.parse_args(argv)
    t_start = time.time()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    on_gpu = device.type == "cuda"
    args.model = args.model or ("base" if on_gpu else "tiny")
    # a CPU run only shows the script works; a few batches keep it within a couple of minutes
    args.max_pairs = args.max_pairs or (None if on_gpu else 64)
    pairs, _, source = common.load_rows(args.data)
    pairs = pairs[: args.max_pairs] if args.max_pairs else pairs
    tokenizer, tokenizer_info = common.load_tokenizer(args.tokenizer, pairs)
    out_dir = Path(tempfile.mkdtemp(prefix="bench-train-"))
    all_recipes = recipes(device)
    names = ["seed", "default"] + [v for v in args.variants.split(",") if v]
    dev = common.device_name(device)
    result = {
        "benchmark": "train_throughput", "date": time.strftime("%Y-%m-%d"), "device": dev,
        "device_slug": common.slug(dev), "device_memory_gib": round(describe_device().total_memory_gib, 1),
        "versions": common.versions(), "model": args.model, "data": source, "pairs": len(pairs),
        "tokenizer": tokenizer_info,
        "tokens": common.token_stats(tokenizer, [p["dialogue"] for p in pairs],
                                     [p["summary"] for p in pairs]),
        "warmup_steps": args.warmup, "rows": [], "default_over_seed": None, "skipped": [],
        "command": common.command_line("train_throughput.py", argv),
    }
    rows, path = result["rows"], None
    for name in names:
        if args.deadline and time.time() - t_start > args.deadline:
            result["skipped"].append(name)
            continue
        try:
            rows.append(run_recipe(name, all_recipes[name], args, pairs, tokenizer, device, out_dir))
        except torch.cuda.OutOfMemoryError as err:  # report, keep going
            rows.append({"recipe": name, "error": f"out of memory: {str(err).splitlines()[0]}"})
            common.reset_peak(device)
        except Exception as err:  # noqa: BLE001 - a benchmark reports what broke and goes on
            rows.append({"recipe": name, "error": f"{type(err).__name__}: {err}"[:300]})
        print(rows[-1], flush=True)
        by = {r["recipe"]: r for r in rows}
        if "samples_per_s" in by.get("seed", {}) and "samples_per_s" in by.get("default", {}):
            result["default_over_seed"] = round(by["default"]["samples_per_s"] / by["seed"]["samples_per_s"], 2)
        # written after every recipe, so a run cut short still leaves its figures
        if path is not None:
            path.unlink(missing_ok=True)
        path = common.write_result("train_throughput", result, args.out)
    ratio = result["default_over_seed"]
    print(f"\n{dev} | {source['name']} | tokenizer {tokenizer_info['name']} | {args.model} model | "
          f"default/seed = {ratio}x | {path}")
    print("| recipe | precision | batch | sampling | samples/s | peak GiB | MFU % |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['recipe']} | | | | {r['error'][:60]} | | |")
        else:
            print(f"| {r['recipe']} | {r['precision']} | {r['batch_size']} | {r['sampling']} | "
                  f"{r['samples_per_s']} | {r['peak_memory_gib']} | {r['mfu_bf16_pct']} |")
    return result


if __name__ == "__main__":
    main()

"""Training throughput of named variants of the recipe, measured side by side in one run.

    python benchmarks/train_throughput.py                     # previous-default (+ default if it differs)
    python benchmarks/train_throughput.py --variants sdpa,flex,compile-pad128,workers4
    python benchmarks/train_throughput.py --list              # every variant and what it sets
    python benchmarks/train_throughput.py --tokenizer DIR --data DIR

Every variant is a set of ``TrainConfig`` overrides (what a user switches on) on the
``previous-default`` recipe: the default before the speed variants (2026-11), pinned, so the ratios keep their
meaning after the default changes. Each runs in its own Python process (fresh peak-memory counter
and empty compile caches) under its own deadline, on a fresh random model (flan-t5-base's shape
on a GPU, the tiny smoke T5 on a CPU) with the method's adapter, through the project's own
``DialogSumTrainer``: one untimed epoch of the benchmark pairs (every shape compiled, workers
started), then one timed epoch. Compile time (torch's own timers, forward and backward graphs) is
reported apart from the steady-state samples/s. MFU = 3 x forward matmul FLOPs
(``measuring.t5_forward_flops``, unpadded lengths) per sample x samples/s over the card's dense
bf16 peak. The JSON result is rewritten after every variant, so a run cut short keeps what it
measured (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time

import torch

import common
import variant_runs
import variants
from train_variants import FLOP_CONVENTION, TARGETS, VARIANTS
from variants import BASELINE


class StepTimer:
    """TrainerCallback: wall time and compile time of the warm-up epoch and of the timed epoch
    (GPU synchronised at the boundaries only), and a progress file updated every step."""

    def __init__(self, warmup_steps: int, device: torch.device, progress: variant_runs.Progress):
        from transformers import TrainerCallback

        timer = self
        self.t = {}
        self.c = {}

        def mark(key):
            common.sync(device)
            timer.t[key] = time.perf_counter()
            timer.c[key] = variants.compile_stats()

        class _CB(TrainerCallback):
            def on_train_begin(self, args, state, control, **kw):
                mark("begin")

            def on_step_end(self, args, state, control, **kw):
                if state.global_step == warmup_steps:
                    mark("warm")
                if state.global_step == state.max_steps:
                    mark("end")
                phase = "warm-up epoch" if state.global_step <= warmup_steps else "timed epoch"
                progress.update(phase=phase, step=state.global_step, max_steps=state.max_steps)

        self.callback = _CB()


def tokenize(pairs, tokenizer, config, worst_case: bool = False):
    import datasets

    from dialogsum_peft.data import tokenize_split

    batch = {"dialogue": [p["dialogue"] for p in pairs], "summary": [p["summary"] for p in pairs]}
    if worst_case:  # every example at the truncation limits: the memory worst case
        long_d, long_s = " ".join(batch["dialogue"][:8]), " ".join(batch["summary"][:12])
        batch = {"dialogue": [long_d] * len(pairs), "summary": [long_s] * len(pairs)}
    enc, _ = tokenize_split(
        datasets.Dataset.from_dict(batch),
        tokenizer,
        max_source_length=config.max_source_length,
        max_target_length=config.max_target_length,
    )
    return [
        {"input_ids": i, "attention_mask": a, "labels": lab}
        for i, a, lab in zip(enc["input_ids"], enc["attention_mask"], enc["labels"])
    ]


def run_child(name: str, args) -> dict:
    """One variant: warm-up epoch, timed epoch; returns its result row."""
    from dialogsum_peft.measuring import t5_forward_flops
    from dialogsum_peft.methods import apply_method
    from dialogsum_peft.trainer import DialogSumTrainer, data_collator, training_arguments

    variant, device, progress, info = variant_runs.start_child(name, VARIANTS, args)
    pairs = common.select(common.load_rows(args.data)[0], args.max_pairs)
    tokenizer, _ = common.load_tokenizer(args.tokenizer, pairs)
    config = variants.variant_config(variant, info)
    batch = config.effective_batch
    n = len(pairs) // batch * batch
    if not n:
        raise ValueError(f"{len(pairs)} training pairs: fewer than one batch of {batch}")
    data = tokenize(pairs[:n], tokenizer, config, variant.worst_case)
    steps = n // batch  # optimizer steps per epoch
    common.reset_peak(device)
    with tempfile.TemporaryDirectory(prefix="bench-train-") as out:
        config = variants.variant_config(
            variant,
            info,
            output_dir=out,
            max_steps=2 * steps,
            logging_steps=10**6,
            save_steps=10**6,
            seed=0,
        )
        model = common.make_model(
            args.model, tokenizer, config.torch_dtype, device, attn=config.attn_implementation
        )
        shape = model.config
        model = apply_method(model, config)
        progress.update(phase="model ready")
        timer = StepTimer(steps, device, progress)
        trainer = DialogSumTrainer(  # as the notebooks build it
            model=model,
            data_collator=data_collator(tokenizer, model, config),
            train_dataset=data,
            args=training_arguments(
                config, save_strategy="no", disable_tqdm=True, **variant.trainer_args
            ),
            processing_class=tokenizer,
            callbacks=[timer.callback],
        )
        trainer.train()
        t, c = timer.t, timer.c
        pin, padding = trainer.args.dataloader_pin_memory, trainer.data_collator.pad_to_multiple_of
        del trainer, model
    lora_r = config.lora_r if config.method in ("lora", "lora-all") else 0
    flops = 3 * statistics.mean(
        t5_forward_flops(
            shape,
            len(x["input_ids"]),
            len(x["labels"]),
            lora_r=lora_r,
            lora_targets=config.lora_target_modules,
        )
        for x in data
    )
    timed_s = t["end"] - t["warm"]
    sps = n / timed_s
    dev = common.device_name(device)
    peak = common.peak_tflops(dev) if config.precision == "bf16" and device.type == "cuda" else None
    total, timed = (
        variants.compile_delta(c["begin"], c["end"]),
        variants.compile_delta(c["warm"], c["end"]),
    )
    memory = common.peak_gib(device)
    return {
        "variant": name,
        "device": dev,
        "config": {
            k: config.to_dict()[k]
            for k in (
                "method",
                "precision",
                "per_device_train_batch_size",
                "gradient_accumulation_steps",
                "attn_implementation",
                "optim",
                "torch_compile",
                "pad_to_multiple_of",
                "dataloader_num_workers",
                "train_sampling_strategy",
                "gradient_checkpointing",
                "lora_r",
                "lora_target_modules",
            )
        },
        "effective_batch": batch,
        "padding_multiple_used": padding,
        "dataloader_pin_memory": pin,
        "not_config_settings": variants.not_config_settings(variant),
        "worst_case_lengths": variant.worst_case,
        "warmup_steps": steps,
        "timed_steps": steps,
        "samples_per_epoch": n,
        "warmup_wall_s": round(t["warm"] - t["begin"], 2),
        "timed_wall_s": round(timed_s, 2),
        "samples_per_s": round(sps, 2),
        "compile_s": total["compile_s"],
        "compiled_graphs": total["graphs"],
        "compile_s_in_timed_epoch": timed["compile_s"],
        "compiled_graphs_in_timed_epoch": timed["graphs"],
        "peak_memory_gib": round(memory, 2) if memory is not None else None,
        "mean_source_tokens": round(statistics.mean(len(x["input_ids"]) for x in data), 1),
        "mean_target_tokens": round(statistics.mean(len(x["labels"]) for x in data), 1),
        "train_gflops_per_sample": round(flops / 1e9, 3),
        "achieved_tflops": round(sps * flops / 1e12, 3),
        "mfu_pct": round(100 * sps * flops / 1e12 / peak, 2) if peak else None,
    }


def compare(result: dict) -> None:
    """Ratios against ``previous-default`` and which targets each measured row meets."""
    variants.compare_to_baseline(
        result,
        BASELINE,
        "samples_per_s",
        lambda r, base: r["effective_batch"] == base["effective_batch"],
        lambda r, speed, memory, same: {
            "speedup": speed >= TARGETS["speedup_vs_previous_default"] and same,
            "mfu": None if r["mfu_pct"] is None else r["mfu_pct"] >= TARGETS["mfu_pct"],
            "peak_memory": None if memory is None else memory <= 1.0,
        },
    )


def markdown(result: dict) -> str:
    return variants.markdown_table(
        result["rows"],
        "samples_per_s",
        {
            "batch": lambda r: r["effective_batch"],
            "samples/s": lambda r: r["samples_per_s"],
            "vs previous-default": lambda r: (
                f"{r.get('vs_previous_default', {}).get('samples_per_s')}x"
            ),
            "peak GiB": lambda r: r["peak_memory_gib"],
            "MFU %": lambda r: r["mfu_pct"],
            "compile s": lambda r: r["compile_s"],
            "warm-up epoch s": lambda r: r["warmup_wall_s"],
        },
    )


def child_argv(args, tokenizer_dir: str) -> list[str]:
    argv = [
        "--model",
        args.model,
        "--data",
        str(common.data_dir(args.data)),
        "--tokenizer",
        tokenizer_dir,
    ]
    return argv + (["--max-pairs", str(args.max_pairs)] if args.max_pairs else [])


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model",
        choices=("base", "tiny"),
        default=None,
        help="base = flan-t5-base shape (default on GPU), tiny = smoke T5 (CPU)",
    )
    parser.add_argument(
        "--max-pairs",
        type=int,
        default=None,
        help="a seeded sample of N "
        "training pairs (default: 1024 on GPU = 32 steps of 32 per epoch, 64 on CPU)",
    )
    variants.add_common_arguments(parser, VARIANTS, BASELINE)
    return parser, parser.parse_args(argv)


def main(argv=None):
    parser, args = parse_args(argv)
    device = variant_runs.device_and_model(args)
    # a CPU run only shows that the script works: a few batches
    args.max_pairs = args.max_pairs or (1024 if device.type == "cuda" else 64)
    if args.child or args.list:
        return variant_runs.child_or_list(args, VARIANTS, run_child, "trainer_args")
    names = variants.variant_names(parser, args, VARIANTS, BASELINE)
    from dialogsum_peft.hardware import describe_device

    pairs_all, _, source = common.load_rows(args.data)
    pairs = common.select(pairs_all, args.max_pairs)
    tokenizer, tokenizer_info = common.load_tokenizer(args.tokenizer, pairs)
    return variant_runs.run_benchmark(
        sys.modules[__name__],
        argv,
        args,
        names,
        device,
        source,
        tokenizer,
        tokenizer_info,
        tokens=common.token_stats(
            tokenizer, [p["dialogue"] for p in pairs], [p["summary"] for p in pairs]
        ),
        fields={
            "device_memory_gib": round(describe_device().total_memory_gib, 1),
            "pairs": len(pairs),
            "flop_convention": FLOP_CONVENTION,
            "mfu_peak_bf16_tflops": common.peak_tflops(common.device_name(device)),
        },
        passes="one untimed epoch of the pairs (compiles every shape), then one timed epoch",
        summary=f"{args.model} model | {len(pairs)} pairs",
    )


if __name__ == "__main__":
    main()

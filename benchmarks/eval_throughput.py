"""Generation throughput of named variants of batched ``summarize``, side by side in one run.

    python benchmarks/eval_throughput.py                      # previous-default (+ default if it differs)
    python benchmarks/eval_throughput.py --variants merged,merged-static,sdpa,flex
    python benchmarks/eval_throughput.py --variants one-at-a-time   # the original tutorial's loop
    python benchmarks/eval_throughput.py --list
    # the ctranslate2 backend against today's default at batch 16 on a CPU (docs/inference.md)
    python benchmarks/eval_throughput.py --model base --max-dialogues 16 --batch-size 16 \
        --variants merged,one-at-a-time,ctranslate2-int8,ctranslate2-float32,ctranslate2-one-at-a-time \
        --variant-deadline 1200

Every variant is a set of ``TrainConfig`` overrides (``merge_for_generation``,
``attn_implementation``, ``eval_batch_size``) on the ``previous-default``: batched, length-sorted
``summarize`` of a model with its LoRA adapter attached, as ``evaluate`` ran before the speed
variants. The static-cache variants set ``cache_implementation="static"`` on the model's generation
config (not a TrainConfig setting; on a GPU transformers then compiles the decoding step). The
``ctranslate2-*`` variants merge the adapter, convert the model for CTranslate2 (timed:
``conversion_s``) and generate through :mod:`dialogsum_peft.ctranslate2_backend` (CPU). Each
variant runs in its own process under its own deadline: a fresh random model (flan-t5-base's
shape on a GPU, the tiny T5 on a CPU) with a LoRA adapter, one untimed pass over the dialogues
(compiles every shape), then one timed pass. Every dialogue gets exactly ``--new-tokens`` new
tokens (min = max), so random weights do the same work in every variant. The JSON result is
rewritten after every variant (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import common
import variant_runs
import variants
from eval_variants import CT2_CPU_GOAL, TARGETS, VARIANTS
from variants import BASELINE, ratio


def ctranslate2_engine(model, tokenizer, quantization: str, workdir: Path):
    """``model`` (merged) saved, converted for CTranslate2 in ``quantization`` and loaded."""
    from dialogsum_peft.ctranslate2_backend import CTranslate2Model, convert

    model.save_pretrained(workdir / "hf", safe_serialization=True)
    tokenizer.save_pretrained(workdir / "hf")
    convert(workdir / "hf", workdir / "ct2", quantization=quantization)
    return CTranslate2Model(workdir / "ct2")


def peak_rss_gib() -> float:
    """This process's peak resident memory so far (Linux reports KiB): a variant's own process."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)


def run_child(name: str, args) -> dict:
    """One variant: an untimed pass, then a timed pass over the same dialogues."""
    from dialogsum_peft.data import build_prompt
    from dialogsum_peft.generation import summarize
    from dialogsum_peft.methods import apply_method
    from dialogsum_peft.tokenization import measure_inputs, warn_input_loss

    variant, device, progress, info = variant_runs.start_child(name, VARIANTS, args)
    _, rows, _ = common.load_rows(args.data)
    dialogues = common.select(
        [r["dialogue"] for r in rows], args.loop_examples if variant.subset else args.max_dialogues
    )
    tokenizer, _ = common.load_tokenizer(args.tokenizer, [])
    batch = {"eval_batch_size": args.batch_size} if args.batch_size and not variant.subset else {}
    config = variants.variant_config(variant, info, **batch)
    common.reset_peak(device)
    model = common.make_model(
        args.model, tokenizer, config.torch_dtype, device, attn=config.attn_implementation
    )
    model = apply_method(model, config)
    if config.merge_for_generation:  # as evaluate/summarize do: the peft model is let go
        model = copy.deepcopy(model).merge_and_unload()
    conversion_s, workdir = None, None
    if variant.backend:
        workdir = tempfile.TemporaryDirectory(prefix="bench-ct2-")
        t = time.perf_counter()
        model = ctranslate2_engine(
            model, tokenizer, variant.backend["quantization"], Path(workdir.name)
        )
        conversion_s = round(time.perf_counter() - t, 2)
    for key, value in variant.generate.items():  # (no generate options on engine variants)
        setattr(model.generation_config, key, value)
    prepare_peak = common.peak_gib(device)
    common.reset_peak(device)
    # what truncation and <unk> take from these prompts: measured once, warned, recorded below
    # (not inside the timed passes)
    inputs = measure_inputs(
        [build_prompt(d) for d in dialogues], tokenizer, config.max_source_length
    )
    warn_input_loss(inputs, "benchmark dialogues")
    gen = {
        **config.generation_kwargs(),
        "max_new_tokens": args.new_tokens,
        "min_new_tokens": args.new_tokens,
        "progress": False,
        "check_inputs": False,
    }
    marks = {}

    def mark(key):
        common.sync(device)
        marks[key] = (time.perf_counter(), variants.compile_stats())

    mark("begin")
    progress.update(phase="untimed pass")
    first = summarize(model, tokenizer, dialogues, **gen)
    mark("warm")
    progress.update(phase="timed pass")
    second = summarize(model, tokenizer, dialogues, **gen)
    mark("end")
    timed_s = marks["end"][0] - marks["warm"][0]
    total = variants.compile_delta(marks["begin"][1], marks["end"][1])
    timed = variants.compile_delta(marks["warm"][1], marks["end"][1])
    memory = common.peak_gib(device)
    if workdir is not None:
        workdir.cleanup()
    return {
        "variant": name,
        "device": common.device_name(device),
        "config": {
            k: getattr(config, k)
            for k in (
                "precision",
                "eval_batch_size",
                "attn_implementation",
                "merge_for_generation",
                "num_beams",
                "max_source_length",
            )
        },
        "generate": dict(variant.generate),
        "not_config_settings": variants.not_config_settings(variant),
        "dialogues": len(dialogues),
        "new_tokens": args.new_tokens,
        "inputs": inputs.to_dict(),
        "first_pass_s": round(marks["warm"][0] - marks["begin"][0], 2),
        "timed_pass_s": round(timed_s, 2),
        "dialogues_per_s": round(len(dialogues) / timed_s, 4),  # CPU rates are below 1/s
        "generated_tokens_per_s": round(len(dialogues) * args.new_tokens / timed_s, 1),
        "compile_s": total["compile_s"],
        "compiled_graphs": total["graphs"],
        "compile_s_in_timed_pass": timed["compile_s"],
        "compiled_graphs_in_timed_pass": timed["graphs"],
        "peak_memory_gib": round(memory, 2) if memory is not None else None,
        "prepare_peak_memory_gib": round(prepare_peak, 2) if prepare_peak is not None else None,
        "same_summaries_both_passes": first == second,
        "backend": dict(variant.backend) or {"backend": "transformers"},
        "conversion_s": conversion_s,
        "peak_rss_gib": peak_rss_gib(),
        "summaries_sha1": hashlib.sha1(json.dumps(second).encode()).hexdigest(),
    }


def compare(result: dict) -> None:
    """Ratios against ``previous-default``, whether the summaries are the same, targets met."""

    def comparable(r, base):
        if r["dialogues"] == base["dialogues"]:
            r["same_summaries_as_previous_default"] = r["summaries_sha1"] == base["summaries_sha1"]
            return True
        return False

    variants.compare_to_baseline(
        result,
        BASELINE,
        "dialogues_per_s",
        comparable,
        lambda r, speed, memory, same: {
            "speedup": speed >= TARGETS["speedup_vs_previous_default"] and same,
            "peak_memory": None if memory is None else memory <= 1.0,
        },
    )
    base = next(
        (r for r in result["rows"] if r["variant"] == BASELINE and "dialogues_per_s" in r), None
    )
    for r in result["rows"]:
        if r.get("backend", {}).get("backend") == "ctranslate2" and base and "dialogues_per_s" in r:
            same_work = (
                r["config"]["eval_batch_size"] == base["config"]["eval_batch_size"]
                and r["dialogues"] == base["dialogues"]
            )
            r["ctranslate2_cpu_goal"] = {
                "goal": f">= {CT2_CPU_GOAL}x previous-default, same batch and dialogues, one run",
                "speedup": ratio(r["dialogues_per_s"], base["dialogues_per_s"]),
                "met": same_work and r["dialogues_per_s"] >= CT2_CPU_GOAL * base["dialogues_per_s"]
                if same_work
                else None,
            }


def markdown(result: dict) -> str:
    return variants.markdown_table(
        result["rows"],
        "dialogues_per_s",
        {
            "batch": lambda r: r["config"]["eval_batch_size"],
            "dialogues": lambda r: r["dialogues"],
            "dialogues/s": lambda r: r["dialogues_per_s"],
            "vs previous-default": lambda r: (
                f"{r.get('vs_previous_default', {}).get('dialogues_per_s')}x"
            ),
            "peak GiB": lambda r: r["peak_memory_gib"],
            "peak RSS GiB": lambda r: r.get("peak_rss_gib"),
            "conversion s": lambda r: r.get("conversion_s"),
            "compile s": lambda r: r["compile_s"],
            "first pass s": lambda r: r["first_pass_s"],
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
        "--new-tokens",
        str(args.new_tokens),
        "--loop-examples",
        str(args.loop_examples),
    ]
    argv += ["--batch-size", str(args.batch_size)] if args.batch_size else []
    return argv + (["--max-dialogues", str(args.max_dialogues)] if args.max_dialogues else [])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=("base", "tiny"), default=None)
    parser.add_argument("--new-tokens", type=int, default=50)
    parser.add_argument(
        "--max-dialogues",
        type=int,
        default=None,
        help="a seeded sample of N test dialogues (default: all on GPU, 32 on CPU)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="eval_batch_size of every batched variant (default: the card's)",
    )
    parser.add_argument(
        "--loop-examples",
        type=int,
        default=None,
        help="dialogues for one-at-a-time (default: 40 on GPU, 4 on CPU)",
    )
    variants.add_common_arguments(parser, VARIANTS, BASELINE)
    args = parser.parse_args(argv)
    device = variant_runs.device_and_model(args)  # and args.model: base on a GPU, tiny on a CPU
    args.max_dialogues = args.max_dialogues or (None if device.type == "cuda" else 32)
    args.loop_examples = args.loop_examples or (40 if device.type == "cuda" else 4)
    if args.child or args.list:  # one variant in a process of its own, or the list
        return variant_runs.child_or_list(args, VARIANTS, run_child, "generate")
    names = variants.variant_names(parser, args, VARIANTS, BASELINE)
    pairs, rows, source = common.load_rows(args.data)
    tokenizer, tokenizer_info = common.load_tokenizer(args.tokenizer, pairs)
    dialogues = common.select(rows, args.max_dialogues)
    return variant_runs.run_benchmark(
        sys.modules[__name__],
        argv,
        args,
        names,
        device,
        source,
        tokenizer,
        tokenizer_info,
        # sources are the dialogues generated from; targets their reference summaries (the
        # generated length itself is fixed at new_tokens)
        tokens=common.token_stats(
            tokenizer,
            [r["dialogue"] for r in dialogues],
            [ref for r in dialogues for ref in r["references"]],
        ),
        fields={
            "new_tokens": args.new_tokens,
            "dialogues": len(dialogues),
            "loop_examples": args.loop_examples,
        },
        passes="one untimed pass over the dialogues (compiles every shape), then one timed pass",
        summary=f"{args.model} model | {args.new_tokens} new tokens",
    )


if __name__ == "__main__":
    main()

"""What each fine-tuning method costs on flan-t5-base: trainable parameters, size on disk and,
on a GPU, training speed and peak memory.

    python benchmarks/methods.py                      # flan-t5-base shape: every method
    python benchmarks/methods.py --methods lora,full  # some of them
    python benchmarks/methods.py --model tiny --speed-on-cpu --steps 2 --warmup 1   # script check

Why: the comparison notebook measures all of this on the card it runs on, in full mode, after
minutes to hours of training; this script gives the cost side of the comparison in a minute.

* **Exact on any machine**: trainable parameters (and their share) of each method applied with
  ``methods.apply_method`` to a model of flan-t5-base's exact shape (random weights: counts and
  bytes do not depend on the values), and the size of the weights file ``save_pretrained``
  writes for it (saved to a temporary folder and measured; fp32 on the CPU, the
  run's precision on a GPU).
* **Only on CUDA** (or with ``--speed-on-cpu``, to check the script): training samples/s and peak
  memory over ``--steps`` timed optimizer steps after ``--warmup`` untimed ones, at the quick
  recipe's per-device batch for this card (no gradient accumulation), through the project's own
  Trainer setup, on real DialogSum text tokenized with Flan-T5's tokenizer when they are at hand
  (``--data``/``--tokenizer``, else ``../shared/``), else the project's sample and the smoke
  tokenizer (the JSON says which). On a CPU these fields are null, with the reason.

Writes ``benchmarks/results/methods-<device>-<date>.json``. Self-contained on purpose: it uses
the package, not ``benchmarks/common.py``.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402

from dialogsum_peft.adapters import adapter_size_mb  # noqa: E402
from dialogsum_peft.config import TrainConfig  # noqa: E402
from dialogsum_peft.methods import METHODS, apply_method, is_peft  # noqa: E402
from dialogsum_peft.modeling import count_parameters  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SHARED = ROOT.parent / "shared"
NOT_TIMED = "no CUDA device: training speed and peak GPU memory are measured on a GPU only"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated, of {', '.join(METHODS)} (default: all)",
    )
    parser.add_argument(
        "--model",
        choices=("base", "tiny"),
        default="base",
        help="base: flan-t5-base shape, random weights; tiny: the smoke T5",
    )
    parser.add_argument("--steps", type=int, default=10, help="timed optimizer steps (GPU)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before them")
    parser.add_argument(
        "--speed-on-cpu",
        action="store_true",
        help="time training on the CPU too (a check of the script, not a figure)",
    )
    parser.add_argument("--data", default=None, help="DialogSum folder for the speed part")
    parser.add_argument("--tokenizer", default=None, help="tokenizer folder for the speed part")
    parser.add_argument("--out", default=str(RESULTS), help="results folder")
    args = parser.parse_args(argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    return args


def base_model(kind: str, dtype: torch.dtype):
    """A fresh model on the CPU: flan-t5-base's exact shape (random init) or the smoke T5.

    It stays on the CPU: each method trains a copy moved to the device, so the device's peak
    memory holds one model, the one being trained.
    """
    from transformers import T5ForConditionalGeneration

    from dialogsum_peft.measuring import flan_t5_base_shaped_model
    from dialogsum_peft.offline import tiny_base_dir

    torch.manual_seed(0)
    if kind == "tiny":
        model = T5ForConditionalGeneration.from_pretrained(tiny_base_dir(), dtype=dtype)
    else:
        model = flan_t5_base_shaped_model(dtype=dtype)
    model.set_attn_implementation("eager")  # the project's kernel for T5 (benchmarks/README.md)
    return model


def speed_data(args, tokenizer_dir: Path, config: TrainConfig):
    """Tokenized (dialogue, reference) pairs, and a description of where they came from."""
    import datasets
    from transformers import AutoTokenizer

    from dialogsum_peft.data import load_dialogsum, tokenize_split
    from dialogsum_peft.inputs import ORIGINAL_FILES
    from dialogsum_peft.offline import sample_data_dir
    from dialogsum_peft.tokenization import warn_input_loss

    shared_data = SHARED / "dialogsum"
    data = (
        Path(args.data)
        if args.data
        else (
            shared_data if (shared_data / ORIGINAL_FILES["test"]).is_file() else sample_data_dir()
        )
    )
    splits = load_dialogsum(data)
    pairs = [
        {"dialogue": row["dialogue"], "summary": ref}
        for split in splits.values()
        for row in split
        for ref in row["references"]
    ]
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    tokenized, reports = tokenize_split(
        datasets.Dataset.from_list(pairs),
        tokenizer,
        max_source_length=config.max_source_length,
        max_target_length=config.max_target_length,
    )
    lengths = [len(ids) for ids in tokenized["input_ids"]]
    # what truncation and <unk> take from the training prompts, said and recorded (one pass)
    inputs = reports["dialogues"]
    warn_input_loss(inputs, "benchmark training pairs")
    source = {
        "data": str(data),
        "tokenizer": str(tokenizer_dir),
        "pairs": len(pairs),
        "mean_source_tokens": round(sum(lengths) / len(lengths), 1),
        "inputs": inputs.to_dict(),
    }
    return tokenized, tokenizer, source


def measure_speed(
    model, tokenizer, train_dataset, config: TrainConfig, args, device: torch.device
) -> dict:
    """Samples/s over ``args.steps`` steps after ``args.warmup``, and the peak memory (CUDA)."""
    from transformers import TrainerCallback

    from dialogsum_peft.trainer import DialogSumTrainer, data_collator, training_arguments

    marks: dict[str, float] = {}

    class Timer(TrainerCallback):
        def on_step_end(self, train_args, state, control, **kwargs):
            if state.global_step in (args.warmup, args.warmup + args.steps):
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                marks["start" if state.global_step == args.warmup else "end"] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        trainer = DialogSumTrainer(
            model=model,
            args=training_arguments(
                config,
                output_dir=tmp,
                max_steps=args.warmup + args.steps,
                gradient_accumulation_steps=1,
                save_strategy="no",
                disable_tqdm=True,
                logging_steps=args.warmup + args.steps,
            ),
            data_collator=data_collator(tokenizer, model, config),
            train_dataset=train_dataset,
            processing_class=tokenizer,
            callbacks=[Timer()],
        )
        if device.type == "cuda":
            gc.collect()  # the previous method's model and optimizer
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        trainer.train()
    batch = config.per_device_train_batch_size
    seconds = marks["end"] - marks["start"]
    return {
        "samples_per_s": round(args.steps * batch / seconds, 2),
        "peak_memory_gib": (
            round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
            if device.type == "cuda"
            else None
        ),
        "timed_steps": args.steps,
        "per_device_batch": batch,
    }


def run_method(method: str, base, args, device: torch.device, speed, tokenizer_dir: Path) -> dict:
    """One method's row: counts and saved size, then (if ``speed``) samples/s and peak memory."""
    config = TrainConfig.auto(method=method)
    model = apply_method(copy.deepcopy(base).to(device), config, str(tokenizer_dir))
    counted = count_parameters(model)
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / method  # the adapter, or for full fine-tuning the whole model
        model.save_pretrained(saved)
        files = sorted(p.name for p in saved.iterdir())
        size_mb = adapter_size_mb(saved)
    row = {
        "method": method,
        "learning_rate": config.learning_rate,
        "optim": config.optim,
        "precision": config.precision,
        "trainable_parameters": counted.trainable,
        "total_parameters": counted.total,
        "trainable_percent": round(counted.percent, 4),
        "saved": "adapter" if is_peft(method) else "whole model",
        "saved_weights_mb": round(size_mb, 3),
        "saved_files": files,
        "saved_dtype": str(next(p.dtype for p in model.parameters() if p.requires_grad)).replace(
            "torch.", ""
        ),
    }
    if speed is None:
        return {
            **row,
            "samples_per_s": None,
            "peak_memory_gib": None,
            "not_measured_because": NOT_TIMED,
        }
    train_dataset, tokenizer = speed
    row.update(measure_speed(model, tokenizer, train_dataset, config, args, device))
    return row


def device_description(device: torch.device) -> tuple[str, str]:
    """(name, slug for the file name) of the device the benchmark runs on."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"
    slug = (
        "cpu"
        if device.type == "cpu"
        else "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:40]
    )
    return name, slug


def main(argv=None) -> dict:
    from dialogsum_peft.offline import tiny_base_dir
    from dialogsum_peft.versions import library_versions

    args = parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    timed = device.type == "cuda" or args.speed_on_cpu
    shared_tokenizer = SHARED / "flan-t5-tokenizer"
    tokenizer_dir = (
        Path(args.tokenizer)
        if args.tokenizer
        else (
            shared_tokenizer
            if args.model == "base" and (shared_tokenizer / "tokenizer.json").is_file()
            else tiny_base_dir()
        )
    )
    # the quick recipe's settings for this device (precision, per-device batch)
    dtype = TrainConfig.auto().torch_dtype
    base = base_model(args.model, dtype)
    name, slug = device_description(device)
    result = {
        "benchmark": "methods",
        "date": time.strftime("%Y-%m-%d"),
        "device": name,
        "device_slug": slug,
        "versions": {"python": platform.python_version(), **library_versions()},
        "model": (
            "flan-t5-base shape, random init"
            if args.model == "base"
            else "tiny smoke T5 (a check of the script)"
        ),
        "recipe": "quick",
        "speed_measured": timed,
    }
    speed = None
    if timed:
        train_dataset, tokenizer, source = speed_data(args, tokenizer_dir, TrainConfig.auto())
        speed = (train_dataset, tokenizer)
        result["speed_data"] = source
    else:
        result["speed_not_measured_because"] = NOT_TIMED
    result["methods"] = []
    for method in args.methods:
        row = run_method(method, base, args, device, speed, tokenizer_dir)
        result["methods"].append(row)
        print(
            f"{method:14} trainable {row['trainable_parameters']:>12,} "
            f"({row['trainable_percent']:.4f}%)  saved {row['saved_weights_mb']:9.2f} MB  "
            f"samples/s {row['samples_per_s']}  peak GiB {row['peak_memory_gib']}",
            flush=True,
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"methods-{slug}-{time.strftime('%Y%m%d')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    result["path"] = str(path)
    return result


if __name__ == "__main__":
    main()

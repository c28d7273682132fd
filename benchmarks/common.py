"""Shared pieces of the benchmarks: data, tokenizer, model, token statistics, result files.

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

The variants a benchmark compares, their child processes, baselines and Markdown tables are
in ``benchmarks/variants.py``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402

from dialogsum_peft.data import (  # noqa: E402
    build_prompt,
    load_dialogsum,
    require_split,
)
from dialogsum_peft.inputs import ORIGINAL_FILES  # noqa: E402  (a DialogSum folder's file names)
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
    pairs = [
        {"dialogue": row["dialogue"], "summary": ref}
        for split in splits.values()
        for row in split
        for ref in row["references"]
    ]
    sample = path.resolve() == sample_data_dir().resolve()
    source = {
        "name": "project sample (data/dialogsum_sample)"
        if sample
        else f"DialogSum {'+'.join(splits)}",
        "path": str(path),
        "dialogues_by_split": {s: len(d) for s, d in splits.items()},
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

    path = (
        Path(requested)
        if requested
        else next(
            (
                p
                for p in (SHARED / "flan-t5-tokenizer", BENCH_COPY / "flan-t5-tokenizer")
                if p.is_dir()
            ),
            SHARED / "flan-t5-tokenizer",
        )
    )
    if requested and not path.is_dir():
        raise SystemExit(f"--tokenizer {requested}: no such folder")
    if path.is_dir():
        tokenizer = AutoTokenizer.from_pretrained(path)
        info = {"name": str(path.resolve()), "real_flan_t5": is_flan_t5_tokenizer(tokenizer)}
    else:
        texts = [p["dialogue"] for p in pairs] + [p["summary"] for p in pairs]
        tokenizer = train_tokenizer(texts, vocab_size=8000 if len(pairs) > 200 else 2000)
        info = {
            "name": "stand-in (Unigram trained on the benchmark dialogues)",
            "real_flan_t5": False,
        }
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
BF16_PEAK_TFLOPS = (
    ("H100 PCIe", 756.5),
    ("H100 NVL", 835.5),
    ("H200 NVL", 835.5),
    ("H100", 989.5),
    ("H200", 989.5),
    ("A100", 312.0),
    ("L4", 121.0),
    ("A10", 125.0),
)


def peak_tflops(device: str) -> float | None:
    return next((v for k, v in BF16_PEAK_TFLOPS if k in device), None)


def announce_tokenizer(info: dict) -> None:
    if info["real_flan_t5"]:
        print(
            f"TOKENIZER: the real Flan-T5 tokenizer ({info['name']}): real token lengths.",
            file=sys.stderr,
            flush=True,
        )
        return
    bar = "!" * 96
    print(
        f"{bar}\n!! TOKENIZER: {info['name']} is NOT Flan-T5's tokenizer.\n"
        "!! Token counts, samples/s, FLOPs and MFU are not those of Flan-T5 on this data (its\n"
        "!! sequences are shorter; see benchmarks/README.md). Pass --tokenizer DIR with the\n"
        f"!! Flan-T5 tokenizer, or put it in {SHARED / 'flan-t5-tokenizer'}.\n{bar}",
        file=sys.stderr,
        flush=True,
    )


def length_stats(lengths: list[int], limit: int) -> dict:
    """Mean, 95th percentile (nearest rank), max, and how many exceed ``limit``."""
    ordered = sorted(lengths)
    return {
        "n": len(ordered),
        "mean": round(statistics.mean(ordered), 1),
        "p95": ordered[math.ceil(0.95 * len(ordered)) - 1],
        "max": ordered[-1],
        "limit": limit,
        "over_limit": sum(n > limit for n in ordered),
    }


def token_stats(tokenizer, dialogues: list[str], summaries: list[str]) -> dict:
    """Untruncated lengths: prompts as the model is trained on them, summaries as labels."""
    source = tokenizer([build_prompt(d) for d in dialogues], verbose=False).input_ids
    target = tokenizer(text_target=list(summaries), verbose=False).input_ids
    return {
        "source": length_stats([len(ids) for ids in source], MAX_SOURCE_TOKENS),
        "target": length_stats([len(ids) for ids in target], MAX_TARGET_TOKENS),
    }


def make_model(
    kind: str, tokenizer, dtype: torch.dtype, device: torch.device, attn: str | None = None
):
    """A fresh random model: 'base' = flan-t5-base shape, 'tiny' = the smoke T5."""
    from transformers import T5ForConditionalGeneration

    from dialogsum_peft.measuring import flan_t5_base_shaped_model, untie_lm_head
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

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "tokenizers": tokenizers.__version__,
        "datasets": datasets.__version__,
    }


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

"""Shared pieces of the benchmarks: data with DialogSum's real lengths, the model, reporting.

Data: the real DialogSum validation and test files when ``../shared/dialogsum`` (or
``$DIALOGSUM_BENCH_DATA``) holds them, otherwise the project's own sample. They are read with
the package's own loader (no ``datasets`` needed, so the scripts run on a bare GPU image).

Model: on a GPU, a randomly initialised model with flan-t5-base's exact shape (same FLOPs as
the real one, no download: the package's own builder); on a CPU, the tiny smoke T5. The tokenizer is trained on the
benchmark dialogues themselves (8k Unigram vocabulary): lengths are those of real dialogue
text, though not checked against Flan-T5's own 32k SentencePiece counts (no Hub here).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402

from dialogsum_peft.data import ORIGINAL_FILES, _read_jsonl, normalize_rows  # noqa: E402
from dialogsum_peft.offline import sample_data_dir, train_tokenizer  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def data_dir() -> Path:
    env = os.environ.get("DIALOGSUM_BENCH_DATA")
    if env:  # either format: original DialogSum files or the Hub export (like our sample)
        return Path(env)
    for path in (ROOT / ".bench", ROOT.parent / "shared" / "dialogsum"):
        if (path / ORIGINAL_FILES["test"]).is_file():
            return path
    return sample_data_dir()


def load_rows() -> tuple[list[dict], list[dict], str]:
    """(training pairs, evaluation dialogues with references, description of the source)."""
    path = data_dir()
    if (path / ORIGINAL_FILES["test"]).is_file():
        files = {"validation": ORIGINAL_FILES["validation"], "test": ORIGINAL_FILES["test"]}
        source = "DialogSum validation+test (real lengths)"
    else:
        files = {"train": "train.jsonl", "test": "test.jsonl"}
        source = "project sample (data/dialogsum_sample)"
    raw = {s: _read_jsonl(path / f) for s, f in files.items() if (path / f).is_file()}
    eval_rows = normalize_rows(raw["test"], "test", group=True)
    pairs = []
    for split, rows in raw.items():
        for row in normalize_rows(rows, split, group=True):
            pairs += [{"dialogue": row["dialogue"], "summary": r} for r in row["references"]]
    return pairs, eval_rows, source


def bench_tokenizer(rows: list[dict]):
    texts = [r["dialogue"] for r in rows] + [r["summary"] for r in rows]
    return train_tokenizer(texts, vocab_size=8000 if len(rows) > 200 else 2000)


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
    import peft
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "peft": peft.__version__}


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


def write_result(name: str, result: dict, out_dir: Path | None = None) -> Path:
    out_dir = Path(out_dir or RESULTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"{name}-{result['device_slug']}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")[:40]

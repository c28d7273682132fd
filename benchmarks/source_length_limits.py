"""What each evaluation length limit (max_source_length) cuts, and what it costs to generate at it.

    python benchmarks/source_length_limits.py                 # ../shared data and tokenizer
    python benchmarks/source_length_limits.py --limits 512,768,1024 --batch-size 2 --new-tokens 8

Why: T5's relative position buckets accept inputs longer than the 512 tokens it was trained on,
so the evaluation limit is a choice: this measures, with the real Flan-T5 tokenizer on the real
DialogSum test and validation prompts, how many dialogues and tokens each limit cuts and how
many characters are lost to ``<unk>`` (``dialogsum_peft.tokenization.measure_inputs``), then the
generation time and peak memory of a flan-t5-base-shaped model (random weights: the quality
effect needs the real ones, left to a full-mode run) on a batch of real prompts truncated to
each limit. Each length runs in its own process, so its peak resident memory (ru_maxrss) is its
own. Writes benchmarks/results/source_length_limits-<device>-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch  # noqa: E402

import common  # noqa: F401 - puts src/ on sys.path
from dialogsum_peft.data import build_prompt, load_dialogsum  # noqa: E402
from dialogsum_peft.tokenization import measure_inputs  # noqa: E402


def _tokenizer(path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if not common.is_flan_t5_tokenizer(tok):
        raise SystemExit(f"{path} is not the Flan-T5 tokenizer: the counts would mean nothing")
    return tok


def _generate(args) -> dict:
    """Child process: generate for ``--batch-size`` prompts truncated to ``--one`` tokens."""
    from dialogsum_peft.generation import summarize
    from dialogsum_peft.measuring import flan_t5_base_shaped_model

    torch.set_num_threads(args.threads)
    tok = _tokenizer(args.tokenizer)
    test = load_dialogsum(args.data)["test"]
    prompts = sorted(
        (build_prompt(d) for d in test["dialogue"]), key=lambda p: -len(tok(p).input_ids)
    )[: args.batch_size]
    model = flan_t5_base_shaped_model(attn_implementation="eager").eval()
    rss_model = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        summarize(
            model,
            tok,
            prompts,
            batch_size=args.batch_size,
            max_new_tokens=args.new_tokens,
            num_beams=1,
            min_new_tokens=args.new_tokens,
            max_source_length=args.one,
            use_prompt=False,
            progress=False,
            check_inputs=False,
        )
        times.append(time.perf_counter() - start)
    lengths = [min(len(tok(p).input_ids), args.one) for p in prompts]
    return {
        "max_source_length": args.one,
        "input_tokens": lengths,
        "seconds": times,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_model_mib": rss_model / 1024,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(common.SHARED / "dialogsum"))
    parser.add_argument("--tokenizer", default=str(common.SHARED / "flan-t5-tokenizer"))
    parser.add_argument("--limits", default="512,768,1024")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--new-tokens", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-timing", action="store_true", help="counts only")
    parser.add_argument("--out", default=str(common.RESULTS), help="folder of the JSON result")
    parser.add_argument(
        "--under-load",
        action="store_true",
        help="label the timings: other work shared the CPU while they ran",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: one length
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_generate(args)))
        return {}
    limits = [int(x) for x in args.limits.split(",")]
    tok = _tokenizer(args.tokenizer)
    splits = load_dialogsum(args.data)
    counts = {}
    for split in ("test", "validation"):
        if split not in splits:
            continue
        prompts = [build_prompt(d) for d in splits[split]["dialogue"]]
        counts[split] = {str(n): measure_inputs(prompts, tok, n).to_dict() for n in limits}
    result = {
        "data": args.data,
        "tokenizer": args.tokenizer,
        "prompt": "build_prompt",
        "counts": counts,
    }
    if not args.no_timing:
        runs = []
        for n in limits:
            cmd = [
                sys.executable,
                __file__,
                "--one",
                str(n),
                "--data",
                args.data,
                "--tokenizer",
                args.tokenizer,
                "--batch-size",
                str(args.batch_size),
                "--new-tokens",
                str(args.new_tokens),
                "--repeats",
                str(args.repeats),
                "--threads",
                str(args.threads),
            ]
            out = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                check=True,
                env=dict(os.environ, OMP_NUM_THREADS=str(args.threads)),
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        result["generation"] = {
            "model": "measuring.flan_t5_base_shaped_model (random weights, fp32, eager attention)",
            "device": "cpu",
            "threads": args.threads,
            "batch_size": args.batch_size,
            "new_tokens": args.new_tokens,
            "prompts": "the longest test prompts, truncated",
            "under_load": args.under_load,
            "runs": runs,
        }
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d")
    path = Path(args.out) / f"source_length_limits-cpu-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    result["path"] = str(path)
    print(f"written: {path}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()

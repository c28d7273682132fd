"""Evaluation throughput: the seed tutorial's one-at-a-time ``generate`` loop vs ``summarize``.

    python benchmarks/eval_throughput.py                 # GPU: flan-t5-base shape, bf16
    python benchmarks/eval_throughput.py --model tiny    # CPU smoke check
    python benchmarks/eval_throughput.py --tokenizer DIR --data DIR

Both generate exactly ``--new-tokens`` tokens per dialogue (min = max new tokens, so random
weights cannot stop early and both do the same work) from the same model in the same precision;
the only difference is batching with length sorting. The loop is timed on a random subset of the
dialogues (it is slow), ``summarize`` on all of them; the subset is drawn from the same
dialogues, so the per-example rates compare like with like. Prompt lengths come from Flan-T5's
own tokenizer when one is found (common.py), and the result records which tokenizer and what
lengths were used.
"""

from __future__ import annotations

import argparse
import random
import time

import common
import torch

from dialogsum_peft.data import build_prompt
from dialogsum_peft.generation import summarize
from dialogsum_peft.modeling import pick_dtype


@torch.inference_mode()
def one_at_a_time(model, tokenizer, dialogues, new_tokens, device):
    """The original tutorial's loop."""
    for d in dialogues:
        ids = tokenizer(build_prompt(d), return_tensors="pt", truncation=True, max_length=512).input_ids
        model.generate(input_ids=ids.to(device), min_new_tokens=new_tokens, max_new_tokens=new_tokens,
                       do_sample=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("base", "tiny"), default=None)
    parser.add_argument("--new-tokens", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=None, help="default: 128 on GPU, 16 on CPU")
    parser.add_argument("--loop-examples", type=int, default=None, help="default: 40 on GPU, 4 on CPU")
    parser.add_argument("--attn", default="eager",
                        help="attention implementation(s), comma-separated; the loop uses the first")
    common.add_common_arguments(parser)
    args = parser.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    on_gpu = device.type == "cuda"
    args.model = args.model or ("base" if on_gpu else "tiny")
    batch_size = args.batch_size or (128 if on_gpu else 16)
    pairs, rows, source = common.load_rows(args.data)
    tokenizer, tokenizer_info = common.load_tokenizer(args.tokenizer, pairs)
    dialogues = [r["dialogue"] for r in rows]
    dtype = pick_dtype(device)
    attns = [a for a in args.attn.split(",") if a]
    model = common.make_model(args.model, tokenizer, dtype, device, attn=attns[0]).eval()
    loop_n = min(len(dialogues), args.loop_examples or (40 if on_gpu else 4))
    subset = random.Random(0).sample(dialogues, loop_n)

    one_at_a_time(model, tokenizer, subset[:2], args.new_tokens, device)  # warm-up
    common.sync(device)
    t = time.perf_counter()
    one_at_a_time(model, tokenizer, subset, args.new_tokens, device)
    common.sync(device)
    loop_eps = loop_n / (time.perf_counter() - t)

    batched, peaks = {}, {}
    for attn in attns:
        if attn != attns[0]:
            del model
            model = common.make_model(args.model, tokenizer, dtype, device, attn=attn).eval()
        summarize(model, tokenizer, dialogues[:batch_size], batch_size=batch_size,  # warm-up
                  max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, progress=False)
        common.reset_peak(device)
        common.sync(device)
        t = time.perf_counter()
        summarize(model, tokenizer, dialogues, batch_size=batch_size, max_new_tokens=args.new_tokens,
                  min_new_tokens=args.new_tokens, progress=False)
        common.sync(device)
        batched[attn] = round(len(dialogues) / (time.perf_counter() - t), 2)
        peaks[attn] = round(common.peak_gib(device), 2) if on_gpu else None
    batched_eps = batched[attns[0]]

    dev = common.device_name(device)
    result = {
        "benchmark": "eval_throughput", "date": time.strftime("%Y-%m-%d"), "device": dev,
        "device_slug": common.slug(dev), "versions": common.versions(), "model": args.model,
        "dtype": str(dtype).replace("torch.", ""), "data": source, "tokenizer": tokenizer_info,
        # sources are the dialogues generated from; targets their reference summaries (the
        # generated length itself is fixed at new_tokens)
        "tokens": common.token_stats(tokenizer, dialogues, [ref for r in rows for ref in r["references"]]),
        "new_tokens": args.new_tokens,
        "loop_examples": loop_n, "batched_examples": len(dialogues), "batch_size": batch_size,
        "one_at_a_time_examples_per_s": round(loop_eps, 2),
        "attn": attns[0], "batched_examples_per_s": batched_eps,
        "speedup": round(batched_eps / loop_eps, 1),
        "batched_examples_per_s_by_attn": batched, "batched_peak_memory_gib_by_attn": peaks,
        "command": common.command_line("eval_throughput.py", argv),
    }
    path = common.write_result("eval_throughput", result, args.out)
    print(result)
    print(f"\n| {dev} | {source['name']} | tokenizer {tokenizer_info['name']} | {result['dtype']} | "
          f"{args.new_tokens} tokens | one at a time {loop_eps:.2f}/s | "
          f"batched ({batch_size}, sorted) {batched_eps:.1f}/s | {result['speedup']}x |  -> {path}")
    return result


if __name__ == "__main__":
    main()

"""Token lengths of the benchmark data: the figures benchmarks/README.md quotes, reproducibly.

    python benchmarks/token_lengths.py                  # ../shared data and tokenizer when present
    python benchmarks/token_lengths.py --tokenizer DIR --data DIR

Why: throughput and MFU depend on sequence length, so the README states the lengths its
figures were measured at; this prints them with the same data, tokenizer and prompt the two
benchmarks use (untruncated; ``over_limit`` counts what the 512/128-token limits cut).
"""

from __future__ import annotations

import argparse
import json

import common


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", default=None, help="DialogSum folder (default as in the benchmarks)"
    )
    parser.add_argument(
        "--tokenizer", default=None, help="tokenizer folder (default as in the benchmarks)"
    )
    args = parser.parse_args(argv)
    pairs, eval_rows, source = common.load_rows(args.data)
    tokenizer, tokenizer_info = common.load_tokenizer(args.tokenizer, pairs)
    summaries = [p["summary"] for p in pairs]
    dialogues = list(dict.fromkeys(p["dialogue"] for p in pairs))
    result = {
        "data": source,
        "tokenizer": tokenizer_info,
        "every_dialogue_and_reference": common.token_stats(tokenizer, dialogues, summaries),
        "train_throughput_pairs": common.token_stats(
            tokenizer, [p["dialogue"] for p in pairs], summaries
        ),
        "eval_throughput_test": common.token_stats(
            tokenizer,
            [r["dialogue"] for r in eval_rows],
            [s for r in eval_rows for s in r["references"]],
        ),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

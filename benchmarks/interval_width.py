"""How large a ROUGE difference 500 DialogSum test dialogues can resolve: measured on people.

    python benchmarks/interval_width.py            # needs ../shared/dialogsum (the real test file)

Why: a tutorial that prints "LoRA 0.41, full fine-tuning 0.42" should say whether a test set of
this size can tell such models apart. No model output is needed to measure the test set's own
spread: each test dialogue has three human summaries, so the first is scored as a "prediction"
against the other two (the 95% bootstrap interval of one system's corpus ROUGE), and the first
and second are compared against the third (the paired interval of a difference between two
writers whose errors are independent; two fine-tuned models of one base agree far more, which
narrows their paired interval). Intervals: :mod:`dialogsum_peft.intervals` (scipy's bootstrap,
1,000 resamples, "mean" protocol). Writes benchmarks/results/interval_width-<date>.json.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dialogsum_peft.intervals import difference_intervals, rouge_intervals  # noqa: E402
from dialogsum_peft.metrics import aggregate, score_pairs  # noqa: E402

TEST_FILE = ROOT.parent / "shared" / "dialogsum" / "dialogsum.test.jsonl"


def main() -> dict:
    if not TEST_FILE.is_file():
        sys.exit(f"error: {TEST_FILE} not found (the real DialogSum test file)")
    rows = [json.loads(line) for line in TEST_FILE.read_text(encoding="utf-8").splitlines()]
    first, second, third = ([r[f"summary{i}"] for r in rows] for i in (1, 2, 3))
    one = score_pairs(first, [[b, c] for b, c in zip(second, third)])
    vs_third_1 = score_pairs(first, [[c] for c in third])
    vs_third_2 = score_pairs(second, [[c] for c in third])
    single = rouge_intervals(one)["rouge1"]
    diff = difference_intervals(vs_third_1, vs_third_2)["rouge1"]
    result = {
        "what": "95% bootstrap intervals (1,000 resamples, 'mean' protocol) on the DialogSum "
        "test set's human summaries, ROUGE-1",
        "dialogues": len(rows),
        "one_system": {
            "score": aggregate(one)["rouge1"],
            "ci95": single.to_json(),
            "half_width_points": (single.high - single.low) / 2 * 100,
        },
        "paired_difference_independent_writers": {
            "difference": diff["difference"],
            "ci95": diff["ci95"].to_json(),
            "half_width_points": (diff["ci95"].high - diff["ci95"].low) / 2 * 100,
        },
    }
    out = ROOT / "benchmarks" / "results" / f"interval_width-{datetime.date.today():%Y%m%d}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The general device check: run on a lent GPU machine from the repository root (benchmarks/README.md):
# the previous default against the original tutorial's recipe and the worst-case peak memory,
# batched generation against the one-at-a-time loop, then the GPU-side tests. For the speed
# variants use gpu_speed_variants.sh. Stage .bench/ and .whl/ first (stage_gpu_inputs.sh).
set -u
cd "$(dirname "$0")/.."
source benchmarks/gpu_env.sh
timeout -k 5 "${TRAIN_TIMEOUT:-210}" python3 benchmarks/train_throughput.py --out "$OUT" --tokenizer "$TOKENIZER" \
  --deadline "${DEADLINE:-195}" --variants "${VARIANTS:-seed,peak,colab-peak}" > "$OUT/train.log" 2>&1
tail -n 8 "$OUT/train.log"
timeout -k 5 90 python3 benchmarks/eval_throughput.py --out "$OUT" --tokenizer "$TOKENIZER" --deadline 80 \
  --variants one-at-a-time --loop-examples 30 > "$OUT/eval.log" 2>&1
tail -n 5 "$OUT/eval.log"
timeout 60 python3 -m pytest -q -p no:cacheprovider tests/test_generation.py tests/test_trainer.py tests/test_adapters.py \
  tests/test_modeling.py 2>&1 | tail -5 | tee "$OUT/pytest.txt"

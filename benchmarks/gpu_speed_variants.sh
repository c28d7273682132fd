#!/usr/bin/env bash
# The speed variants, training and generation close to what the GPU can do: the one prepared
# device run, every variant side by side on one card against the `previous-default` row.
#
#   here first:  bash benchmarks/stage_gpu_inputs.sh
#                python -m pytest tests/test_benchmarks.py -q -p no:cacheprovider
#   device call: run(command="bash benchmarks/gpu_speed_variants.sh", carry=[".bench", ".whl"],
#                    timeout_s=420)
#
# Sized for about 8 minutes of device time in all: the machine's start (about 1 minute), set-up
# (wheels, checks; well under 45 s), training <= 245 s, generation <= 125 s. Each variant runs in its own process
# under its own deadline (train_throughput.py / eval_throughput.py --list), the whole script
# under --deadline, and the JSON results are rewritten after every variant, so a run cut short
# keeps what it measured. Everything lands in $OUT: the two JSON results, logs/ (one log per
# variant), speed-*.log, env.txt.
set -u
cd "$(dirname "$0")/.."
source benchmarks/gpu_env.sh
TRAIN_VARIANTS=${TRAIN_VARIANTS:-compile-pad128,workers4,sdpa,flex}
EVAL_VARIANTS=${EVAL_VARIANTS:-merged,merged-static,sdpa}
timeout -k 5 245 python3 benchmarks/train_throughput.py --out "$OUT" --tokenizer "$TOKENIZER" \
  --deadline 230 --variants "$TRAIN_VARIANTS" > "$OUT/speed-train.log" 2>&1
echo "train_throughput exit $?"; tail -n 9 "$OUT/speed-train.log"
timeout -k 5 125 python3 benchmarks/eval_throughput.py --out "$OUT" --tokenizer "$TOKENIZER" \
  --deadline 110 --variants "$EVAL_VARIANTS" > "$OUT/speed-eval.log" 2>&1
echo "eval_throughput exit $?"; tail -n 9 "$OUT/speed-eval.log"
ls "$OUT"

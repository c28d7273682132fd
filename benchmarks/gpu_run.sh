#!/usr/bin/env bash
# The one device check: run on a lent GPU machine from the repository root (benchmarks/README.md).
# Needs the DialogSum dev/test files in .bench/ (or ../shared/dialogsum), the Flan-T5 tokenizer
# in $TOKENIZER (default ../shared/flan-t5-tokenizer, else .bench/flan-t5-tokenizer) and, on a
# bare image, .whl/ (datasets, rouge_score and friends). Writes everything into $OUT.
set -u
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
if [ -z "${TOKENIZER:-}" ]; then
  TOKENIZER=../shared/flan-t5-tokenizer; [ -d "$TOKENIZER" ] || TOKENIZER=.bench/flan-t5-tokenizer
fi
# GPU minutes are scarce: never spend them on the stand-in tokenizer's shorter sequences.
if [ ! -f "$TOKENIZER/tokenizer_config.json" ]; then
  echo "gpu_run.sh: no Flan-T5 tokenizer in $TOKENIZER; set TOKENIZER=DIR (benchmarks/README.md)" >&2
  exit 2
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site:src || export PYTHONPATH=src
else
  export PYTHONPATH=src
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch,transformers,peft;print(torch.__version__,transformers.__version__,peft.__version__)"; } 2>&1 | tee "$OUT/env.txt"
timeout "${TRAIN_TIMEOUT:-210}" python3 benchmarks/train_throughput.py --out "$OUT" --tokenizer "$TOKENIZER" --deadline "${DEADLINE:-110}" \
  --variants "${VARIANTS:-peak-bs128,peak-bs64,default-bs64,default-sdpa,default-compile}" 2>&1 \
  | grep -v -i warn | tee "$OUT/train.log" | tail -12
timeout 90 python3 benchmarks/eval_throughput.py --out "$OUT" --tokenizer "$TOKENIZER" --attn eager,sdpa --loop-examples 30 2>&1 \
  | grep -v -i warn | tail -2
timeout 60 python3 -m pytest -q tests/test_generation.py tests/test_training.py tests/test_modeling.py 2>&1 \
  | tail -5 | tee "$OUT/pytest.txt"

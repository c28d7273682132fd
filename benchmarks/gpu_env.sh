# Sourced by gpu_run.sh and gpu_speed_variants.sh on a lent GPU machine, from the repository root.
# Refuses (exit 2, in seconds, before any device time goes to benchmarks) without the Flan-T5
# tokenizer, the DialogSum files or transformers >= 5.24; installs the wheels staged in .whl/
# (benchmarks/stage_gpu_inputs.sh); sets PYTHONPATH, TOKENIZER and OUT; writes $OUT/env.txt.
OUT=${OUT:-benchmarks/results}; mkdir -p "$OUT"
if [ -z "${TOKENIZER:-}" ]; then
  TOKENIZER=../shared/flan-t5-tokenizer; [ -d "$TOKENIZER" ] || TOKENIZER=.bench/flan-t5-tokenizer
fi
# GPU minutes are scarce: never spend them on the stand-in tokenizer's shorter sequences, nor on
# the project's 60-dialogue sample.
if [ ! -f "$TOKENIZER/tokenizer_config.json" ]; then
  echo "gpu_env.sh: no Flan-T5 tokenizer in $TOKENIZER; run benchmarks/stage_gpu_inputs.sh first" >&2
  exit 2
fi
if [ ! -f .bench/dialogsum.test.jsonl ] && [ ! -f ../shared/dialogsum/dialogsum.test.jsonl ]; then
  echo "gpu_env.sh: no DialogSum files in .bench/; run benchmarks/stage_gpu_inputs.sh first" >&2
  exit 2
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
export PYTHONPATH=src
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site:src
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import sys,torch,transformers,peft;print(sys.version.split()[0],torch.__version__,transformers.__version__,peft.__version__)"
} 2>&1 | tee "$OUT/env.txt"
python3 - <<'PY' || exit 2
import transformers
major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
if (major, minor) < (5, 24):
    raise SystemExit(f"gpu_env.sh: transformers {transformers.__version__} is older than 5.24 (the "
                     "argument names need it): stage .whl/ with benchmarks/stage_gpu_inputs.sh")
PY

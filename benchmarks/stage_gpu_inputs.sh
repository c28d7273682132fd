#!/usr/bin/env bash
# Run HERE, before the device call (the lent GPU machine gets only the working tree and reaches no
# network): copies the DialogSum files and the Flan-T5 tokenizer into .bench/ and downloads the
# wheels the GPU image may lack (transformers >= 5.24 and its close companions) into .whl/, both
# git-ignored; the device call carries them: carry [".bench", ".whl"] (64 MiB at most in all).
# GPU_PYTHON: the GPU image's Python (3.12 on the machines lent so far, env.txt says).
set -eu
SHARED=${SHARED:-../shared}
mkdir -p .bench .whl
cp "$SHARED"/dialogsum/dialogsum.*.jsonl .bench/
rm -rf .bench/flan-t5-tokenizer && cp -r "$SHARED"/flan-t5-tokenizer .bench/
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "${GPU_PYTHON:-3.12}" \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  -d .whl "transformers>=5.24,<6" "huggingface_hub>=1.0,<2" "tokenizers>=0.22,<0.24" \
  "safetensors>=0.4" "accelerate>=1.0,<2" "peft>=0.17,<1"
du -sh .bench .whl

#!/usr/bin/env bash
# Install what the tests need, then run them (offline: no Hub, no GPU needed).
#   bash scripts/test.sh            # whole suite
#   bash scripts/test.sh -k rouge   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -r requirements.txt
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
exec python3 -m pytest "$@"

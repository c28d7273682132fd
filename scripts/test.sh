#!/usr/bin/env bash
# Install what the tests need, then run them (offline: no Hub, no GPU needed).
#   bash scripts/test.sh            # whole suite
#   bash scripts/test.sh -k rouge   # extra arguments go to pytest
# The install (scripts/install.sh: a torch that fits the machine, then requirements-dev.txt) is
# skipped with DIALOGSUM_SKIP_INSTALL=1.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ "${DIALOGSUM_SKIP_INSTALL:-0}" == "1" ]] || bash scripts/install.sh
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
exec python3 -m pytest "$@"

#!/usr/bin/env bash
# Install what the tests need, check the code's lint and format (ruff), then run the tests
# (offline: no Hub, no GPU needed).
#   bash scripts/test.sh            # whole suite
#   bash scripts/test.sh -k rouge   # extra arguments go to pytest
# The install (scripts/install.sh: a torch that fits the machine, then requirements-dev.txt) is
# skipped with DIALOGSUM_SKIP_INSTALL=1.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ "${DIALOGSUM_SKIP_INSTALL:-0}" == "1" ]] || bash scripts/install.sh
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
python3 -m ruff check --quiet .           # lint: pyproject's [tool.ruff.lint]
python3 -m ruff format --check --quiet .  # the code as ruff formats it (ruff format . fixes it)
exec python3 -m pytest "$@"

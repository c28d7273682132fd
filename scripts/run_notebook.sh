#!/usr/bin/env bash
# The main job: install the requirements, then run the tutorial notebook top to bottom, headless.
#   bash scripts/run_notebook.sh                       # DIALOGSUM_MODE=auto (the default)
#   bash scripts/run_notebook.sh notebooks/peft_methods.ipynb   # the method comparison instead
#   DIALOGSUM_MODE=full  bash scripts/run_notebook.sh  # flan-t5-base + DialogSum from the Hub (GPU)
#   DIALOGSUM_MODE=smoke bash scripts/run_notebook.sh  # offline tiny model: checks the pipeline only
# auto = full when the Hugging Face Hub is reachable, otherwise the smoke path, announced by a loud
# banner in the notebook's outputs (smoke numbers are meaningless).
# The executed copy, with all outputs, is written to outputs/<name>.executed.ipynb (git-ignored);
# the committed notebook is never modified. Exits non-zero if any cell fails.
# The install (scripts/install.sh: a torch that fits the machine, then requirements-dev.txt) is
# skipped with DIALOGSUM_SKIP_INSTALL=1.
set -euo pipefail
cd "$(dirname "$0")/.."
notebook="${1:-notebooks/dialogsum_lora.ipynb}"
[[ -f "$notebook" ]] || { echo "error: no notebook at $notebook" >&2; exit 2; }
name="$(basename "$notebook" .ipynb)"
[[ "${DIALOGSUM_SKIP_INSTALL:-0}" == "1" ]] || bash scripts/install.sh
export DIALOGSUM_MODE="${DIALOGSUM_MODE:-auto}"
export MPLBACKEND="${MPLBACKEND:-Agg}" TOKENIZERS_PARALLELISM=false
# The notebook runs from notebooks/; make sure it imports this checkout's helpers.
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p outputs
# Say up front, loudly, whether this run is the real thing or the offline smoke path.
# auto is resolved once here (is the Hub reachable?) and the notebook gets the answer.
DIALOGSUM_MODE=$(python3 -c 'import sys
from dialogsum_peft.offline import resolve_mode
try:
    print(resolve_mode())
except ValueError as err:
    sys.exit(f"error: {err}")')
banner=""
[[ "$DIALOGSUM_MODE" == "smoke" ]] && banner=$(python3 -c 'from dialogsum_peft.offline import smoke_banner; print(smoke_banner())')
[[ -n "$banner" ]] && echo "$banner"
echo "running $notebook (DIALOGSUM_MODE=$DIALOGSUM_MODE) ..."
start=$SECONDS
# The kernel talks to nbconvert over IPC, local sockets in a private temporary folder: over TCP
# it warns that the traffic is unencrypted, a warning nobody running the notebook can act on.
# The path is absolute: jupyter_client's default is relative to a folder the kernel leaves.
sockets=$(mktemp -d)
trap 'rm -rf "$sockets"' EXIT
python3 -m jupyter nbconvert --to notebook --execute "$notebook" \
    --KernelManager.transport=ipc --KernelManager.ip="$sockets/ipc" \
    --ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.timeout=-1 \
    --output-dir outputs --output "$name.executed.ipynb"
echo "notebook finished in $((SECONDS - start)) s: outputs/$name.executed.ipynb"
[[ -n "$banner" ]] && echo "$banner"
exit 0

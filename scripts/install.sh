#!/usr/bin/env bash
# Install the requirements with a torch that fits the machine (both README commands run this).
#   bash scripts/install.sh                     # requirements-dev.txt: the notebooks' libraries + tooling
#   bash scripts/install.sh requirements.txt    # the notebooks' libraries only (what Colab installs)
# torch, decided before the requirements:
#   - already installed (Colab's, your own, CI's): kept as it is (pip is held to that version);
#   - missing, NVIDIA GPU (nvidia-smi on PATH): PyPI's default build, which brings CUDA;
#   - missing, no NVIDIA GPU: the CPU build from PyTorch's CPU wheel index, said in one line;
#     when that index cannot be reached, PyPI's default build, with a line saying what it costs.
# Environment: PYTHON (default python3); TORCH_CPU_INDEX_URL (default PyTorch's CPU index);
# DRY_RUN=1 makes every decision but prints the pip commands instead of running them.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements="${1:-requirements-dev.txt}"
[[ -f "$requirements" ]] || { echo "error: no requirements file at $requirements" >&2; exit 2; }
PYTHON="${PYTHON:-python3}"
TORCH_CPU_INDEX_URL="${TORCH_CPU_INDEX_URL:-https://download.pytorch.org/whl/cpu}"
pip=("$PYTHON" -m pip install -q --disable-pip-version-check)
# The torch range has one home, requirements.txt.
torch_spec=$(sed -n 's/#.*//; s/[[:space:]]//g; /^torch[<>=!~]/p' requirements.txt)

run() {
    if [[ "${DRY_RUN:-0}" == "1" ]]; then echo "+ $*"; else "$@"; fi
}

# Can pip read the index? (a simple index lists torch under <url>/torch/)
index_reachable() {
    "$PYTHON" - "$1" <<'EOF'
import os
import sys
import urllib.parse
import urllib.request

url = sys.argv[1].rstrip("/") + "/torch/"
if url.startswith("file:"):
    sys.exit(0 if os.path.isdir(urllib.parse.urlparse(url).path) else 1)
try:
    urllib.request.urlopen(url, timeout=15).close()
except Exception:
    sys.exit(1)
EOF
}

fallback() {
    echo "warning: PyTorch's CPU wheel index ($TORCH_CPU_INDEX_URL) $1: installing PyPI's" \
         "default torch instead, which on Linux is the CUDA build: about 5 GB more to download" \
         "and keep, unused without an NVIDIA GPU (set TORCH_CPU_INDEX_URL to a reachable copy of" \
         "the index, or install torch first, to avoid it)"
}

constraints=()
if installed=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null); then
    echo "torch $installed is installed: keeping it"
    pin=$(mktemp)
    trap 'rm -f "$pin"' EXIT
    echo "torch==$installed" > "$pin"
    constraints=(-c "$pin")
elif command -v nvidia-smi > /dev/null; then
    echo "torch: NVIDIA GPU found (nvidia-smi), installing PyPI's default (CUDA) build"
elif index_reachable "$TORCH_CPU_INDEX_URL"; then
    echo "torch: no NVIDIA GPU (no nvidia-smi), installing the CPU build from $TORCH_CPU_INDEX_URL"
    run "${pip[@]}" "$torch_spec" --index-url "$TORCH_CPU_INDEX_URL" || fallback "gave no torch"
else
    fallback "cannot be reached"
fi
run "${pip[@]}" "${constraints[@]}" -r "$requirements"

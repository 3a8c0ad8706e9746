#!/usr/bin/env bash
# Set up qa in ./.venv: the CPU build of PyTorch first, then qa and its test tools.
# Idempotent: a second run only checks that everything is installed.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
# torch==2.13.0 resolves to the CPU wheel on these machines; an unpinned torch
# would pull the newest CUDA build (gigabytes). Override with QA_TORCH=... elsewhere.
TORCH=${QA_TORCH:-torch==2.13.0}

if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet "$TORCH"
.venv/bin/python -m pip install --quiet -e '.[test]'
echo "qa is installed in .venv (run .venv/bin/qa --help)" >&2

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
# pip's notes about unusable index locations in this machine's pip configuration are noise.
quiet_pip() { .venv/bin/python -m pip install --quiet "$@" 2> >(grep -v "is ignored: it is neither a file" >&2); }
quiet_pip "$TORCH"
quiet_pip -e '.[test]'
echo "qa is installed in .venv (run .venv/bin/qa --help)" >&2

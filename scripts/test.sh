#!/usr/bin/env bash
# Install everything and run every check: lint, types, the whole test suite.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

bash scripts/services.sh

# GitHub's own signer, for tests/providers/test_github_octokit.py (run by node).
npm install --silent --no-audit --no-fund --no-save --prefix .cache/node @octokit/webhooks-methods@6.0.0

.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
.venv/bin/pytest "$@"

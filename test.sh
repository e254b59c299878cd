#!/usr/bin/env bash
# Set up (first time) and run the whole test suite. Any arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh test
export QT_QPA_PLATFORM=offscreen
# One worker per core (pytest-xdist), each taking whole files, longest first (tests/conftest.py orders them);
# pass "-n 0" to run in this process, e.g. when debugging one test.
exec .venv/bin/python -m pytest -n auto --dist loadfile --no-loadscope-reorder "$@"

#!/usr/bin/env bash
# Set up (first time) and run the whole test suite. Any arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh test,postgres
export QT_QPA_PLATFORM=offscreen
# Compiled modules are cached (__pycache__, ignored by git): with PYTHONDONTWRITEBYTECODE set in the environment
# every test process and every program started by a test compiled the program, the tests (pytest's assertion
# rewriting) and the migrations again, about half a second of CPU each.
unset PYTHONDONTWRITEBYTECODE
# One worker per core (pytest-xdist), each taking whole files, longest first (tests/conftest.py orders them);
# pass "-n 0" to run in this process, e.g. when debugging one test.
exec .venv/bin/python -m pytest -n auto --dist loadfile --no-loadscope-reorder "$@"

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
# On a fresh clone each of the two workers compiled the program's modules itself (1.3 s of CPU each): compiled once
# here instead (a few hundredths of a second when nothing changed). The tests' own modules are compiled by pytest's
# assertion rewriting, into files of its own.
.venv/bin/python -m compileall -q desktop >/dev/null
# One worker per core (pytest-xdist), each taking whole files, longest first (tests/conftest.py orders them by
# tests/file_seconds.json, which `./test.sh --store-file-seconds` rewrites from a run); pass "-n 0" to run in this
# process, e.g. when debugging one test.
exec .venv/bin/python -m pytest -n auto --dist loadfile --no-loadscope-reorder "$@"

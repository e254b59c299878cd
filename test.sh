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
# here instead (a few hundredths of a second when nothing changed).
.venv/bin/python -m compileall -q desktop >/dev/null
# Likewise the tests' modules with their asserts rewritten by pytest (tests/rewrite_once.py): each worker rewrote
# all of them itself on a fresh clone (about 4 s of CPU each).
.venv/bin/python tests/rewrite_once.py
# One worker per core (pytest-xdist), each taking whole files, longest first (tests/conftest.py orders them by
# tests/file_seconds.json, which `./test.sh --store-file-seconds` rewrites from a run); pass "-n 0" to run in this
# process, e.g. when debugging one test.
#
# The tests' scratch files (pytest's tmp_path and the temporary folder of every program they start) go to the RAM
# disk when the machine has one with room: each of the suite's thousands of SQLite commits otherwise waits for the
# disk's sync (3.2 ms a commit on this VM against 0.05 ms in RAM, with the worker's core idle meanwhile; four
# database-heavy test files took 48 s instead of 19 s). Nothing a test proves depends on the disk: a killed process
# leaves its writes in the page cache either way. The databases cached between runs (tests/views/test_no_freeze.py,
# tests/services/hostile_files.py) stay in the usual temporary folder. The scratch folder is removed after a run
# that passed and kept (its path printed) after one that failed. FANPIN_TEST_RAM=0 or an explicit --basetemp: as
# before. (The folder's name avoids "fanpin": failures.holders takes a command line with it for this program's.)
scratch=""
if [[ "${FANPIN_TEST_RAM:-1}" != 0 && " $* " != *" --basetemp"* && -d /dev/shm && -w /dev/shm ]] \
        && (( $(df -Pk /dev/shm | awk 'NR == 2 {print $4}') > 4 * 1024 * 1024 )); then
    export FANPIN_TEST_CACHE="${FANPIN_TEST_CACHE:-${TMPDIR:-/tmp}/fanpin-tests}"
    scratch="$(mktemp -d /dev/shm/pytest-scratch.XXXXXX)"
    mkdir "$scratch/tmp"
    export TMPDIR="$scratch/tmp"
fi
status=0
.venv/bin/python -m pytest -n auto --dist loadfile --no-loadscope-reorder ${scratch:+--basetemp "$scratch/pytest"} "$@" \
    || status=$?
if [[ -n "$scratch" ]]; then
    if (( status == 0 || status == 5 )); then rm -rf "$scratch"; else echo "测试的临时文件保留在 $scratch（在内存盘中，看完请删除）" >&2; fi
fi
exit "$status"

"""Rewrites the asserts of the test modules once, before test.sh starts the workers, into the cached files pytest
itself reads and writes (tests/**/__pycache__/*-pytest-<version>.pyc, checked against each file's source).

Each pytest-xdist worker imports every test module to collect it, and on a fresh clone (CI) found no rewritten
module cached: both rewrote all of them at once (pytest's assertion rewriting, about 4 s of CPU in each worker for
the ~110 modules), and the same again for every file changed since the last run. Done here once, the workers read
what this wrote. Only pytest's own functions rewrite and write (the same code, the same file, the same checks as in
a worker); a module already cached, or anything this cannot do, is left to pytest as before. Usage: python
tests/rewrite_once.py (from test.sh)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class _Ini:
    """The one setting of the run that changes rewritten code (pyproject.toml's [tool.pytest.ini_options])."""

    def __init__(self) -> None:
        options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        self.options = options.get("tool", {}).get("pytest", {}).get("ini_options", {})

    def getini(self, name: str):
        return self.options.get(name, False)


class _State:
    @staticmethod
    def trace(message: str) -> None:
        pass


def rewritten_modules(tests: Path) -> list[Path]:
    """What pytest rewrites when it collects tests/: its default python_files patterns, and conftest.py."""
    found = {*tests.rglob("test_*.py"), *tests.rglob("*_test.py"), *tests.rglob("conftest.py")}
    return sorted(f for f in found if "__pycache__" not in f.parts)


def main() -> int:
    if sys.dont_write_bytecode:
        return 0
    try:
        from _pytest.assertion import rewrite
    except ImportError:
        return 0
    ini = _Ini()
    if "python_files" in ini.options:
        return 0  # other patterns than the defaults: left to pytest
    for fn in rewritten_modules(ROOT / "tests"):
        try:
            cache_dir = rewrite.get_cache_dir(fn)
            pyc = cache_dir / (fn.name[:-3] + rewrite.PYC_TAIL)
            if rewrite._read_pyc(fn, pyc) is not None:
                continue  # cached and current: pytest reads it
            if not rewrite.try_makedirs(cache_dir):
                return 0
            source_hash, code = rewrite._rewrite_test(fn, ini)
            rewrite._write_pyc(_State(), code, source_hash, pyc)
        except Exception:  # pytest rewrites it itself then
            continue
    return 0


if __name__ == "__main__":
    sys.exit(main())

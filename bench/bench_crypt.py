"""What encryption at rest costs at county scale (issues 15 and 20): import, assess and check on the same data, on a
plain SQLite database as before encryption and on the encrypted one the program now makes. Limit: every figure
within 15% of the plain one (the import floor stays plain SQLite).

    .venv/bin/python bench/bench_crypt.py --source bench/out/src20k.sqlite3          # median of 3
    .venv/bin/python bench/bench_crypt.py --source bench/out/bench_register.sqlite3 --repeat 3 --json out.json

The source is a demo database (`bench/bench_register.py --build-only --households N --db PATH`, plain or
encrypted); it is never changed. From it: a plain copy and an encrypted copy (converted by the program's own
log-in conversion, services/convert.py) of the same rows, and the source exported once as an exchange workbook.

Modes, each run in its own process:
- `plain`: plain SQLite through Python's own sqlite3 module, as the program ran before encryption;
- `plain-sqlcipher`: plain SQLite through the sqlcipher3 module with no key (only to tell the cost of the other
  SQLite build from the cost of the cipher);
- `encrypted`: the program as it is (SQLCipher 4, raw data key).
For each of --repeat runs, the modes in turn (their order rotates from run to run): import the workbook into a
fresh database (preview + apply + commit), assess (computed, not cached) and check over the source copy.
Each figure is the median of the runs, as wall time and as the CPU time of the process (user + sys, the steadier
figure on a shared machine; the 15% is judged on it). The machine's load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_exchange import AS_OF, _fresh, _rss_mb  # noqa: E402
from bench.users import ADMIN, PASSWORD, login, open_db  # noqa: E402

WORK = ROOT / "bench" / "out" / "crypt"
MODES = ("plain", "plain-sqlcipher", "encrypted")
LIMIT = 1.15


def _mode(mode: str) -> None:
    """Set up this (child) process for a mode before anything opens a database."""
    if mode == "encrypted":
        os.environ.pop("FANPIN_BENCH_PLAIN", None)
        return
    os.environ["FANPIN_BENCH_PLAIN"] = "1"
    if mode == "plain":
        from desktop.services import keys
        keys.dbapi = lambda: sqlite3  # the program's engines and connections through Python's own SQLite


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


# ---------------------------------------------------------------- steps (each in a child process)

def step_import(mode: str, source: Path, target: Path, xlsx: Path) -> dict:
    from desktop.services import exchange
    for suffix in ("", "-wal", "-shm", ".keys", ".guard"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(target.parent / "backups", ignore_errors=True)
    year = _fresh(source, target)
    db = open_db(target)
    with db.session(login(db)) as s:
        c, t = _cpu(), time.perf_counter()
        pv = exchange.preview(s, xlsx, year)
        if not pv.ok:
            raise SystemExit(f"file rejected: {pv.error_count} errors")
        r = exchange.apply(s, pv, as_of=AS_OF, check=False, take_backup=False)
        s.commit()
        out = dict(seconds=time.perf_counter() - t, cpu=_cpu() - c, households=r.households_new)
    db.dispose()
    return out | dict(rss_mb=_rss_mb())


def step_rules(mode: str, path: Path) -> dict:
    from desktop.services import assess, checks
    db = open_db(path)
    out = {}
    with db.session(login(db)) as s:
        for name, fn in (("assess", lambda: assess.assess(s, 2024, AS_OF)),
                         ("check", lambda: checks.run_checks(s, 2024, AS_OF))):
            c, t = _cpu(), time.perf_counter()
            rows = fn()
            out[name] = dict(seconds=time.perf_counter() - t, cpu=_cpu() - c, rows=len(rows))
    db.dispose()
    return out | dict(rss_mb=_rss_mb())


def step_prepare(source: Path) -> dict:
    """The plain and the encrypted copy of the source (same rows), and the workbook the imports read."""
    from desktop.services import exchange, keys, opening
    plain, enc = WORK / "plain.sqlite3", WORK / "encrypted.sqlite3"
    for p in (plain, enc):
        for suffix in ("", "-wal", "-shm", keys.KEY_SUFFIX, keys.GUARD_SUFFIX):
            Path(f"{p}{suffix}").unlink(missing_ok=True)
    if keys.is_plain(source):
        a, b = sqlite3.connect(source), sqlite3.connect(plain)
        try:
            a.backup(b)
        finally:
            a.close()
            b.close()
    else:
        con = keys.connect(source, keys.unlock(source, ADMIN, PASSWORD), "ro")
        try:
            con.execute(f"ATTACH DATABASE '{plain}' AS plain KEY ''")
            con.execute("SELECT sqlcipher_export('plain')")
            con.execute("DETACH DATABASE plain")
        finally:
            con.close()
    os.environ["FANPIN_BENCH_PLAIN"] = "1"
    open_db(plain).dispose()  # migrated to the newest schema, as the plain runs find it
    os.environ.pop("FANPIN_BENCH_PLAIN")
    shutil.copyfile(plain, enc)
    opened = opening.log_in(enc, ADMIN, PASSWORD)  # the program's own conversion of a plain database
    db = opened.db
    with db.session(opened.user) as s:
        xlsx = WORK / "register.xlsx"
        r = exchange.export_workbook(s, xlsx, 2024)
    db.dispose()
    shutil.rmtree(WORK / "backups", ignore_errors=True)
    return dict(households=r.households, members=r.members, size_mb=plain.stat().st_size / 2**20)


def child(step: str, *args) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--step", step, *map(str, args)], stdout=subprocess.PIPE,
                          text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"step {step} {args} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the run

def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def table(info: dict, runs: dict, loads: tuple[str, str]) -> str:
    med = statistics.median
    lines = [f"{info['households']:,} households, {info['members']:,} members; median of {len(runs['plain'])} "
             f"runs; load average (1, 5, 15 min) before {loads[0]}, after {loads[1]}", "",
             "| operation | plain wall / CPU | plain (sqlcipher3, no key) wall / CPU | encrypted wall / CPU "
             "| encrypted / plain wall, CPU | ≤ 1.15 × |", "| --- | --- | --- | --- | --- | --- |"]
    for op in ("import", "assess", "check"):
        fig = {m: (med(r[op]["seconds"] for r in runs[m]), med(r[op]["cpu"] for r in runs[m])) for m in MODES}
        rw, rc = fig["encrypted"][0] / fig["plain"][0], fig["encrypted"][1] / fig["plain"][1]
        cells = " | ".join(f"{fig[m][0]:.2f} / {fig[m][1]:.2f} s" for m in MODES)
        lines.append(f"| {op} | {cells} | {rw:.2f}, {rc:.2f} × | {'✓' if rc <= LIMIT else '✗'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="The cost of encryption at rest at county scale")
    p.add_argument("--source", type=Path, default=ROOT / "bench" / "out" / "bench_register.sqlite3")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", type=Path)
    p.add_argument("--step", help=argparse.SUPPRESS)
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.step:
        if a.step == "prepare":
            print(json.dumps(step_prepare(Path(a.args[0]))))
            return 0
        mode, *paths = a.args
        _mode(mode)
        fn = {"import": step_import, "rules": step_rules}[a.step]
        print(json.dumps(fn(mode, *map(Path, paths))))
        return 0
    if not a.source.exists():
        raise SystemExit(f"{a.source} is missing: build it with bench/bench_register.py --build-only")
    WORK.mkdir(parents=True, exist_ok=True)
    before = _load()
    print(f"preparing the plain and the encrypted copy of {a.source} … (load {before})", file=sys.stderr, flush=True)
    info = child("prepare", a.source)
    runs: dict[str, list] = {m: [] for m in MODES}
    for k in range(a.repeat):
        order = MODES[k % len(MODES):] + MODES[:k % len(MODES)]
        for mode in order:
            print(f"run {k + 1}/{a.repeat} {mode} … (load {_load()})", file=sys.stderr, flush=True)
            data = WORK / ("encrypted.sqlite3" if mode == "encrypted" else "plain.sqlite3")
            target = WORK / mode / "imported.sqlite3"
            target.parent.mkdir(exist_ok=True)
            r = child("import", mode, data, target, WORK / "register.xlsx")
            rules = child("rules", mode, data)
            runs[mode].append(dict(rules, **{"import": r}))
    print(table(info, runs, (before, _load())))
    if a.json:
        a.json.write_text(json.dumps(dict(info=info, runs=runs), indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

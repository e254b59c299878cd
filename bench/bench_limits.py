"""Every operation at county scale against its limit (issue 20), in one run: the figures of the README's table.

    .venv/bin/python bench/bench_limits.py          # bench/out/bench_register.sqlite3 (100,000 households)
    .venv/bin/python bench/bench_limits.py --source bench/out/src20k.sqlite3 --repeat 3
    .venv/bin/python bench/bench_limits.py --only program --json bench/out/limits.json
    .venv/bin/python bench/bench_limits.py --only national --cases new --repeat 1 --reuse --no-assess

The source (a demo database: `bench/bench_register.py --build-only --households N --db PATH`) is never changed.
It is exported in both layouts — ours (SPEC §9) and the national 监测对象信息 (§9.1). Then, for each layout:

- floor: read the same file with python-calamine and insert its rows with plain sqlite3 executemany;
- import into a fresh database (preview + apply + commit);
- re-import of the same file into that database (nothing changed: nothing written);
- re-import after 10% of the households were changed in the database (phone, every member's name, income
  lines): the import compares everything and writes those households back, with their audit entries.

Then assess over the imported register (the fast path, not cached; and once more from the cache) and the export.
Each run is a child process (its peak RSS is its own); each figure is the median of --repeat runs; the floor is
measured in the same run as the imports it is compared with. Limits: import ≤ 2 × floor, re-import ≤ 20 s
(unchanged) and ≤ 30 s (10% changed), assess ≤ 3 s, peak RSS ≤ 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_exchange import AS_OF, REGISTER_DB, _copy_db, _fresh, _rss_mb, step_baseline  # noqa: E402
from bench.users import ADMIN, PASSWORD, login, open_db  # noqa: E402

WORK = ROOT / "bench" / "out" / "limits"
LIMITS = {"ratio": 2.0, "reimport": 20.0, "reimport10": 30.0, "assess": 3.0, "rss_mb": 1024}


# ---------------------------------------------------------------- steps (each in a child process)

def step_export(source: Path, xlsx: Path, layout: str) -> dict:
    from desktop.services import exchange
    db = open_db(source)
    with db.session(login(db)) as s:
        t = time.perf_counter()
        fn = exchange.export_national if layout == "national" else exchange.export_workbook
        r = fn(s, xlsx, 2024)
        elapsed = time.perf_counter() - t
    return dict(seconds=elapsed, households=r.households, members=r.members, rss_mb=_rss_mb())


def step_import(source: Path, target: Path, xlsx: Path, fresh: str) -> dict:
    from desktop.services import exchange
    if fresh == "fresh":
        _fresh(source, target)
    db = open_db(target)
    with db.session(login(db)) as s:
        c0 = time.process_time()
        m0 = time.thread_time()
        t0 = time.perf_counter()
        pv = exchange.preview(s, xlsx, 2024)
        t1 = time.perf_counter()
        if not pv.ok:
            raise SystemExit(f"file rejected: {pv.error_count} errors, e.g. {[e.text() for e in pv.errors[:3]]}")
        r = exchange.apply(s, pv, as_of=AS_OF, check=False, take_backup=False)
        t2 = time.perf_counter()
        s.commit()
        t3 = time.perf_counter()
        cpu = time.process_time() - c0
        main = time.thread_time() - m0  # this thread's own CPU (calamine parses on another: reader.Book.prefetch)
    db.dispose()
    return dict(seconds=t3 - t0, cpu=cpu, main=main, load=os.getloadavg()[0],
                preview=t1 - t0, apply=t2 - t1, commit=t3 - t2, new=r.households_new,
                updated=r.households_updated, changed_fields=r.changed_fields, rss_mb=_rss_mb())


def step_assess(db_path: Path) -> dict:
    from desktop.services import assess, dataversion
    db = open_db(db_path)
    with db.session(login(db)) as s:
        c = time.process_time()
        t = time.perf_counter()
        rows = assess.assess(s, 2024, AS_OF)  # computed (a new process: nothing cached)
        first = time.perf_counter() - t
        cpu = time.process_time() - c
        t = time.perf_counter()
        assess.assess(s, 2024, AS_OF)
        cached = time.perf_counter() - t
        assert dataversion.stats["hits"] == 1
    return dict(seconds=first, cpu=cpu, cached=cached, households=len(rows), rss_mb=_rss_mb())


def step_floor(xlsx: Path, target: Path) -> dict:
    c = time.process_time()
    out = step_baseline(xlsx, target)
    out["cpu"] = time.process_time() - c
    return out


STEPS = {"export": step_export, "import": step_import, "assess": step_assess, "floor": step_floor}


def child(step: str, *args) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--step", step, *map(str, args)], stdout=subprocess.PIPE,
                          text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _connect(path: Path):
    """A DB-API connection to a benchmark database, encrypted (keyed through the demo log-in) or plain."""
    from desktop.services import keys
    key = None if keys.is_plain(path) else keys.unlock(path, ADMIN, PASSWORD)
    return keys.connect(path, key)


def change_tenth(path: Path) -> None:
    """10% of the households changed in the register since the import — phone, every member's name, every income
    line — written as the program writes: in a logged-in session, with an audit entry for each changed row naming
    its household (a re-import reads such households again; exchange/fingerprint.py). (Written behind the program's
    back, with no entry, a change would not be seen by the re-import's shortcut.)"""
    from sqlalchemy import text

    from desktop.services import audit
    db = open_db(path)
    try:
        with db.session(login(db)) as s:
            entries = []
            for table, sql in (("household", "SELECT id, id FROM household WHERE id % 10 = 0"),
                               ("member", "SELECT id, household_id FROM member WHERE household_id % 10 = 0"),
                               ("income_line", "SELECT l.id, r.household_id FROM income_line l JOIN income_record r "
                                               "ON r.id = l.record_id WHERE r.household_id % 10 = 0")):
                for rid, hid in s.execute(text(sql)):
                    entries.append(dict(user=ADMIN, action="update", table_name=table, record_id=rid,
                                        household_id=hid, field="bench", old=None, new="10%"))
            s.execute(text("UPDATE household SET phone = '10000000000' WHERE id % 10 = 0"))
            s.execute(text("UPDATE member SET name = name || '改' WHERE household_id % 10 = 0"))
            s.execute(text("UPDATE income_line SET amount = amount + 10000 WHERE record_id IN "
                           "(SELECT id FROM income_record WHERE household_id % 10 = 0)"))
            audit.append(s, entries)
            s.commit()
    finally:
        db.dispose()


def median(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def peak(runs: list[dict]) -> float:
    return max(r["rss_mb"] for r in runs)


# ---------------------------------------------------------------- the run

CASES = ("new", "same", "tenth")


def run_layout(layout: str, source: Path, repeat: int, cases: tuple[str, ...] = CASES, reuse: bool = False) -> dict:
    xlsx = WORK / f"{layout}.xlsx"
    export = None
    if reuse and xlsx.exists():
        print(f"[{layout}] reusing {xlsx}", file=sys.stderr, flush=True)
    else:
        print(f"[{layout}] export …", file=sys.stderr, flush=True)
        export = child("export", source, xlsx, layout)
    floors, news, same, tenth = [], [], [], []
    target = WORK / f"{layout}.sqlite3"
    for k in range(repeat):
        print(f"[{layout}] run {k + 1}/{repeat}: floor, {', '.join(cases)} …", file=sys.stderr, flush=True)
        floors.append(child("floor", xlsx, WORK / "floor.sqlite3"))
        news.append(child("import", source, target, xlsx, "fresh"))  # the re-imports need it
        if "same" in cases:
            same.append(child("import", source, target, xlsx, "again"))
        if "tenth" in cases:
            change_tenth(target)
            tenth.append(child("import", source, target, xlsx, "again"))
    return dict(layout=layout, export=export, floor=floors, new=news, same=same, tenth=tenth,
                target=str(target))


def table(results: list[dict], assessed: list[dict] | None, households: int) -> str:
    """The import's limit is judged on the wall ratio: what the clerk waits for, on an idle machine. The import uses
    a second core (calamine parses on a thread of its own while the importer's thread scans and converts: reader.Book
    .prefetch), so its process CPU can exceed its wall time, and the CPU ratio — shown beside it, with the importer's
    own thread's CPU, the critical path when the machine is idle — is no longer what the clerk waits for. Wall time is
    only meaningful on an idle machine: the load average of the runs is printed with the table."""
    ok = {True: "✓", False: "✗"}
    loads = [r["load"] for res in results for key in ("new", "same", "tenth") for r in res[key] if "load" in r]
    load = f"{min(loads):.1f}–{max(loads):.1f}" if loads else "?"
    lines = [f"{households:,} households; median of {len(results[0]['new'])} runs; floor = calamine read + sqlite3 "
             "executemany of the same file, one thread, measured in the same run",
             f"judged: the wall ratio (the clerk's wait on an idle 2-core PC); load average during the imports {load} "
             "(above ~1.5 the wall times say little: compare the CPU columns)", "",
             "| operation | wall | CPU process / main thread | floor wall / CPU | ratio wall (judged) / CPU "
             "| peak RSS | limit |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        name = "本程序格式" if r["layout"] == "program" else "全国系统格式"
        fw, fc = median(r["floor"]), median(r["floor"], "cpu")
        for key, what, limit in (("new", "导入到新数据库", None),
                                 ("same", "同一文件再次导入（无变化）", LIMITS["reimport"]),
                                 ("tenth", "再次导入，10% 的户有变化", LIMITS["reimport10"])):
            if not r[key]:
                continue
            t, c = median(r[key]), median(r[key], "cpu")
            main = median(r[key], "main") if all("main" in x for x in r[key]) else c
            rw, rc = t / fw, c / fc
            rss = peak(r[key])
            good = rw <= LIMITS["ratio"] and rss <= LIMITS["rss_mb"]
            lim = f"≤ {LIMITS['ratio']:.0f} ×, ≤ 1 GB"
            if limit is not None:
                good = good and t <= limit
                lim = f"≤ {limit:.0f} s, " + lim
            lines.append(f"| {name}：{what} | {t:.1f} s | {c:.1f} / {main:.1f} s | {fw:.1f} / {fc:.1f} s "
                         f"| {rw:.2f} / {rc:.2f} × | {rss:.0f} MB | {lim} {ok[good]} |")
        e = r["export"]
        if e is not None:
            lines.append(f"| {name}：导出 | {e['seconds']:.1f} s | | | | {e['rss_mb']:.0f} MB | ≤ 1 GB "
                         f"{ok[e['rss_mb'] <= LIMITS['rss_mb']]} |")
        lines.append(f"| {name}：floor | {fw:.1f} s | {fc:.1f} s | | | {peak(r['floor']):.0f} MB | |")
    if assessed:
        t, c = median(assessed), median(assessed, "cpu")
        rss = peak(assessed)
        lines.append(f"| assess（全部户，计算） | {t:.2f} s | {c:.2f} s | | | {rss:.0f} MB | ≤ 3 s, ≤ 1 GB "
                     f"{ok[c <= LIMITS['assess'] and rss <= LIMITS['rss_mb']]} |")
        lines.append(f"| assess（数据未变，取缓存） | {median(assessed, 'cached'):.3f} s | | | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="County-scale limits (issue 20)")
    p.add_argument("--source", type=Path, default=REGISTER_DB)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--only", choices=("program", "national"), help="one layout only")
    p.add_argument("--cases", default=",".join(CASES),
                   help="imports timed, comma-separated: new (always), same (unchanged), tenth (10%% changed)")
    p.add_argument("--reuse", action="store_true", help="use the exported workbooks of a previous run if there")
    p.add_argument("--no-assess", action="store_true", help="skip assess")
    p.add_argument("--json", type=Path)
    p.add_argument("--step", help=argparse.SUPPRESS)
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.step:
        args = [Path(x) for x in a.args]
        if a.step == "export":
            args = [Path(a.args[0]), Path(a.args[1]), a.args[2]]
        elif a.step == "import":
            args = [Path(x) for x in a.args[:3]] + [a.args[3]]
        print(json.dumps(STEPS[a.step](*args)))
        return 0
    if not a.source.exists():
        raise SystemExit(f"{a.source} is missing: build it with bench/bench_register.py --build-only")
    global WORK
    WORK = WORK.with_name(f"limits-{a.source.stem}")  # one folder a source: --reuse takes its own files
    WORK.mkdir(parents=True, exist_ok=True)
    source = WORK / "source.sqlite3"
    _copy_db(a.source, source)
    started = time.perf_counter()
    cases = tuple(c for c in a.cases.split(",") if c)
    results = [run_layout(layout, source, a.repeat, cases, a.reuse) for layout in ("program", "national")
               if a.only in (None, layout)]
    assessed = None
    if not a.no_assess:
        print("assess …", file=sys.stderr, flush=True)
        assessed = [child("assess", results[0]["target"]) for _ in range(a.repeat)]
    con = _connect(source)
    households = con.execute("SELECT count(*) FROM household").fetchone()[0]
    con.close()
    print(table(results, assessed, households))
    print(f"\n(whole run {time.perf_counter() - started:.0f} s, {date.today()})")
    if a.json:
        a.json.write_text(json.dumps(dict(results=results, assess=assessed), indent=2), encoding="utf-8")
    shutil.rmtree(WORK / "backups", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

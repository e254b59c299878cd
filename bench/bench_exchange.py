"""Excel exchange benchmark at county scale (SPEC §9, §13): export of the 100,000-household demo,
import of that file into a fresh database, and the baseline the import is held to — reading the
same file with python-calamine plus inserting its rows with plain sqlite3 executemany.

    .venv/bin/python bench/bench_exchange.py                  # uses bench/out/bench_register.sqlite3 (copied)
    .venv/bin/python bench/bench_exchange.py --households 20000 --source /tmp/s.sqlite3
    .venv/bin/python bench/bench_exchange.py --json bench/out/exchange.json --update
    .venv/bin/python bench/bench_exchange.py --update --pg postgresql+psycopg://…   # the county edition too

With --pg, the same file is also imported into that PostgreSQL database (emptied first: every table of its
public schema is dropped), imported again (updates), and exported back from it: the county edition's figures
beside SQLite's, with their ratios.

The source database is never modified: it is copied first (or built with `python -m desktop demo`
when it is not there). Each step runs in its own process, so each peak-RSS figure is that step's.
Targets: export ≤ 60 s, import ≤ 3 × baseline, peak RSS ≤ 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
REGISTER_DB = OUT / "bench_register.sqlite3"
WORK = OUT / "exchange"
AS_OF = date(2024, 10, 31)
TARGETS = {"export": 60.0, "ratio": 3.0, "rss_mb": 1536}

from bench.users import copy_db, create_admin, login, open_db  # noqa: E402 - after the path is set


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _copy_db(src: Path, dst: Path) -> None:
    copy_db(src, dst)


def build_source(path: Path, households: int) -> None:
    """A demo database of `households` households, built as bench_register.py builds its own: the township,
    the year's settings and the demo administrator first (a new database has no user, and every service asks
    who acts), then the demo. Runs in a child process."""
    subprocess.run([sys.executable, str(ROOT / "bench" / "bench_register.py"), "--build-only", "--db", str(path),
                    "--households", str(households)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


# ---------------------------------------------------------------- steps (each in a child process)

def step_export(db_path, xlsx: Path) -> dict:
    from desktop.services import exchange, settings
    db = open_db(db_path)
    with db.session(login(db)) as s:
        year = settings.current_year(s)
        t, c = time.perf_counter(), time.process_time()
        r = exchange.export_workbook(s, xlsx, year)
        elapsed, cpu = time.perf_counter() - t, time.process_time() - c
    return dict(seconds=elapsed, cpu=cpu, size_mb=r.size / 2**20, households=r.households, members=r.members,
                measures=r.measures, income_lines=r.income_lines, year=year, rss_mb=_rss_mb())


def _is_server(location) -> bool:
    return isinstance(location, str) and location.startswith("postgresql")


def _location(arg: str):
    """A step's argument: a PostgreSQL URL as it is (a Path would fold its '//'), anything else a path."""
    return arg if _is_server(arg) else Path(arg)


def _empty_server(url: str) -> None:
    """The county database emptied for a fresh import: its public schema dropped and made again."""
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _fresh(source: Path, target) -> int:
    """A new database with the source's township and year settings. Returns the year."""
    from desktop.services import regions, settings
    if _is_server(target):
        _empty_server(target)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    src = open_db(source)
    with src.session(login(src)) as s:
        tw = regions.township(s)
        year = settings.current_year(s)
        ys = settings.get_year(s, year)
    src.dispose()
    db = open_db(target)
    with db.session(bootstrap="bench") as s:  # the first run of the new database
        regions.init_township(s, tw.name, tw.county, tw.city, tw.province)
        settings.set_year(s, year, monitoring_line=ys.monitoring_line)
        settings.set_current_year(s, year)
        s.commit()
    create_admin(db)
    db.dispose()
    return year


def step_import(source: Path, target, xlsx: Path, fresh: bool = True) -> dict:
    from desktop.services import exchange, settings
    year = _fresh(source, target) if fresh else None
    db = open_db(target)
    with db.session(login(db)) as s:
        year = year or settings.current_year(s)
        t0, c0 = time.perf_counter(), time.process_time()
        pv = exchange.preview(s, xlsx, year)
        t1 = time.perf_counter()
        if not pv.ok:
            raise SystemExit(f"file rejected: {pv.error_count} errors, e.g. {pv.errors[:3]}")
        result = exchange.apply(s, pv, as_of=AS_OF, check=False)
        t2 = time.perf_counter()
        s.commit()
        t3 = time.perf_counter()
        findings, note = exchange.findings_for(s, year, AS_OF, result.household_numbers)
        t4 = time.perf_counter()
    return dict(seconds=t3 - t0, cpu=time.process_time() - c0, preview=t1 - t0, apply=t2 - t1, commit=t3 - t2,
                checks=t4 - t3,
                findings=len(findings), households_new=result.households_new,
                households_updated=result.households_updated, members=result.members_new + result.members_updated,
                changed_fields=result.changed_fields, rss_mb=_rss_mb())


def step_baseline(xlsx: Path, target: Path) -> dict:
    """Read every sheet of the file with calamine, insert its rows with plain sqlite3 executemany."""
    from python_calamine import CalamineWorkbook
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    sqlite3.register_adapter(date, date.isoformat)
    t0 = time.perf_counter()
    conn = sqlite3.connect(target)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    wb = CalamineWorkbook.from_path(str(xlsx))
    rows_total = 0
    read_s = insert_s = 0.0
    for i, name in enumerate(wb.sheet_names):
        t = time.perf_counter()
        sheet = wb.get_sheet_by_name(name)
        rows = sheet.to_python()
        del sheet
        read_s += time.perf_counter() - t
        if not rows:
            continue
        width = max(len(r) for r in rows)
        t = time.perf_counter()
        conn.execute(f"CREATE TABLE t{i} ({', '.join(f'c{j}' for j in range(width))})")
        conn.executemany(f"INSERT INTO t{i} VALUES ({', '.join('?' * width)})",
                         (list(r) + [None] * (width - len(r)) for r in rows[1:]))
        insert_s += time.perf_counter() - t
        rows_total += len(rows) - 1
        del rows
    t = time.perf_counter()
    conn.commit()
    conn.close()
    insert_s += time.perf_counter() - t
    return dict(seconds=time.perf_counter() - t0, read=read_s, insert=insert_s, rows=rows_total, rss_mb=_rss_mb())


STEPS = {"export": step_export, "import": step_import, "baseline": step_baseline}


def child(step: str, *args) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--step", step, *map(str, args)], stdout=subprocess.PIPE,
                          text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report

def _ok(value: float, target: float) -> str:
    return "✅" if value <= target else "❌"


def report(src_info: str, e: dict, i: dict, b: dict, u: dict | None) -> str:
    ratio = i["seconds"] / b["seconds"]
    peak = max(e["rss_mb"], i["rss_mb"])
    lines = [f"Source: {src_info}: {e['households']:,} households, {e['members']:,} members, "
             f"{e['measures']:,} measures, {e['income_lines']:,} income lines of {e['year']}.", "",
             "| measure | value | target | |", "| --- | --- | --- | --- |",
             f"| export (services.exchange.export_workbook) | {e['seconds']:.1f} s | ≤ 60 s | "
             f"{_ok(e['seconds'], TARGETS['export'])} |",
             f"| exported file size | {e['size_mb']:.1f} MB | | |",
             f"| import into a fresh database (preview + apply + commit) | {i['seconds']:.1f} s | ≤ 3 × baseline | "
             f"{_ok(ratio, TARGETS['ratio'])} |",
             f"| … preview (read with calamine, check every cell) | {i['preview']:.1f} s | | |",
             f"| … apply (backup, Core inserts) + commit | {i['apply'] + i['commit']:.1f} s | | |",
             f"| baseline: calamine read + sqlite3 executemany of the same rows | {b['seconds']:.1f} s "
             f"(read {b['read']:.1f} s, insert {b['insert']:.1f} s, {b['rows']:,} rows) | | |",
             f"| import / baseline | {ratio:.2f} × | ≤ 3 × | {_ok(ratio, TARGETS['ratio'])} |",
             f"| data-quality checks of the imported households (after commit) | {i['checks']:.1f} s "
             f"({i['findings']:,} findings) | | |",
             f"| peak RSS, export process | {e['rss_mb']:.0f} MB | ≤ 1.5 GB | {_ok(e['rss_mb'], TARGETS['rss_mb'])} |",
             f"| peak RSS, import process | {i['rss_mb']:.0f} MB | ≤ 1.5 GB | {_ok(i['rss_mb'], TARGETS['rss_mb'])} |",
             f"| peak RSS, baseline process | {b['rss_mb']:.0f} MB | | |"]
    if u is not None:
        lines.append(f"| re-import of the same file (every household updated, ORM, audited) | {u['seconds']:.1f} s "
                     f"({u['changed_fields']} field changes) | | |")
    del peak
    return "\n".join(lines)


def report_server(e: dict, i: dict, u: dict | None, pg: dict) -> str:
    """PostgreSQL beside SQLite: wall time, CPU time of the program's process (the server's own work is not in
    it), peak RSS, and the ratio of wall times."""
    rows = [("import into an empty database", i, pg["import_"]), ("export", e, pg["export"])]
    if u is not None:
        rows.insert(1, ("re-import of the same file", u, pg["update"]))
    lines = ["", "| operation | SQLite wall / CPU | PostgreSQL wall / CPU | PostgreSQL ÷ SQLite (wall) | "
             "peak RSS SQLite / PostgreSQL |", "| --- | --- | --- | --- | --- |"]
    for label, lite, server in rows:
        lines.append(f"| {label} | {lite['seconds']:.1f} s / {lite.get('cpu', 0):.1f} s | "
                     f"{server['seconds']:.1f} s / {server.get('cpu', 0):.1f} s | "
                     f"{server['seconds'] / lite['seconds']:.2f} × | "
                     f"{lite['rss_mb']:.0f} / {server['rss_mb']:.0f} MB |")
    if "findings" in pg["import_"]:
        lines.append(f"\nFindings after the import: SQLite {i['findings']:,}, "
                     f"PostgreSQL {pg['import_']['findings']:,}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Excel exchange benchmark (SPEC §9, §13)")
    p.add_argument("--source", type=Path, default=REGISTER_DB, help="demo database to export (copied, never changed)")
    p.add_argument("--households", type=int, default=100_000, help="households to build when --source is missing")
    p.add_argument("--update", action="store_true", help="also time a re-import of the same file (all updates)")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    p.add_argument("--pg", help="also import, re-import and export on this PostgreSQL database (it is emptied)")
    p.add_argument("--step", help=argparse.SUPPRESS)
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.step:
        fn = STEPS[a.step]
        args = [_location(x) for x in a.args]
        if a.step == "import" and len(args) == 4:
            print(json.dumps(fn(*args[:3], fresh=False)))
        else:
            print(json.dumps(fn(*args)))
        return 0

    WORK.mkdir(parents=True, exist_ok=True)
    source = WORK / "source.sqlite3"
    if a.source.exists():
        print(f"copying {a.source} …", file=sys.stderr, flush=True)
        _copy_db(a.source, source)
        src_info = f"copy of {a.source.relative_to(ROOT) if a.source.is_relative_to(ROOT) else a.source}"
    else:
        print(f"building a demo of {a.households:,} households …", file=sys.stderr, flush=True)
        build_source(source, a.households)
        src_info = f"demo of {a.households:,} households built with `python -m desktop demo`"
    xlsx = WORK / "export.xlsx"
    print("export …", file=sys.stderr, flush=True)
    e = child("export", source, xlsx)
    print("import into a fresh database …", file=sys.stderr, flush=True)
    i = child("import", source, WORK / "imported.sqlite3", xlsx)
    print("baseline …", file=sys.stderr, flush=True)
    b = child("baseline", xlsx, WORK / "baseline.sqlite3")
    u = None
    if a.update:
        print("re-import (updates) …", file=sys.stderr, flush=True)
        u = child("import", source, WORK / "imported.sqlite3", xlsx, "update")
    pg = None
    if a.pg:
        print("PostgreSQL: import into an emptied database …", file=sys.stderr, flush=True)
        pi = child("import", source, a.pg, xlsx)
        print("PostgreSQL: re-import (updates) …", file=sys.stderr, flush=True)
        pu = child("import", source, a.pg, xlsx, "update")
        print("PostgreSQL: export …", file=sys.stderr, flush=True)
        pe = child("export", a.pg, WORK / "export-pg.xlsx")
        pg = dict(import_=pi, update=pu, export=pe)
    print(report(src_info, e, i, b, u))
    if pg is not None:
        print(report_server(e, i, u, pg))
    if a.json:
        a.json.write_text(json.dumps(dict(export=e, import_=i, baseline=b, update=u, postgresql=pg), indent=2),
                          encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""National-layout benchmark at county scale (SPEC §9.1, §13): the 100,000-household demo written in
the national 监测对象信息 layout (one row a person, ~300,000 rows, title and group rows above the
header), imported into a fresh database, against the floor measured in the same run: reading the same
file with python-calamine plus inserting its rows with plain sqlite3 executemany.

    .venv/bin/python bench/bench_national.py                  # uses bench/out/bench_register.sqlite3 (copied)
    .venv/bin/python bench/bench_national.py --households 20000
    .venv/bin/python bench/bench_national.py --json bench/out/national.json

Each step runs in its own process, so each peak-RSS figure is that step's. Target (the performance
issue's): import ≤ 2 × floor, peak RSS ≤ 1 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_exchange import AS_OF, REGISTER_DB, _copy_db, _fresh, _rss_mb, build_source, step_baseline  # noqa: E402
from bench.users import login  # noqa: E402

WORK = ROOT / "bench" / "out" / "national"
TARGETS = {"ratio": 2.0, "rss_mb": 1024}


def step_export(db_path: Path, xlsx: Path) -> dict:
    from desktop.services import exchange, settings
    from desktop.services.db import init_db, sqlite_url
    db = init_db(sqlite_url(db_path))
    with db.session(login(db)) as s:
        year = settings.current_year(s)
        t = time.perf_counter()
        r = exchange.export_national(s, xlsx, year)
        elapsed = time.perf_counter() - t
    return dict(seconds=elapsed, size_mb=r.size / 2**20, households=r.households, members=r.members,
                measures=r.measures, year=year, rss_mb=_rss_mb())


def step_import(source: Path, target: Path, xlsx: Path) -> dict:
    from desktop.services import exchange
    from desktop.services.db import init_db, sqlite_url
    year = _fresh(source, target)
    db = init_db(sqlite_url(target))
    with db.session(login(db)) as s:
        t0 = time.perf_counter()
        pv = exchange.preview(s, xlsx, year)
        t1 = time.perf_counter()
        if not pv.ok:
            raise SystemExit(f"file rejected: {pv.error_count} errors, e.g. {[e.text() for e in pv.errors[:3]]}")
        result = exchange.apply(s, pv, as_of=AS_OF, check=False, take_backup=False)
        t2 = time.perf_counter()
        s.commit()
        t3 = time.perf_counter()
    return dict(seconds=t3 - t0, preview=t1 - t0, apply=t2 - t1, commit=t3 - t2, layout=pv.layout,
                households=result.households_new, members=result.members_new, measures=result.measures_new,
                rss_mb=_rss_mb())


STEPS = {"export": step_export, "import": step_import, "baseline": step_baseline}


def child(step: str, *args) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--step", step, *map(str, args)], stdout=subprocess.PIPE,
                          text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(src: str, e: dict, i: dict, b: dict) -> str:
    ratio = i["seconds"] / b["seconds"]
    ok = "✓" if ratio <= TARGETS["ratio"] else "✗"
    rss_ok = "✓" if i["rss_mb"] <= TARGETS["rss_mb"] else "✗"
    return "\n".join([
        f"source: {src}",
        f"file: {e['households']:,} households, {e['members']:,} persons (rows), {e['measures']:,} measures, "
        f"{e['size_mb']:.1f} MB, written in {e['seconds']:.1f} s (peak {e['rss_mb']:.0f} MB)",
        "",
        "| step | result | target |",
        "| --- | --- | --- |",
        f"| import into a fresh database (check {i['preview']:.1f} s + write {i['apply']:.1f} s + commit "
        f"{i['commit']:.1f} s) | {i['seconds']:.1f} s | |",
        f"| floor: calamine read + sqlite3 executemany of the same rows (read {b['read']:.1f} s + insert "
        f"{b['insert']:.1f} s) | {b['seconds']:.1f} s | |",
        f"| import / floor | {ratio:.2f} × {ok} | ≤ {TARGETS['ratio']:.0f} × |",
        f"| peak RSS: import / floor | {i['rss_mb']:.0f} MB {rss_ok} / {b['rss_mb']:.0f} MB | ≤ 1 GB |",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="National-layout import benchmark (SPEC §9.1, §13)")
    p.add_argument("--source", type=Path, default=REGISTER_DB, help="demo database to export (copied, never changed)")
    p.add_argument("--households", type=int, default=100_000, help="households to build when --source is missing")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    p.add_argument("--step", help=argparse.SUPPRESS)
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.step:
        print(json.dumps(STEPS[a.step](*[Path(x) for x in a.args])))
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    source = WORK / "source.sqlite3"
    if a.source.exists():
        print(f"copying {a.source} …", file=sys.stderr, flush=True)
        _copy_db(a.source, source)
        src = f"copy of {a.source.name}"
    else:
        print(f"building a demo of {a.households:,} households …", file=sys.stderr, flush=True)
        build_source(source, a.households)
        src = f"demo of {a.households:,} households (`python -m desktop demo`)"
    xlsx = WORK / "national.xlsx"
    print("export in the national layout …", file=sys.stderr, flush=True)
    e = child("export", source, xlsx)
    print("import into a fresh database …", file=sys.stderr, flush=True)
    i = child("import", source, WORK / "imported.sqlite3", xlsx)
    print("floor …", file=sys.stderr, flush=True)
    b = child("baseline", xlsx, WORK / "floor.sqlite3")
    print(report(src, e, i, b))
    if a.json:
        a.json.write_text(json.dumps(dict(export=e, import_=i, floor=b), indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

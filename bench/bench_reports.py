"""Printed documents at county scale (issue 6): the township 汇总表 (target ≤ 3 s) and 1,000
信息采集表 in one PDF (target ≤ 30 s) over the 100,000-household demo.

    .venv/bin/python bench/bench_reports.py               # copies bench/out/bench_register.sqlite3 if present
    .venv/bin/python bench/bench_reports.py --db PATH     # any database made by `python -m desktop demo`
    .venv/bin/python bench/bench_reports.py --village     # also every kind for one village
    .venv/bin/python bench/bench_reports.py --db postgresql+psycopg://…   # a county database (read only)

The register benchmark's database is copied (never written to): bench/out/bench_reports.sqlite3.
Without it, one is built with `python -m desktop demo`. Each figure is the wall time of
services.reports.render (or summary_xlsx.write) as the CLI would run it: selection, services,
layout and the file written; best of --repeat runs, with the CPU time of this process beside it
(on a shared machine the wall time varies with other load; the CPU time much less). Prints a
Markdown table; --json FILE also writes the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.users import login, open_db  # noqa: E402 - after the path is set

OUT = ROOT / "bench" / "out"
SOURCE = OUT / "bench_register.sqlite3"
DEFAULT_DB = OUT / "bench_reports.sqlite3"
TARGETS = {"summary": 3.0, "summary_xlsx": 3.0, "collection_form_1000": 30.0}


def prepare(a):
    if a.db is not None and a.db.startswith("postgresql"):
        return a.db  # the county edition: read where it is
    if a.db is not None:
        a.db = Path(a.db)
        if not a.db.exists():
            sys.exit(f"数据库不存在：{a.db}")
        return a.db
    if not DEFAULT_DB.exists() or a.fresh:
        OUT.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEFAULT_DB}{suffix}").unlink(missing_ok=True)
        if SOURCE.exists() and not a.fresh:
            print(f"copying {SOURCE.name} → {DEFAULT_DB.name} …", file=sys.stderr, flush=True)
            shutil.copy2(SOURCE, DEFAULT_DB)
        else:
            print(f"building {a.households:,} households in {DEFAULT_DB} …", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, "-m", "desktop", "demo", "--db", str(DEFAULT_DB), "--households",
                            str(a.households), "--year", str(a.year), "--as-of", a.as_of.isoformat()],
                           cwd=ROOT, check=True)
    return DEFAULT_DB


def timed(fn, repeat: int):
    """Best wall time of `repeat` runs, the CPU time of that run, and the result."""
    best, cpu, result = None, None, None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        took, used = time.perf_counter() - t, time.process_time() - c
        if best is None or took < best:
            best, cpu = took, used
    return best, cpu, result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", help="a demo database file or PostgreSQL URL to read (default: a copy of the register "
                               "benchmark's)")
    p.add_argument("--fresh", action="store_true", help="build a new demo database instead of copying")
    p.add_argument("--households", type=int, default=100_000)
    p.add_argument("--year", type=int, default=2024)
    p.add_argument("--as-of", type=date.fromisoformat, default=date(2024, 10, 31))
    p.add_argument("--forms", type=int, default=1000, help="信息采集表 in the one PDF (default 1000)")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--village", action="store_true", help="also time every kind for one village")
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    path = prepare(a)

    from sqlalchemy import func, select

    from desktop.models import Household, Member, Region
    from desktop.services.reports import REPORT_KINDS, base, render, summary_xlsx
    from desktop.services.reports.common import MONITORED

    db = open_db(path)
    pdf_dir = OUT / "reports"
    pdf_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    base.font()
    font_load = time.perf_counter() - t
    rows = []
    with db.session(login(db)) as s:
        households = s.scalar(select(func.count()).select_from(Household))
        members = s.scalar(select(func.count()).select_from(Member))
        villages = s.scalar(select(func.count()).select_from(Region).where(Region.level == "village"))
        # 1,000 forms of 监测对象 (the households the form is for), in household-number order
        nos = list(s.scalars(select(Household.household_no).where(Household.monitoring_status.in_(MONITORED))
                             .order_by(Household.household_no).limit(a.forms)))
        if len(nos) < a.forms:  # a small database: fill up with other households
            nos += list(s.scalars(select(Household.household_no).where(Household.household_no.not_in(nos))
                                  .order_by(Household.household_no).limit(a.forms - len(nos))))

        def one(label, key, fn, target=None):
            sec, cpu, r = timed(fn, a.repeat)
            pages = getattr(r, "pages", None)
            rows.append(dict(label=label, key=key, seconds=sec, cpu=cpu, pages=pages,
                             households=getattr(r, "households", None), target=target,
                             size_mb=(r.path.stat().st_size / 2**20) if hasattr(r, "path") else
                             Path(r).stat().st_size / 2**20))
            print(f"  {label}: {sec:.2f} s", file=sys.stderr, flush=True)

        one("汇总表 全镇 (PDF)", "summary",
            lambda: render(s, "summary", pdf_dir / "summary.pdf", year=a.year, as_of=a.as_of), TARGETS["summary"])
        one("汇总表 全镇 (Excel)", "summary_xlsx",
            lambda: summary_xlsx.write(s, pdf_dir / "summary.xlsx", a.year, a.as_of), TARGETS["summary_xlsx"])
        one(f"信息采集表 {len(nos):,} 户 (one PDF)", "collection_form_1000",
            lambda: render(s, "collection-form", pdf_dir / "collection-form-1000.pdf", year=a.year, as_of=a.as_of,
                           household_nos=nos), TARGETS["collection_form_1000"])
        if a.village:
            village = s.scalar(select(Region.name).where(Region.level == "village").order_by(Region.id).limit(1))
            for kind in REPORT_KINDS:
                one(f"{REPORT_KINDS[kind].title}（{village}）", f"village:{kind}",
                    lambda kind=kind: render(s, kind, pdf_dir / f"village-{kind}.pdf", year=a.year, as_of=a.as_of,
                                             village=village))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{households:,} households, {members:,} members, {villages:,} villages; font load {font_load:.2f} s\n")
    print("| document | households | pages | MB | seconds | CPU s | target |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        target = f"≤ {r['target']:.0f} s" if r["target"] else ""
        ok = "" if not r["target"] else (" ✓" if r["seconds"] <= r["target"] else " ✗")
        n = "" if r["households"] is None else f"{r['households']:,}"
        print(f"| {r['label']} | {n} | {r['pages'] or ''} | {r['size_mb']:.1f} | {r['seconds']:.2f} | {r['cpu']:.2f} | "
              f"{target}{ok} |")
    print(f"| peak RSS | | | | {rss:.0f} MB | | |")
    if a.json:
        a.json.write_text(json.dumps(dict(households=households, members=members, villages=villages,
                                          font_load=font_load, rss_mb=rss, figures=rows), ensure_ascii=False,
                                     indent=2), encoding="utf-8")
    return 0 if all(r["target"] is None or r["seconds"] <= r["target"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

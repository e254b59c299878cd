"""Register benchmark at county scale (SPEC §13): build a demo database, then time what a user
waits for — the first page of the register, as-you-type search, start-up — and the memory used.

    .venv/bin/python bench/bench_register.py                       # 100,000 households, fresh build
    .venv/bin/python bench/bench_register.py --reuse               # keep bench/out/*.sqlite3 if it is there
    .venv/bin/python bench/bench_register.py --households 20000 --db /tmp/b.sqlite3

The build runs in a child process and start-up in another, so the memory figure of this process
is that of the services only (open database, first page, searches), and the start-up figure is a
real process start. Prints a Markdown table; --json FILE also writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
DEFAULT_DB = OUT / "bench_register.sqlite3"
from bench.users import ADMIN, PASSWORD, login, open_db  # noqa: E402 - after the path is set

YEAR = 2024
AS_OF = date(2024, 10, 31)
PAGE = 100

TARGETS = {"first_page": 1.0, "search": 0.100, "start": 3.0, "rss_mb": 500}


# ---------------------------------------------------------------- build (child process)

def build(path: Path, households: int, seed: int) -> dict:
    """A fresh database: township, settings, an admin, then the demo. Returns timings."""
    from desktop.services import auth, demo, regions, settings

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    db = open_db(path)
    with db.session(bootstrap="bench") as s:  # the first run: the township and the demo's administrator
        regions.init_township(s, "稷下街道", county="临淄区", city="淄博市", province="山东省", code="370305001000")
        settings.set_year(s, YEAR, monitoring_line="7100")
        settings.set_current_year(s, YEAR)
        auth.create_user(s, ADMIN, "管理员", "admin", PASSWORD, exempt_from_rule=True)
        s.commit()
    setup = time.perf_counter() - started
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 2 or done == total:
            last[0] = now
            print(f"  … {done:,} / {total:,} 户", file=sys.stderr, flush=True)

    with db.session(login(db)) as s:
        result = demo.generate(s, households, seed=seed, year=YEAR, as_of=AS_OF, progress=progress)
        t = time.perf_counter()
        s.commit()
        commit = time.perf_counter() - t
    db.dispose()
    return dict(setup=setup, generate=result.elapsed, commit=commit, total=time.perf_counter() - started,
                households=result.households, members=result.members, villages=result.villages,
                measures=result.measures, income_lines=result.income_lines,
                size_mb=path.stat().st_size / 2**20, build_rss_mb=_rss_mb())


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# ---------------------------------------------------------------- queries

@dataclass
class Query:
    label: str
    text: str = ""
    filters: dict = field(default_factory=dict)


def realistic_queries(session) -> list[Query]:
    """About twenty searches a township clerk types, with values taken from the data itself."""
    from sqlalchemy import func, select

    from desktop.models import Household, Member, Region

    n_members = session.scalar(select(func.max(Member.id)))
    n_households = session.scalar(select(func.max(Household.id)))

    def member(at: float) -> Member:
        return session.scalar(select(Member).where(Member.id >= int(n_members * at), Member.status == "normal")
                              .order_by(Member.id).limit(1))

    def household(at: float) -> Household:
        return session.scalar(select(Household).where(Household.id >= int(n_households * at))
                              .order_by(Household.id).limit(1))

    child = session.scalar(select(Member).where(Member.id >= int(n_members * 0.5), Member.relation == "03")
                           .order_by(Member.id).limit(1))
    m18 = member(0.66)
    h1, h2 = household(0.25), household(0.75)
    village = h2.village_id
    village_name = session.get(Region, village).name
    area = member(0.1).id_number[:6]
    return [
        Query("姓（王）", "王"),
        Query("姓（李）+ 行政村", "李", {"village_id": village}),
        Query("名中一字（芳）", "芳"),
        Query("生僻字（堃）", "堃"),
        Query("户主全名", h1.head_name),
        Query("成员全名（之子）", child.name),
        Query("成员全名 + 行政村", child.name, {"village_id": session.get(Household, child.household_id).village_id}),
        Query("身份证前 6 位", area),
        Query("身份证前 10 位", m18.id_number[:10]),
        Query("身份证 18 位", m18.id_number[:18]),
        Query("身份证后 6 位", m18.id_number[12:18]),
        Query("户编号（16 位）", h2.household_no),
        Query(f"户编号前 12 位（{village_name}）", h2.household_no[:12]),
        Query("电话后 4 位", h1.phone[-4:]),
        Query("电话 11 位", h1.phone),
        Query("姓 + 监测中", "王", {"status": "monitoring"}),
        Query("名中一字 + 已消除风险", "芳", {"status": "removed"}),
        Query("身份证前 6 位 + 脱贫户", area, {"poverty_alleviated": True}),
        Query("空 + 监测中", "", {"status": "monitoring"}),
        Query("空 + 行政村 + 脱贫户", "", {"village_id": village, "poverty_alleviated": True}),
        Query("姓 + 边缘易致贫户", "张", {"category": "02"}),
    ]


def run_query(session, q: Query) -> tuple[float, int]:
    """What the register does on a search: the ordered ids, then the rows of the first page."""
    from desktop.services import register

    flt = register.HouseholdFilter(text=q.text, **q.filters)
    t = time.perf_counter()
    ids = register.household_ids(session, flt)
    register.household_rows(session, ids[:PAGE])
    return time.perf_counter() - t, len(ids)


def measure_services(path: Path, repeat: int = 3) -> dict:
    """First page (cold, then warm), the search set, and this process's peak RSS."""
    from desktop.services import register

    t = time.perf_counter()
    db = open_db(path)
    open_s = time.perf_counter() - t
    with db.session(login(db)) as s:
        t = time.perf_counter()
        ids = register.household_ids(s, register.HouseholdFilter())
        rows = register.household_rows(s, ids[:PAGE])
        first_cold = time.perf_counter() - t
        assert len(rows) == min(PAGE, len(ids))
        warm = []
        for _ in range(5):
            t = time.perf_counter()
            ids = register.household_ids(s, register.HouseholdFilter())
            register.household_rows(s, ids[:PAGE])
            warm.append(time.perf_counter() - t)
        queries = realistic_queries(s)
        for q in queries:  # one pass to warm caches and compiled statements, as after a few keystrokes
            run_query(s, q)
        results = []
        for q in queries:
            times, n = [], 0
            for _ in range(repeat):
                elapsed, n = run_query(s, q)
                times.append(elapsed)
            results.append(dict(label=q.label, text=q.text, filters=q.filters, matches=n,
                                seconds=statistics.median(times)))
    db.dispose()
    lat = [r["seconds"] for r in results]
    return dict(open=open_s, first_page_cold=first_cold, first_page_warm=statistics.median(warm),
                households=len(ids), searches=results, search_median=statistics.median(lat),
                search_max=max(lat), rss_mb=_rss_mb())


# ---------------------------------------------------------------- start-up (child process)

STARTUP = r"""
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
try:
    from PySide6.QtWidgets import QApplication, QTableView
    import desktop.app as app_module
    from desktop.app import create_main_window
    from desktop.services import auth, settings
    from bench.users import open_db
    from desktop.services.context import AppContext
except (ImportError, AttributeError) as exc:
    print("NOGUI " + repr(exc), flush=True)
    sys.exit(3)
setup = getattr(app_module, "setup_application", None)
app = setup([]) if setup else (QApplication.instance() or QApplication([]))
db = open_db({path!r})  # the log-in unwraps the key, then the quick check (and any migration)
with db.session() as s:
    user = auth.authenticate(s, {user!r}, {password!r})
    s.commit()
with db.session(user) as s:
    year = settings.current_year(s)
ctx = AppContext(db=db, user=user, year=year)
window = create_main_window(ctx)
window.resize(1280, 800)
window.show()
deadline = time.perf_counter() + 30
loaded = 0
while time.perf_counter() < deadline:
    app.processEvents()
    views = [v for v in window.findChildren(QTableView) if v.isVisible() and v.model() is not None
             and v.model().rowCount() > 0]
    if views:
        model = views[0].model()
        model.index(0, 0).data()  # the first page's rows, if painting has not read them yet
        loaded = model.rowCount()
        app.processEvents()
        break
    time.sleep(0.005)
print("READY " + json.dumps(dict(rows=loaded, rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)),
      flush=True)
window.close()
db.dispose()
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)  # measured already; skip interpreter teardown of the Qt objects
"""


def measure_startup(path: Path) -> dict:
    """Process start → main window shown with the first page of the register, offscreen."""
    code = STARTUP.format(root=str(ROOT), path=str(path), user=ADMIN, password=PASSWORD)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    env.setdefault("FANPIN_DATA_DIR", str(OUT / "data"))  # backups of a start go here, not to the user's folder
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)
    ready = None
    out = []
    for line in proc.stdout:
        if line.startswith("READY "):
            ready = time.perf_counter() - t
            info = json.loads(line[6:])
            break
        out.append(line)
    rest, err = proc.communicate(timeout=60)
    if ready is None:
        text = "".join(out) + (rest or "")
        if text.startswith("NOGUI") or proc.returncode == 3:
            return dict(available=False, reason=text.strip())
        return dict(available=False, reason=f"exit {proc.returncode}: {(err or text).strip()[-2000:]}")
    return dict(available=True, seconds=ready, rows=info["rows"], rss_mb=info["rss_mb"], exit=proc.returncode)


# ---------------------------------------------------------------- report

def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _ok(value: float, target: float) -> str:
    return "✅" if value <= target else "❌"


def report(args, built: dict | None, svc: dict, start: dict) -> str:
    lines = [f"## Register benchmark — {svc['households']:,} households", ""]
    if built:
        lines += [f"Build: {built['households']:,} households, {built['members']:,} members, "
                  f"{built['villages']} villages, {built['income_lines']:,} income lines; "
                  f"demo generate {built['generate']:.1f} s (+ commit {built['commit']:.1f} s, setup "
                  f"{built['setup']:.1f} s), total {built['total']:.1f} s; file {built['size_mb']:.0f} MB; "
                  f"build RSS {built['build_rss_mb']:.0f} MB.", ""]
    lines += ["| measure | value | target | |", "| --- | --- | --- | --- |",
              f"| register first page, cold (ids + {PAGE} rows) | {_ms(svc['first_page_cold'])} | ≤ 1 s | "
              f"{_ok(svc['first_page_cold'], TARGETS['first_page'])} |",
              f"| register first page, warm | {_ms(svc['first_page_warm'])} | ≤ 1 s | "
              f"{_ok(svc['first_page_warm'], TARGETS['first_page'])} |",
              f"| search, median of {len(svc['searches'])} queries | {_ms(svc['search_median'])} | ≤ 100 ms | "
              f"{_ok(svc['search_median'], TARGETS['search'])} |",
              f"| search, max | {_ms(svc['search_max'])} | ≤ 100 ms | {_ok(svc['search_max'], TARGETS['search'])} |"]
    if start.get("available"):
        lines.append(f"| start-up to first register page (offscreen) | {_ms(start['seconds'])} | ≤ 3 s | "
                     f"{_ok(start['seconds'], TARGETS['start'])} |")
        lines.append(f"| RSS, GUI process after start-up | {start['rss_mb']:.0f} MB | ≤ 500 MB | "
                     f"{_ok(start['rss_mb'], TARGETS['rss_mb'])} |")
    else:
        lines.append("| start-up | not measured (GUI not available) | ≤ 3 s | |")
    lines.append(f"| RSS, services process (open, first page, searches) | {svc['rss_mb']:.0f} MB | ≤ 500 MB | "
                 f"{_ok(svc['rss_mb'], TARGETS['rss_mb'])} |")
    lines += ["", "| search | text | filters | matches | time |", "| --- | --- | --- | --- | --- |"]
    for r in svc["searches"]:
        filters = ", ".join(f"{k}={v}" for k, v in r["filters"].items())
        lines.append(f"| {r['label']} | {r['text']} | {filters} | {r['matches']:,} | {_ms(r['seconds'])} "
                     f"{'' if r['seconds'] <= TARGETS['search'] else '❌'}|")
    if not start.get("available"):
        lines += ["", "start-up: not measured (GUI not available): " + start.get("reason", "")[:500]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Register benchmark (SPEC §13)")
    p.add_argument("--households", type=int, default=100_000)
    p.add_argument("--db", type=Path, default=DEFAULT_DB)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--reuse", action="store_true", help="use the database file if it exists")
    p.add_argument("--repeat", type=int, default=3, help="runs per search query (the median is taken)")
    p.add_argument("--no-startup", action="store_true", help="skip the GUI start-up measurement")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    p.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    path = args.db.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)

    if args.build_only:
        print(json.dumps(build(path, args.households, args.seed)))
        return 0

    built = None
    if not (args.reuse and path.exists()):
        print(f"building {path} with {args.households:,} households …", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, __file__, "--build-only", "--db", str(path), "--households",
                               str(args.households), "--seed", str(args.seed)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
        if proc.returncode != 0:
            print("build failed", file=sys.stderr)
            return 1
        built = json.loads(proc.stdout.strip().splitlines()[-1])
    print("measuring register services …", file=sys.stderr, flush=True)
    svc = measure_services(path, args.repeat)
    start = {"available": False, "reason": "skipped (--no-startup)"}
    if not args.no_startup:
        print("measuring start-up …", file=sys.stderr, flush=True)
        start = measure_startup(path)
        if not start.get("available"):
            print("start-up: not measured (GUI not available)", file=sys.stderr)
    print(report(args, built, svc, start))
    if args.json:
        args.json.write_text(json.dumps(dict(build=built, services=svc, startup=start), ensure_ascii=False,
                                        indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

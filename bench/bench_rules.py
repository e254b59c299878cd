"""assess and check at county scale (issues 17, 20). Targets: assess ≤ 3 s, check (every rule, national ones
included) ≤ 10 s of CPU, each ≤ 1 GB, over the 100,000-household demo.

    .venv/bin/python bench/bench_rules.py                 # reuses bench/out/bench_register.sqlite3 if present
    .venv/bin/python bench/bench_rules.py --db PATH       # any database made by `python -m desktop demo`
    .venv/bin/python bench/bench_rules.py --db postgresql+psycopg://…  # the county edition (built by demo if empty)

Each figure is the wall and CPU time of the service call (as the CLI runs it, JSON output included), the median
of --repeat runs (default 3); "check" forgets the cached assessment before each run (as after any write), "check,
assess cached" does not. The peak RSS is read right after the check runs (nothing else has run yet), and again at
the end; the load average is printed beside the figures. After the table, each check's stages (as its progress
callback reports them: 测算收入 = assess, 读取… = households, members and measures, 本程序的检查 = our codes,
全国疑点规则 = the national rules and the merge, then sorting and JSON) in CPU seconds. "national rules" is the part of
check that the national 疑点 rules add (facts loaded and every rule run over them, assess excluded). After a check,
its read's floor: the driver's rows of the same household and member selects, fetched and dropped (read_floor).

After the assess runs, one more run (not in the median) is taken apart into its phases, in CPU seconds, as
services.assess._assess does them: forgetting the previous result, the four queries, the per-household build, a
the collector coming back (services.gcpause: what the pause leaves alive is frozen, not walked), and the JSON
output. The database is encrypted (SQLCipher) as the program
makes it unless FANPIN_BENCH_PLAIN=1.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = ROOT / "bench" / "out" / "bench_register.sqlite3"

from bench.users import login, open_db  # noqa: E402 - after the path is set

TARGETS = {"assess": 3.0, "check": 10.0, "national rules": 10.0, "key_checks": 10.0}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--db", default=str(DEFAULT_DB), help="an SQLite file or a database URL")
    p.add_argument("--households", type=int, default=100_000)
    p.add_argument("--year", type=int, default=2024)
    p.add_argument("--as-of", type=date.fromisoformat, default=date(2024, 10, 31))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--only", action="append", help="run only these operations (check, assess, …; repeatable)")
    a = p.parse_args()
    from desktop.services.db import is_url

    if not is_url(a.db) and not Path(a.db).exists():
        Path(a.db).parent.mkdir(parents=True, exist_ok=True)
        print(f"building {a.households} households in {a.db} …", flush=True)
        subprocess.run([sys.executable, "-m", "desktop", "demo", "--db", str(a.db), "--households", str(a.households),
                        "--year", str(a.year), "--as-of", a.as_of.isoformat()], cwd=ROOT, check=True)

    import statistics

    from desktop.services import assess, checks, dataversion, national_rules, screening

    db = open_db(a.db)
    figures = {}

    def cold(fn):  # the assess cache forgotten first: the check computes assess as after any write
        def run():
            dataversion.clear()
            return fn()
        return run

    phases: dict[str, list] = {}  # operation → per run, the CPU seconds of each stage of the check

    with db.session(login(db)) as s:
        def check_json(name="check"):
            marks = []
            found = checks.run_checks(s, a.year, a.as_of,
                                      progress=lambda i, n, stage: marks.append((stage, time.process_time())))
            marks.append(("结果排序和 JSON 输出", time.process_time()))
            out = assess.dumps([f.to_json() for f in found])
            marks.append(("", time.process_time()))
            phases.setdefault(name, []).append([(st, b - t) for (st, t), (_, b) in itertools.pairwise(marks)])
            return out

        def national():
            assessed = {x.household_id: x for x in assess.assess(s, a.year, a.as_of)}
            ys = assess.year_settings(s, a.year)
            facts = national_rules.load_facts(s, a.year, a.as_of, assessed, None, ys.status_time_point,
                                              ys.monitoring_line, ys.thresholds, open_only=True)
            return national_rules.evaluate(s, facts, national_rules.enabled_rules(s))

        operations = (("check", cold(check_json)), ("peak RSS after check", None),
                      ("check, assess cached", lambda: check_json("check, assess cached")),
                      ("assess", cold(lambda: assess.dumps_assessments(assess.assess(s, a.year, a.as_of)))),
                      ("national rules", national),
                      ("key_checks", lambda: screening.key_checks(s, a.year, a.as_of)))
        for name, fn in operations:
            if a.only and fn is not None and name not in a.only:
                continue
            if fn is None:  # the peak after the (cold) check, when it ran
                if not a.only or "check" in a.only:
                    figures[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                continue
            runs, cpu = [], []
            for _ in range(a.repeat):
                out = None  # the last run's output (assess's is 40 million characters) is not kept through this one
                t, c = time.perf_counter(), time.process_time()
                out = fn()
                runs.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            rows = len(out) if isinstance(out, list) else out.count('"household_no"')
            figures[name] = (statistics.median(runs), statistics.median(cpu), rows)
            out = None
        if not a.only or "assess" in a.only:
            assess_parts = assess_phases(s, a.year, a.as_of)
        if any(name.startswith("check") for name in phases):
            floor = read_floor(s, a.year)
    load = os.getloadavg()
    print(f"\nload average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs")
    print("\n| operation | rows | wall s | CPU s | target |\n| --- | --- | --- | --- | --- |")
    for name, fig in figures.items():
        if isinstance(fig, float):
            print(f"| {name} | | {fig:.0f} MB | | ≤ 1024 MB |")
            continue
        sec, cpu, rows = fig
        print(f"| {name} | {rows:,} | {sec:.2f} | {cpu:.2f} | ≤ {TARGETS.get(name.split(',')[0], 10.0):.0f} s |")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| peak RSS (whole run) | | {rss:.0f} MB | | |")
    for name, runs in phases.items():  # the check's stages (its progress reports), median CPU of the runs
        print(f"\n{name}: CPU s per stage (median of {len(runs)}; the stage named is the one that starts there)")
        for i, (stage, _) in enumerate(runs[0]):
            print(f"  {stage}: {statistics.median(r[i][1] for r in runs):.2f}")
    if any(name.startswith("check") for name in phases):
        print("\ncheck's read against its floor (CPU s, median of 3): the driver's rows of the same two selects, "
              "fetched and dropped, against the stage 读取户、成员和帮扶措施 above (the rest of it is building the "
              "households and members, the measures, the 风险消除后 block and the shared-ID query)")
        print(" · ".join(f"{k} {v:.2f}" for k, v in floor.items()))
    if not a.only or "assess" in a.only:
        from bench.users import plain
        print(f"\nassess, one more run in phases (CPU s; {'plain SQLite' if plain() else 'encrypted, SQLCipher'}):")
        print(" · ".join(f"{k} {v:.2f}" for k, v in assess_parts.items()))
    return 0


def read_floor(s, year: int) -> dict[str, float]:
    """The driver's rows of the check's household and member selects (national_rules._household_select,
    _member_select) over the whole open register, fetched a chunk at a time and dropped: what SQLite (and the
    decryption) cost before any Python object of the check is built."""
    import statistics

    from desktop.services import assess, national_rules
    point = assess.year_settings(s, year).status_time_point
    dialect = s.get_bind().dialect.name
    out: dict[str, list] = {"households": [], "members": []}
    for _ in range(3):
        for name, q in (("households", national_rules._household_select(None, True)),
                        ("members", national_rules._member_select(point, dialect))):
            c = time.process_time()
            for _row in national_rules._raw_rows(s, q):
                pass
            out[name].append(time.process_time() - c)
    return {k: statistics.median(v) for k, v in out.items()}


def assess_phases(s, year: int, as_of: date) -> dict[str, float]:
    """One assess of the whole register as services.assess._assess runs it, then its JSON, timed phase by phase."""
    import gc

    from desktop.services import access, assess, dataversion, gcpause
    out: dict[str, float] = {}
    c = time.process_time()

    def lap(name):
        nonlocal c
        now = time.process_time()
        out[name] = now - c
        c = now
    dataversion.clear()
    gc.collect()
    lap("forget the last result")
    ys = assess.year_settings(s, year)
    with gcpause.paused():
        rows, ids = assess._household_tuples(s, None, access.within(s, None), True)
        lap("households")
        situations = assess._member_situations(s, ys.status_time_point, ids)
        lap("members")
        totals = assess._standing_fen(s, year, ids)
        lap("income totals")
        developmental = assess._developmental_ids(s, as_of, ids)
        lap("measures")
        result = assess._build(rows, situations, totals, developmental, year, ys.monitoring_line,
                               ys.rural_average, as_of)
        del rows, situations, totals
        lap("per-household build")
    lap("collector back (gcpause freezes the result)")
    text = assess.dumps_assessments(result)
    lap("JSON output")
    del text, result
    out["total"] = sum(out.values())
    return out


if __name__ == "__main__":
    sys.exit(main())

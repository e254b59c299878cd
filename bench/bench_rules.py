"""assess and check at county scale (issue: income, rules and checks). Targets: assess ≤ 10 s,
check ≤ 20 s over the 100,000-household demo.

    .venv/bin/python bench/bench_rules.py                 # reuses bench/out/bench_register.sqlite3 if present
    .venv/bin/python bench/bench_rules.py --db PATH       # any database made by `python -m desktop demo`

Each figure is the wall time of the service call (as the CLI runs it, JSON output included),
the median of --repeat runs (default 3), and the peak RSS of this process. "national rules" is the part of
check that the national 疑点 rules add (facts loaded and every rule run over them, assess excluded).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = ROOT / "bench" / "out" / "bench_register.sqlite3"

from bench.users import login  # noqa: E402 - after the path is set

TARGETS = {"assess": 10.0, "check": 10.0, "national rules": 10.0, "key_checks": 10.0}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--db", type=Path, default=DEFAULT_DB)
    p.add_argument("--households", type=int, default=100_000)
    p.add_argument("--year", type=int, default=2024)
    p.add_argument("--as-of", type=date.fromisoformat, default=date(2024, 10, 31))
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    if not a.db.exists():
        a.db.parent.mkdir(parents=True, exist_ok=True)
        print(f"building {a.households} households in {a.db} …", flush=True)
        subprocess.run([sys.executable, "-m", "desktop", "demo", "--db", str(a.db), "--households", str(a.households),
                        "--year", str(a.year), "--as-of", a.as_of.isoformat()], cwd=ROOT, check=True)

    import statistics

    from desktop.services import assess, checks, national_rules, screening
    from desktop.services.db import init_db, sqlite_url

    db = init_db(sqlite_url(a.db))
    figures = {}
    with db.session(login(db)) as s:
        assessed = {x.household_id: x for x in assess.assess(s, a.year, a.as_of)}
        ys = assess.year_settings(s, a.year)

        def national():
            facts = national_rules.load_facts(s, a.year, a.as_of, assessed, None, ys.status_time_point,
                                              ys.monitoring_line, ys.thresholds)
            return national_rules.evaluate(s, facts, national_rules.enabled_rules(s))

        for name, fn in (("assess", lambda: assess.dumps([r.to_json() for r in assess.assess(s, a.year, a.as_of)])),
                         ("check", lambda: assess.dumps([f.to_json() for f in checks.run_checks(s, a.year, a.as_of)])),
                         ("national rules", national),
                         ("key_checks", lambda: screening.key_checks(s, a.year, a.as_of))):
            runs = []
            for _ in range(a.repeat):
                t = time.perf_counter()
                out = fn()
                runs.append(time.perf_counter() - t)
            rows = len(out) if isinstance(out, list) else out.count('"household_no"')
            figures[name] = (statistics.median(runs), rows)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\n| operation | rows | seconds | target |\n| --- | --- | --- | --- |")
    for name, (sec, rows) in figures.items():
        print(f"| {name} | {rows:,} | {sec:.2f} | ≤ {TARGETS[name]:.0f} s |")
    print(f"| peak RSS | | {rss:.0f} MB | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

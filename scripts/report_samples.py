"""Print every document for a demo township and keep one page of each as a PNG for the README.

    .venv/bin/python scripts/report_samples.py [--households 400] [--out /tmp/report-samples]

Runs the command line as an office would: `demo` makes a township, a few identifications and
risk removals are taken to their 村级公示 through the workflow service (the demo has none at that
step), then `report KIND` prints each document for the whole township. The first page of each
goes to resources/screenshots/reports/ as a small greyscale PNG (pdftoppm, then Pillow). Needs
poppler-utils. Nothing depends on today's date: the year and the date are fixed below.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

YEAR, AS_OF = 2024, date(2024, 11, 20)
ADMIN, PASSWORD = "admin", "admin123"  # the administrator `demo` creates on a new database
SHOTS = ROOT / "resources" / "screenshots" / "reports"
DPI = 72


def cli(*args) -> str:
    env = {**os.environ, "FANPIN_USER": ADMIN, "FANPIN_PASSWORD": PASSWORD}
    p = subprocess.run([sys.executable, "-m", "desktop", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                       encoding="utf-8", env=env)
    if p.returncode != 0:
        raise SystemExit(f"python -m desktop {' '.join(map(str, args))} → {p.returncode}\n{p.stderr}")
    return (p.stdout + p.stderr).strip()


def at_publicity(db_path: Path) -> tuple[int, int]:
    """Take a few identifications and removals of each village to their 村级公示 (recorded dates)."""
    from sqlalchemy import select

    from desktop.models import Household
    from desktop.services import assess, opening, workflow
    opened = opening.log_in(db_path, ADMIN, PASSWORD)  # the demo database is encrypted: the password opens it
    db, admin = opened.db, opened.user
    identified = removed = 0
    with db.session(admin) as s:
        rows = s.execute(select(Household.id, Household.village_id, Household.monitoring_status)
                         .order_by(Household.household_no)).all()
        suggested = {a.household_id for a in assess.assess(s, YEAR, AS_OF) if a.suggestion.category}
        per_village: dict[int, int] = {}
        for hid, vid, status in rows:
            if status not in (None, "none") or hid not in suggested or per_village.get(vid, 0) >= 3:
                continue
            opened = AS_OF - timedelta(days=18)
            clue = workflow.record_clue(s, "02", opened, household_id=hid, description="集中排查发现", as_of=AS_OF)
            cid = workflow.open_identification(s, clue, as_of=AS_OF)
            for n, (key, data) in enumerate((("verify", {"authorized": True}), ("county_compare", {}),
                                             ("village_review", {"meeting_form": workflow.meeting_forms()[0]}),
                                             ("township_review", {})), 1):
                workflow.complete_step(s, cid, key, opened + timedelta(days=n), data=data, year=YEAR, as_of=AS_OF)
            workflow.start_publicity(s, cid, AS_OF - timedelta(days=3))
            per_village[vid] = per_village.get(vid, 0) + 1
            identified += 1
        per_village = {}
        for hid, vid, status in rows:
            if status != "monitoring" or per_village.get(vid, 0) >= 2:
                continue
            opened = AS_OF - timedelta(days=12)
            way = next((w for w in ("01", "02") if workflow.removal_eligibility(s, hid, YEAR, opened, w).eligible),
                       None)
            if way is None:
                continue
            cid = workflow.open_removal(s, hid, opened, way, YEAR, as_of=AS_OF)
            for n, (key, data) in enumerate((("verify", {}),
                                             ("village_review", {"meeting_form": workflow.meeting_forms()[0]}),
                                             ("township_review", {})), 1):
                workflow.complete_step(s, cid, key, opened + timedelta(days=n), data=data, year=YEAR, as_of=AS_OF)
            workflow.start_publicity(s, cid, AS_OF - timedelta(days=2))
            per_village[vid] = per_village.get(vid, 0) + 1
            removed += 1
        s.commit()
    db.dispose()
    return identified, removed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--households", type=int, default=400)
    p.add_argument("--out", type=Path, default=Path("/tmp/report-samples"))
    p.add_argument("--no-png", action="store_true", help="print the documents only")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    db = a.out / "samples.sqlite3"
    for f in a.out.glob("samples.sqlite3*"):
        f.unlink()
    print(cli("demo", "--db", db, "--households", a.households, "--year", YEAR, "--as-of", AS_OF))
    print("村级公示：认定 %d 户，风险消除 %d 户" % at_publicity(db))
    from desktop.services.reports import REPORT_KINDS
    if not a.no_png:
        SHOTS.mkdir(parents=True, exist_ok=True)
    for n, kind in enumerate(REPORT_KINDS, 1):
        pdf = a.out / f"{kind}.pdf"
        print(cli("report", kind, "--db", db, "--out", pdf, "--year", YEAR, "--as-of", AS_OF))
        if a.no_png:
            continue
        stem = a.out / f"{n:02d}-{kind}"
        subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
                       check=True)
        from PIL import Image
        with Image.open(f"{stem}.png") as im:
            im.convert("L").save(SHOTS / f"{n:02d}-{kind}.png", optimize=True)
    if not a.no_png:
        total = sum(f.stat().st_size for f in SHOTS.glob("*.png"))
        print(f"{len(list(SHOTS.glob('*.png')))} PNG, {total / 2**20:.2f} MB in {SHOTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Fixtures shared by the service tests: `b` (a Builder in an open session) and `town` (a module's township)."""

from __future__ import annotations

import pytest

from tests import dbserver
from tests.conftest import TODAY, YEAR
from tests.services.builders import Builder


@pytest.fixture
def b(db, township, admin):
    with db.session(admin) as session:
        yield Builder(session, township)


@pytest.fixture(scope="module")
def town(tmp_path_factory, migrated_template):
    """One configured township for the tests that only preview, or import and roll back: a copy of the migrated
    template (no migration runs)."""
    from desktop.services import regions, settings
    from desktop.services.context import AppContext
    db = migrated_template.fresh(tmp_path_factory.mktemp("exchange"), "town")
    with db.session(bootstrap="tester") as s:  # no user in this township: the first-run rights hold
        regions.init_township(s, "稷下街道", county="临淄区", city="淄博市", province="山东省")
        east = regions.add_village(s, "东村")
        regions.add_village(s, "西村")
        regions.add_group(s, east, "一组")
        settings.set_year(s, YEAR, monitoring_line="7100")
        settings.set_current_year(s, YEAR)
        s.commit()
    yield AppContext(db=db, year=YEAR, today=lambda: TODAY, bootstrap=True)
    dbserver.release(db)

from pathlib import Path

import pytest

from desktop.services.files import written_whole


def test_a_file_replaces_the_old_one_only_when_complete(tmp_path):
    target = tmp_path / "report.pdf"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with written_whole(target) as tmp:
            Path(tmp).write_text("half")
            raise RuntimeError("power cut")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    with written_whole(target, ".tmp.xlsx") as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".tmp.xlsx")
        Path(tmp).write_text("new")
    assert target.read_text() == "new" and list(tmp_path.iterdir()) == [target]

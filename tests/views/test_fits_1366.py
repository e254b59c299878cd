"""Problem 1 of issue 19: at 1366×768 with a 40-pixel taskbar (1366×728 available) the main window and every
dialog show all their buttons on the screen. Checked on a real X server (Xvfb) with the xcb platform, by the
position of each button, in a separate process (this process runs Qt offscreen)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("geometry_probe.py")
WIDTH, HEIGHT, TASKBAR = 1366, 768, 40

pytestmark = [pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xprop")),
                                 reason="needs Xvfb and xprop (apt-get install xvfb x11-utils)"),
              pytest.mark.slow(seconds=5)]  # an X server and a process opening every dialog


@pytest.fixture
def display():
    """An Xvfb screen of 1366×768 whose work area leaves a taskbar at the bottom, as a desktop's panel does."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{WIDTH}x{HEIGHT}x24",
                               "-nolisten", "tcp", "-noreset"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    name = f":{number}"
    try:
        subprocess.run(["xprop", "-display", name, "-root", "-f", "_NET_WORKAREA", "32c", "-set", "_NET_WORKAREA",
                        f"0, 0, {WIDTH}, {HEIGHT - TASKBAR}"], check=True)
        yield name
    finally:
        server.terminate()
        server.wait(10)


def test_every_dialog_shows_its_buttons_inside_1366x728(display, tmp_path):
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    p = subprocess.run([sys.executable, str(PROBE), str(tmp_path)], env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    windows = json.loads(p.stdout.strip().splitlines()[-1])
    assert len(windows) >= 20  # the main window and every dialog of the program
    area = (0, 0, WIDTH, HEIGHT - TASKBAR)
    outside = []
    for w in windows:
        assert w["screen"] == list(area), "the probe's screen has no taskbar: the check would prove nothing"
        x, y, width, height = w["frame"]
        if x < 0 or y < 0 or x + width > area[2] or y + height > area[3]:
            outside.append(f"{w['name']}: window {w['frame']}")
        assert w["buttons"], f"{w['name']}: no buttons found"
        for b in w["buttons"]:
            if b["x"] < 0 or b["y"] < 0 or b["x"] + b["w"] > area[2] or b["y"] + b["h"] > area[3]:
                outside.append(f"{w['name']}: “{b['text']}” at ({b['x']}, {b['y']})")
    assert not outside, "\n".join(outside)
    editor = next(w for w in windows if w["name"] == "户编辑（已有户）")
    assert {"保存", "关闭"} <= {b["text"] for b in editor["buttons"]}

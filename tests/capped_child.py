"""A child Python that answers one JSON line per JSON line it is sent, its address space capped (so that a failed
memory protection fails the test, not the machine). The hostile-file tests run many imports or previews through
one such process, one after the other (tests/cli/test_hostile_files.py, tests/views/test_import_wizard_memory.py)."""

from __future__ import annotations

import json
import resource
import subprocess
from pathlib import Path

GB = 1 << 30
ROOT = Path(__file__).resolve().parents[1]


class CappedChild:
    def __init__(self, argv: list[str], env: dict[str, str] | None = None, cap_bytes: int = 4 * GB):
        def cap():
            resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

        self.p = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, encoding="utf-8", preexec_fn=cap)

    def ask(self, request: dict) -> dict:
        self.p.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
        self.p.stdin.flush()
        answer = self.p.stdout.readline()
        assert answer, f"the child process ended (exit code {self.p.wait()})"
        return json.loads(answer)

    def close(self) -> None:
        self.p.stdin.close()
        self.p.wait(timeout=60)

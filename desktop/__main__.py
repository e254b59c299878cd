"""python -m desktop: the window, or a headless sub-command (see cli.py)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--self-test"]:
        from . import selftest
        return selftest.main()
    from . import cli
    if argv and argv[0] in cli.COMMANDS:
        try:
            return cli.main(argv)
        except BrokenPipeError:  # output piped into `head` and the like: stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    return cli.gui(argv)


if __name__ == "__main__":
    sys.exit(main())

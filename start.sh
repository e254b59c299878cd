#!/usr/bin/env bash
# Set up (first time) and start 防止返贫监测帮扶工作台 on its default database in the user's data folder.
# Any arguments are passed on: ./start.sh --db other.sqlite3
set -euo pipefail
cd "$(dirname "$0")"
NEED_DISPLAY_LIBS=1 source scripts/bootstrap.sh postgres
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "没有图形界面（DISPLAY 未设置）：请在桌面环境中运行，或使用 xvfb-run ./start.sh" >&2
  exit 1
fi
exec .venv/bin/python -m desktop "$@"

# Sourced by start.sh and test.sh: make .venv with everything installed, say what the system lacks.
# Usage: source scripts/bootstrap.sh [extras]     e.g. "test"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRAS="${1:-}"
VENV="$ROOT/.venv"

find_python() {
  for cand in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$cand" ] || continue
    if command -v "$cand" >/dev/null 2>&1 &&
       "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$cand"; return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(find_python)" || { echo "需要 Python 3.11 或更新版本：sudo apt-get install python3 python3-venv" >&2; exit 1; }
  echo "创建虚拟环境 .venv（$("$PY" --version)）…"
  "$PY" -m venv "$VENV" || { echo "无法创建虚拟环境：sudo apt-get install python3-venv" >&2; exit 1; }
fi

# Reinstall only when pyproject.toml, the pinned versions (or the extras asked for) changed since the last install.
# installer/constraints.txt pins what the Windows and Linux bundles ship, so the tests run on exactly that.
CONSTRAINTS="$ROOT/installer/constraints.txt"
STAMP="$VENV/.installed-${EXTRAS:-base}"
WANT="$({ cat "$ROOT/pyproject.toml"; cat "$CONSTRAINTS" 2>/dev/null || true; } | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "安装依赖…"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  SPEC="$ROOT"; [ -n "$EXTRAS" ] && SPEC="$ROOT[$EXTRAS]"
  PINS=(); [ -f "$CONSTRAINTS" ] && PINS=(-c "$CONSTRAINTS")
  # setuptools too: constraints.txt pins it (the build uses it) and a new venv brings an older one.
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PINS[@]}" setuptools -e "$SPEC" \
    2> >(grep -v '^WARNING: Location' >&2)
  echo "$WANT" > "$STAMP"
fi

# System pieces pip cannot install: say the apt line instead of failing obscurely later.
missing=()
if command -v fc-list >/dev/null 2>&1; then
  [ -n "$(fc-list :lang=zh family 2>/dev/null | head -n 1)" ] || missing+=(fonts-noto-cjk)
fi
if [[ ",$EXTRAS," == *,test,* ]] && ! command -v pdftotext >/dev/null 2>&1; then
  missing+=(poppler-utils)  # the PDF tests read the documents back with pdftotext; without it they are skipped
fi
if [ "${NEED_DISPLAY_LIBS:-0}" = 1 ] && command -v ldconfig >/dev/null 2>&1; then
  for lib in libxcb-icccm.so.4:libxcb-icccm4 libxcb-keysyms.so.1:libxcb-keysyms1 \
             libxcb-cursor.so.0:libxcb-cursor0 libxkbcommon-x11.so.0:libxkbcommon-x11-0 libEGL.so.1:libegl1; do
    ldconfig -p | grep -q "${lib%%:*}" || missing+=("${lib##*:}")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "提示：系统缺少以下软件包（中文字体、窗口所需的库或读取 PDF 的工具），请安装：" >&2
  echo "  sudo apt-get install ${missing[*]}" >&2
fi

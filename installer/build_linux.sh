#!/usr/bin/env bash
# Build the Linux one-folder bundle from installer/fanpin.spec and smoke-test it.
#   installer/build_linux.sh            → dist/fanpin-workbench/ and dist/fanpin-workbench-linux.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
.venv/bin/python -m pip install -q --disable-pip-version-check "pyinstaller>=6.0" 2> >(grep -v '^WARNING: Location' >&2)
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller installer/fanpin.spec
cp installer/linux/fanpin-workbench.desktop dist/fanpin-workbench/
QT_QPA_PLATFORM=offscreen dist/fanpin-workbench/fanpin-workbench --self-test
tar -czf dist/fanpin-workbench-linux.tar.gz -C dist fanpin-workbench
du -sh dist/fanpin-workbench dist/fanpin-workbench-linux.tar.gz

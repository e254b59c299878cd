#!/usr/bin/env bash
# Build the Linux one-folder bundle from installer/fanpin.spec and smoke-test it.
#   installer/build_linux.sh            → dist/fanpin-workbench/ and dist/fanpin-workbench-linux.tar.gz
# The bundle holds two executables, fanpin-workbench (window) and fanpin-cli (command line, --self-test),
# exactly as on Windows; the versions installed are the pinned ones in installer/constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh postgres
.venv/bin/python -m pip install -q --disable-pip-version-check -c installer/constraints.txt pyinstaller \
  2> >(grep -v '^WARNING: Location' >&2)
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller installer/fanpin.spec
cp installer/linux/fanpin-workbench.desktop dist/fanpin-workbench/
want="$(.venv/bin/python installer/versioninfo.py)"
for exe in fanpin-workbench fanpin-cli; do
  got="$(dist/fanpin-workbench/$exe --version)"
  [ "${got##* }" = "$want" ] || { echo "$exe --version 输出“$got”，应为 $want（pyproject.toml）" >&2; exit 1; }
done
QT_QPA_PLATFORM=offscreen dist/fanpin-workbench/fanpin-cli --self-test
tar -czf dist/fanpin-workbench-linux.tar.gz -C dist fanpin-workbench
du -sh dist/fanpin-workbench dist/fanpin-workbench-linux.tar.gz

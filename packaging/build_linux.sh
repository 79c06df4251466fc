#!/usr/bin/env bash
# Build the Linux one-folder bundle dist/holmtray with PyInstaller (packaging/holmtray.spec).
#
#   bash packaging/build_linux.sh
#
# Creates (or reuses) a build venv, installs this checkout (not editable: the bundle gets what
# `pip install .` gives) and PyInstaller, runs the spec and prints the output folder as the
# last line. Everything it writes is gitignored: build/ (venv, work files) and dist/.
# Environment: PYTHON (default python3, 3.11+), HOLMTRAY_BUILD_VENV (default build/bundle-venv).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${HOLMTRAY_BUILD_VENV:-$root/build/bundle-venv}
python=${PYTHON:-python3}
started=$SECONDS

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
# A local folder is always rebuilt and reinstalled, so the bundle has the checkout's code.
"$venv/bin/python" -m pip install -q "$root" "pyinstaller>=6.10,<7"

"$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$root/dist" --workpath "$root/build/pyinstaller" \
  "$root/packaging/holmtray.spec"

out=$root/dist/holmtray
echo "built $(du -sh "$out" | cut -f1) in $((SECONDS - started)) s:" >&2
echo "$out"

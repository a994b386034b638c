#!/usr/bin/env bash
# The desktop applications as one folder for a Linux desktop with no Python: the
# program ipics-lab (the trainer's lab, ipics-lab console|phone|mobile|telephone, and
# every other command of ipics-lab) with its Python, its Qt and its package data.
#
#   packaging/bundle.sh [DEST]     the bundle is DEST/ipics-lab (default: build/bundle)
#
# Built with PyInstaller (the [dev] extra) from the checkout as a user installs it: the
# sdist and the wheel (python -m build), the wheel installed without dependencies into a
# temporary folder, the third-party packages from the virtualenv (.venv, or $PYTHON's).
# The new bundle replaces DEST/ipics-lab only once it is complete and answers --version.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-$root/.venv/bin/python}
say() { echo "bundle: $*" >&2; }

case "${1:-}" in
  -h | --help) sed -n '2,11p' "$0" | cut -c3-; exit 0 ;;
  -*) say "unknown option $1; usage: packaging/bundle.sh [DEST]"; exit 2 ;;
esac
[ $# -le 1 ] || { say "one folder at most; usage: packaging/bundle.sh [DEST]"; exit 2; }
dest=${1:-$root/build/bundle}

if [ ! -x "$py" ]; then
  say "no Python at $py; run packaging/bootstrap.sh first (or set PYTHON to a Python 3.11+ with the [dev] extra)"
  exit 2
fi
if ! "$py" -c 'import PyInstaller, build, PySide6, qasync, keyring' 2>/dev/null; then
  say "$py lacks PyInstaller, build or the desktop packages; install them with: $py -m pip install -e '$root[dev]'"
  exit 2
fi
if ! command -v objdump >/dev/null; then
  say "PyInstaller reads the binaries with objdump, not installed here; install it with: apt-get install binutils"
  exit 2
fi
if ! mkdir -p "$dest" 2>/dev/null || [ ! -w "$dest" ]; then
  say "cannot write to $dest; name a folder you can write to: packaging/bundle.sh DEST"
  exit 2
fi
dest=$(cd "$dest" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/ipics-bundle.XXXXXX")
trap 'rm -rf "$work" "$dest/.ipics-lab.new.$$"' EXIT  # a move cut short leaves no half bundle
log=$work/log
step() {  # step WHAT COMMAND...: run it quietly; its output only when it fails
  local what=$1 began=$SECONDS
  shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    say "$what failed (above: the end of its output); nothing was changed in $dest"
    exit 1
  fi
  say "$what: $((SECONDS - began)) s"
}

step "sdist and wheel" "$py" -m build --outdir "$work/dist" "$root"
wheels=("$work"/dist/ipics_ha_lab-*.whl)
step "the wheel, without its dependencies" \
  "$py" -m pip install -q --no-deps --no-compile --target "$work/site" "${wheels[0]}"
# The installed packages first on the path: PyInstaller takes them, not the checkout.
# From the temporary folder: python -m puts the working directory first on the path, and
# the checkout's own metadata (an editable install's egg-info) must not be found there.
step "PyInstaller" env -C "$work" PYTHONPATH="$work/site" "$py" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$work/out" --workpath "$work/pyinstaller" "$root/packaging/bundle/ipics-lab.spec"
new=$work/out/ipics-lab
version=$("$new/ipics-lab" --version) || { say "the new bundle does not start; nothing was changed in $dest"; exit 1; }

# Into place: the old bundle (if any) goes only once the new one is there.
mv "$new" "$dest/.ipics-lab.new.$$"
if [ -e "$dest/ipics-lab" ]; then
  mv "$dest/ipics-lab" "$dest/.ipics-lab.old.$$"
fi
mv "$dest/.ipics-lab.new.$$" "$dest/ipics-lab"
rm -rf "$dest/.ipics-lab.old.$$"
say "$version in $dest/ipics-lab ($(du -sm "$dest/ipics-lab" | cut -f1) MB): run $dest/ipics-lab/ipics-lab"

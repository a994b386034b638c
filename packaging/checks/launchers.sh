#!/usr/bin/env bash
# The desktop's launchers (ipics-lab launchers install | uninstall): the shipped desktop
# entries and AppStream metainfo are valid, the PNG icons match their SVGs, the wheel
# carries them, and an install into an empty XDG_DATA_HOME writes valid launchers that
# run this checkout's .venv/bin/ipics-lab, which uninstall removes to the last file.
# Needs the Debian packages desktop-file-utils and appstream (packaging/bootstrap.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
py=.venv/bin/python
program=$PWD/.venv/bin/ipics-lab
data=desktop/launchers
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say() { echo "launchers: $*"; }

say "desktop-file-validate on $data/applications/*.desktop"
desktop-file-validate "$data"/applications/*.desktop

say "appstreamcli validate on $data/metainfo/*.xml"
appstreamcli validate --no-net "$data"/metainfo/*.metainfo.xml

say "the PNG icons are rendered from their SVGs (packaging/render_icons.py --check)"
"$py" packaging/render_icons.py --check

say "the wheel carries every launcher file"
# from a copy of the checkout's files (tracked or new, not ignored): no stale build/ folder
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/src" 2>/dev/null || true
"$py" -m pip wheel -q --no-deps --wheel-dir "$work/wheel" "$work/src" >"$work/wheel.log" 2>&1 \
  || { cat "$work/wheel.log" >&2; exit 1; }
shipped=$(cd "$data" && find applications icons metainfo -type f | sort)
in_wheel=$("$py" -c 'import sys, zipfile
prefix = "ipics_desktop/launchers/"
names = zipfile.ZipFile(sys.argv[1]).namelist()
print("\n".join(sorted(n[len(prefix):] for n in names if n.startswith(prefix) and not n.endswith(".py"))))' \
  "$work"/wheel/*.whl)
if [ "$shipped" != "$in_wheel" ]; then
  echo "launchers: the wheel's launcher files differ from $data (pyproject's package-data):" >&2
  diff <(echo "$shipped") <(echo "$in_wheel") >&2 || true
  exit 1
fi

export XDG_DATA_HOME=$work/share
mkdir "$XDG_DATA_HOME"
say "ipics-lab launchers install into an empty XDG_DATA_HOME ($XDG_DATA_HOME)"
"$program" launchers install
desktop-file-validate "$XDG_DATA_HOME"/applications/*.desktop
appstreamcli validate --no-net "$XDG_DATA_HOME"/metainfo/*.metainfo.xml
for entry in "$XDG_DATA_HOME"/applications/*.desktop; do
  exec_line=$(grep '^Exec=' "$entry")
  case "$exec_line" in
    "Exec=$program" | "Exec=$program "*) ;;
    *) echo "launchers: $entry runs $exec_line, not $program" >&2; exit 1 ;;
  esac
  icon=$(sed -n 's/^Icon=//p' "$entry")
  for size in 16x16 24x24 32x32 48x48 64x64 128x128 256x256 512x512; do
    test -s "$XDG_DATA_HOME/icons/hicolor/$size/apps/$icon.png" || { echo "launchers: no $size icon $icon" >&2; exit 1; }
  done
  test -s "$XDG_DATA_HOME/icons/hicolor/scalable/apps/$icon.svg" || { echo "launchers: no SVG icon $icon" >&2; exit 1; }
  args=${exec_line#"Exec=$program"}
  say "$(basename "$entry"): $program$args --help"
  # shellcheck disable=SC2086  # the entry's arguments are plain words
  "$program" $args --help >/dev/null
done
say "install again: nothing changes"
before=$(cd "$XDG_DATA_HOME" && find . -type f -exec sha256sum {} + | sort)
"$program" launchers install >/dev/null
after=$(cd "$XDG_DATA_HOME" && find . -type f -exec sha256sum {} + | sort)
[ "$before" = "$after" ] || { echo "launchers: a second install changed the files" >&2; exit 1; }

say "ipics-lab launchers uninstall"
"$program" launchers uninstall
left=$(find "$XDG_DATA_HOME" -mindepth 1)
if [ -n "$left" ]; then
  echo "launchers: uninstall left these behind:" >&2
  echo "$left" >&2
  exit 1
fi
say "ok"

#!/usr/bin/env bash
# The desktop bundle, as a desktop with no Python sees it: built from this checkout
# into a temporary folder (packaging/bundle.sh), then run with an environment that
# has nothing of the checkout or its virtualenv: --version; the IDC shows its login
# dialog under Xvfb (the xcb platform) and offscreen; without a display it says what to
# do; the lab runs the earthquake scenario headless and passes.  About 1.5 minutes, the
# build most of it.
set -euo pipefail
cd "$(dirname "$0")/../.."
began=$SECONDS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipics-bundle-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "bundle check: FAILED: $*" >&2; exit 1; }

echo "bundle check: building the bundle from the checkout into $tmp"
packaging/bundle.sh "$tmp" 2>&1
app=$tmp/ipics-lab/ipics-lab
mkdir -p "$tmp/home"
# A user's desktop session: no PYTHONPATH, no virtualenv, no Qt variables.
user=(env -i HOME="$tmp/home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8)

echo "bundle check: --version prints the project's version"
expected="ipics-lab $(.venv/bin/python -c 'from ipics_server.about import version; print(version())')"
[ "$("${user[@]}" "$app" --version)" = "$expected" ] || fail "--version printed '$("${user[@]}" "$app" --version)', not '$expected'"

echo "bundle check: it carries Qt's xcb, Wayland and offscreen platforms, image formats and the package data"
for f in PySide6/Qt/plugins/platforms/libqxcb.so PySide6/Qt/plugins/platforms/libqwayland.so \
  PySide6/Qt/plugins/platforms/libqoffscreen.so PySide6/Qt/plugins/imageformats/libqsvg.so \
  PySide6/Qt/plugins/imageformats/libqjpeg.so ipics_lab/scenario/builtin/earthquake.toml \
  ipics_server/admin_console/templates ipics_server/admin_console/static; do
  [ -e "$tmp/ipics-lab/_internal/$f" ] || fail "the bundle has no $f"
done
compgen -G "$tmp/ipics-lab/_internal/ipics_lab/data/licenses/*.lic" >/dev/null || fail "the bundle has no sample licenses"
compgen -G "$tmp/ipics-lab/_internal/ipics_ha_lab-*.dist-info" >/dev/null || fail "the bundle lacks the wheel's metadata"

# shown ENV...: the console started with ENV shows its login dialog (its JSON line on
# stdout) within 30 s, and closes on SIGTERM.
shown() {
  local out=$tmp/shown.out
  : >"$out"
  "${user[@]}" "$@" "$app" console --profile-dir "$tmp/profile" --report-shown >"$out" 2>"$tmp/shown.err" &
  local pid=$! t
  for t in $(seq 300); do
    grep -q '"login_dialog_shown_s"' "$out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '"login_dialog_shown_s"' "$out" || { kill -9 "$pid" 2>/dev/null; cat "$tmp/shown.err" >&2; return 1; }
  kill -TERM "$pid"
  wait "$pid" || { echo "exit $? after SIGTERM" >&2; cat "$tmp/shown.err" >&2; return 1; }
  echo "  $(cat "$out")"
}

echo "bundle check: ipics-lab console shows its login dialog under Xvfb (xcb)"
xvfb-run -a bash -c "$(declare -p app tmp user; declare -f shown)"'; shown DISPLAY="$DISPLAY" XAUTHORITY="$XAUTHORITY"' ||
  fail "the console showed no login dialog under Xvfb"

echo "bundle check: ipics-lab console shows its login dialog offscreen"
shown QT_QPA_PLATFORM=offscreen || fail "the console showed no login dialog offscreen"

echo "bundle check: without a display, ipics-lab console says what to do"
if "${user[@]}" "$app" console >"$tmp/nodisplay.out" 2>&1; then fail "the console started without a display"; fi
grep -q "no display.*xvfb-run -a" "$tmp/nodisplay.out" || fail "without a display it said: $(cat "$tmp/nodisplay.out")"

echo "bundle check: ipics-lab scenario run earthquake --time-scale 0.01 passes headless"
"${user[@]}" "$app" scenario run earthquake --time-scale 0.01 >"$tmp/scenario.out" 2>&1 || {
  tail -n 30 "$tmp/scenario.out" >&2
  fail "the earthquake scenario did not pass"
}
tail -n 1 "$tmp/scenario.out"

echo "bundle check: passed in $((SECONDS - began)) s"

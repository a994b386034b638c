#!/usr/bin/env bash
# Install what the lab and its tests need on a fresh Debian machine, as root:
# Debian packages with apt-get, Python packages into .venv at the checkout root.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv python3-pip
  # Qt offscreen (PySide6): each was a real ImportError on a clean root
  libgl1 libegl1 libxkbcommon0 libglib2.0-0 libfontconfig1 libdbus-1-3 fonts-dejavu-core
  # Qt under Xvfb, for screenshots and demos
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-render-util0 libxcb-shape0 xvfb xauth
  openssh-client procps curl
  # the sites topology (ipics-lab up --topology sites): namespaces, veth, bridge; the kernel's faults
  iproute2 nftables
  # the Administration Console's browser tests (Playwright drives Debian's Chromium)
  chromium
  # packaging/checks/systemd.sh: systemd-analyze verify/security; unshare, setpriv, findmnt, mount
  systemd util-linux mount
  # the desktop's launchers: their validators and GLib's launcher (packaging/checks/launchers.sh, tests/packaging)
  desktop-file-utils appstream libglib2.0-bin
  # the desktop bundle (packaging/bundle.sh): PyInstaller reads and strips the binaries
  # with binutils, and bundles the shared libpython of Debian's Python
  binutils libpython3.11
  # monitoring with the real programs (tests/pair/test_monitoring_tools.py, run as the
  # test's own processes, never as services) and promtool (packaging/checks/prometheus-rules.sh)
  prometheus haproxy
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A python3 that is not Debian's (pyenv, say) may already have venv; then Debian's is not needed.
if command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do case "$p" in python3|python3-venv|python3-pip) ;; *) filtered+=("$p");; esac; done
  missing=("${filtered[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: missing Debian packages (run as root to install): ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

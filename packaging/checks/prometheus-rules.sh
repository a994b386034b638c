#!/usr/bin/env bash
# The Prometheus alert rules (packaging/prometheus/alerts.yml): valid for Prometheus
# (promtool check rules), and each alert fires on what should fire it and not on a
# healthy pair (promtool test rules, alerts_test.yml).  promtool comes with Debian's
# prometheus package, which packaging/bootstrap.sh installs.
set -euo pipefail
cd "$(dirname "$0")/../prometheus"
command -v promtool >/dev/null || { echo "prometheus rules check: promtool is missing: run packaging/bootstrap.sh as root" >&2; exit 1; }
promtool check rules alerts.yml
promtool test rules alerts_test.yml

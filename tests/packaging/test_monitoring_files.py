"""The Grafana dashboard and the Prometheus alert rules under packaging/ speak of the
metrics ``GET /metrics`` serves, as docs/server.md lists them (issue 18), and every
query in them is PromQL Prometheus takes (checked by its own ``promtool``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ..prometheus_text import documented_metrics

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
DASHBOARD = PACKAGING / "grafana" / "ipics-ha-pair.json"
ALERTS = PACKAGING / "prometheus" / "alerts.yml"
#: Grafana's variables, as Grafana would fill them in, for promtool
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$job": ".*"}


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def metric_names(text: str) -> set[str]:
    return set(re.findall(r"\b(ipics_[a-z_]+)\b", text))


def test_the_dashboard_shows_every_documented_metric_and_no_other():
    assert metric_names("\n".join(dashboard_queries())) == set(documented_metrics())


def test_every_dashboard_panel_says_what_it_shows():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["title"] and panel["description"], panel["id"]
        assert all(t["datasource"]["uid"] == "${DS_PROMETHEUS}" for t in panel["targets"]), panel["title"]


def test_the_alert_rules_name_only_documented_metrics():
    assert metric_names(ALERTS.read_text()) <= set(documented_metrics())


@pytest.mark.pair  # it runs promtool: a process, so not the fast tier
def test_every_dashboard_query_is_promql_prometheus_takes(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is missing: run packaging/bootstrap.sh as root (Debian package prometheus)", pytrace=False
        )
    rules = []
    for i, expr in enumerate(dashboard_queries()):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        rules.append(f"      - record: ipics:dashboard_query_{i}\n        expr: {json.dumps(expr)}\n")
    path = tmp_path / "dashboard_rules.yml"
    path.write_text("groups:\n  - name: dashboard\n    rules:\n" + "".join(rules))
    checked = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr

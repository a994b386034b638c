"""The Prometheus text exposition format (version 0.0.4), written by hand: a few
families of gauges and counters need no client library and no process-wide registry.

Each family has its HELP and TYPE lines, then one line per sample; label values are
escaped as the format says (backslash, double quote, newline).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Family:
    name: str
    kind: str  # "gauge" or "counter"
    help: str
    samples: list[tuple[Mapping[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Family:
        self.samples.append((labels, value))
        return self


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def render(families: Iterable[Family], common: Mapping[str, str] | None = None) -> str:
    """The exposition text; ``common`` labels go on every sample (as Patroni's ``scope``
    and ``name``)."""
    lines: list[str] = []
    for f in families:
        lines.append(f"# HELP {f.name} {f.help.replace(chr(92), chr(92) * 2).replace(chr(10), chr(92) + 'n')}")
        lines.append(f"# TYPE {f.name} {f.kind}")
        for labels, value in f.samples:
            merged = {**(common or {}), **labels}
            text = ",".join(f'{k}="{_escape(v)}"' for k, v in merged.items())
            lines.append(f"{f.name}{{{text}}} {_number(value)}" if text else f"{f.name} {_number(value)}")
    return "\n".join(lines) + "\n"

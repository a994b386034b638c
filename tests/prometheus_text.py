"""Reading ``GET /metrics`` as a scraper does, and the metrics docs/server.md promises."""

from __future__ import annotations

import re
from pathlib import Path

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
DOCS = Path(__file__).resolve().parents[1] / "docs" / "server.md"


class Exposition:
    """The families (name -> (type, help)) and samples ((name, labels) -> value) of an
    exposition text; any line that is not the format fails."""

    def __init__(self, text: str):
        self.families: dict[str, tuple[str, str]] = {}
        self.samples: dict[tuple[str, frozenset], float] = {}
        helps: dict[str, str] = {}
        for line in text.splitlines():
            if line.startswith("# HELP "):
                name, _, text_ = line[7:].partition(" ")
                helps[name] = text_
            elif line.startswith("# TYPE "):
                name, _, kind = line[7:].partition(" ")
                assert name in helps and name not in self.families, f"TYPE without one HELP before it: {line}"
                self.families[name] = (kind, helps[name])
            else:
                match = _SAMPLE.match(line)
                assert match, f"not the exposition format: {line!r}"
                name, labels, value = match.groups()
                assert name in self.families, f"a sample before its family's TYPE: {line}"
                self.samples[(name, frozenset(_LABEL.findall(labels or "")))] = float(value)

    def value(self, name: str, **labels: str) -> float:
        """The one sample of ``name`` whose labels include ``labels``."""
        found = [v for (n, ls), v in self.samples.items() if n == name and set(labels.items()) <= ls]
        assert len(found) == 1, f"{name}{labels}: {len(found)} samples"
        return found[0]


def documented_metrics(table: str = "name") -> dict[str, str]:
    """A table of metrics in docs/server.md, by the heading of its first column (a
    server's ``name``, the witness process's ``witness metric``): name -> type."""
    text = DOCS.read_text()
    block = text[text.index(f"| {table} | type | meaning |") :].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(ipics_[a-z_]+)` \| (gauge|counter) \|", block, re.MULTILINE)
    return dict(rows)

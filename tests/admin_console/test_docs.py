"""docs/admin-console.md lists every element id the Administration Console's templates give."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def template_ids() -> set[str]:
    ids: set[str] = set()
    for template in (ROOT / "server/admin_console/templates").glob("*.html"):
        text = template.read_text()
        ids |= set(re.findall(r'\sid="([a-z0-9-]+)"', text))
        ids |= set(re.findall(r'\b(?:action|number)\("([a-z0-9-]+)"', text))  # the macros' ids
    return ids


def test_every_element_id_is_documented_and_every_documented_one_exists():
    documented = set(re.findall(r"^\| `#([a-z0-9-]+)`", (ROOT / "docs/admin-console.md").read_text(), re.M))
    ids = template_ids()
    assert ids - documented == set(), "in a template but not in docs/admin-console.md"
    assert documented - ids == set(), "in docs/admin-console.md but in no template"

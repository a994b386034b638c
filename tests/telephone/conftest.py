"""Telephones against the real pair (the pair fixtures of tests/pair)."""

from ..pair.conftest import demo, lab, pair  # noqa: F401 (fixtures)

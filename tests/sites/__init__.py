"""The sites topology's tests: as root, one lab's namespaces at a time (``SITES``)."""

import pytest

from ipics_lab.sites import why_not_here

#: every test here: starts processes, runs in the "sites" xdist group (one worker, so
#: two labs never race for their numbers), skipped with the reason without root
SITES = [
    pytest.mark.pair,
    pytest.mark.xdist_group("sites"),
    pytest.mark.skipif(why_not_here() is not None, reason=why_not_here() or ""),
]

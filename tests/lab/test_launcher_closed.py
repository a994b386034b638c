"""A zygote launcher that is not running says so (no process started: the fast tier)."""

from __future__ import annotations

import pytest

from ipics_lab.launcher import ZygoteError, ZygoteLauncher


def test_asking_a_closed_zygote_for_an_exit_code_is_a_zygote_error():
    # a forked child that ends after the launcher closed asks it for its exit code
    launcher = ZygoteLauncher()
    launcher.close()
    with pytest.raises(ZygoteError, match="not running"):
        launcher.exit_code(12345, timeout_s=0)

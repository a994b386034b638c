"""The per-test timeout (pytest-timeout, ``timeout`` in pyproject.toml): a hung test,
async ones included, fails with a traceback that shows where it hung, and the run goes
on.  An in-process pytest run (pytester) with a one-second timeout."""

from __future__ import annotations

import pytest


def test_a_hung_async_test_fails_with_where_it_hung_and_the_run_goes_on(pytester: pytest.Pytester):
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "ipics_zygote = false\ntimeout = 1\ntimeout_method = signal\n"
    )
    pytester.makepyfile(
        test_case="""
        import asyncio

        async def test_hangs():
            await asyncio.Event().wait()  # nobody sets it

        def test_next():
            pass
    """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*Failed: Timeout (>1.0s) from pytest-timeout*"])
    result.stdout.fnmatch_lines(["*await asyncio.Event().wait()  # nobody sets it*"])

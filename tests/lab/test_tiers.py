"""The two tiers (lab/pytest_tiers.py): what carries the ``pair`` marker, and that a test
without it cannot start a process.  In-process pytest runs (pytester): no process is
started here, so this module is itself in the fast tier."""

from __future__ import annotations

import textwrap

import pytest

STRICT_INI = """
    [pytest]
    asyncio_mode = auto
    asyncio_default_fixture_loop_scope = function
    ipics_strict_pair_marker = true
    ipics_zygote = false
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(textwrap.dedent(STRICT_INI))
    return pytester


def test_a_test_without_the_marker_cannot_start_a_process(project: pytest.Pytester, tmp_path):
    ran = tmp_path / "ran"
    project.makepyfile(f"""
        import subprocess, sys

        def test_runs_python():
            subprocess.run([sys.executable, "-c", "open({str(ran)!r}, 'w')"], check=True)
    """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*UnmarkedProcessError*test_runs_python starts a process*not marked 'pair'*"])
    assert not ran.exists(), "the process was started all the same"


def test_a_refusal_the_code_hides_still_fails_the_test(project: pytest.Pytester):
    project.makepyfile("""
        import subprocess, sys

        def test_hides_it():
            try:
                subprocess.run([sys.executable, "-c", "pass"])
            except Exception:
                pass  # a library that swallows every error
    """)
    result = project.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_hides_it*", "*starts a process*not marked 'pair'*"])


def test_a_marked_test_or_one_using_a_process_fixture_is_in_the_pair_tier(project: pytest.Pytester):
    # ipics_lab.spawn is the audit event of every process the lab starts; raising it
    # here stands for a start without starting anything.
    project.makepyfile(
        test_case="""
        import sys
        import pytest
        from ipics_lab.pytest_tiers import starts_processes

        def start():
            sys.audit("ipics_lab.spawn", ["server"])

        @pytest.fixture
        @starts_processes
        def own_server():
            start()

        @pytest.fixture
        def through_another(own_server):
            return own_server

        @pytest.mark.pair
        def test_marked():
            start()

        def test_own_fixture(through_another):
            pass

        async def test_plugin_fixture(ipics_addresses):
            pass

        def test_fast():
            pass
    """
    )
    project.runpytest("-m", "pair", "--collect-only", "-q").stdout.fnmatch_lines(
        ["*::test_marked", "*::test_own_fixture", "*::test_plugin_fixture", "3/4 tests collected (1 deselected)*"]
    )
    project.runpytest("-m", "not pair").assert_outcomes(passed=1, deselected=3)
    # (test_plugin_fixture would start a pair: only collected here)
    project.runpytest("-k", "test_marked or test_own_fixture").assert_outcomes(passed=2, deselected=2)


def test_starts_processes_goes_under_the_fixture_decorator():
    from ipics_lab.pytest_tiers import starts_processes

    with pytest.raises(TypeError, match="under @pytest.fixture"):

        @starts_processes
        @pytest.fixture
        def wrong_order():
            pass


def test_without_the_ini_option_a_plugin_user_may_start_processes_freely(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile("""
        import sys

        def test_starts():
            sys.audit("ipics_lab.spawn", ["server"])
    """)
    pytester.runpytest().assert_outcomes(passed=1)

"""The Qt tests' loop (ipics_desktop.testing.qasync_loop) between a test's phases."""

import asyncio

from ipics_desktop.testing import qasync_loop


def test_a_task_that_qt_steps_between_a_tests_phases_finds_its_loop(qtbot):
    """pytest-qt processes Qt events after a test returns and around its fixtures, outside
    the loop's run_until_complete; a task of the test (a console still reconnecting)
    steps then.  Its aiohttp request asks asyncio.timeout, which needs the running loop."""
    loop = qasync_loop()
    try:

        async def a_request_after_the_test():
            await asyncio.sleep(0)
            async with asyncio.timeout(None):  # what aiohttp's connector does first
                return asyncio.get_running_loop()

        task = loop.create_task(a_request_after_the_test())
        qtbot.waitUntil(task.done, timeout=5000)  # Qt's event processing, as pytest-qt's
        assert task.result() is loop
        assert asyncio._get_running_loop() is None  # and left as it was
    finally:
        loop.close()

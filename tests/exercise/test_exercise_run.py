"""An exercise on a real pair, with a scripted trainee at the real interfaces: the
Administration Console's forms (as a browser posts them) and the server shell over SSH.
Graded from what the servers saw."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from ipics_clients.session import State
from ipics_lab.exercise import load_exercise
from ipics_lab.exercise.runner import ExerciseRun
from ipics_lab.pytest_tiers import starts_processes
from ipics_lab.recording import read_recording
from ipics_lab.scenario.clients import ScenarioClient
from ipics_lab.supervisor import wait_until
from ipics_lab.trainer.lab import TrainerLab
from ipics_server.core.commands import REPAIR, RSYNC

from ..admin_console.test_admin_console_http import _CSRF, Browserless

TIME_SCALE = 0.01
INTERVAL_S = 5
MISSED = 5
#: real seconds for the setup (a takeover of up to 180 emulated s, the split seen) and each step
SETUP_S = 40
STEP_S = 15


@contextlib.asynccontextmanager
async def started_lab(tmp_path, **options):
    lab = TrainerLab(tmp_path / "lab", time_scale=TIME_SCALE, interval_s=INTERVAL_S, missed_count=MISSED, **options)
    try:
        await lab.start()
        yield lab
    finally:
        lab.stop()


@pytest.fixture
@starts_processes
async def exercise_lab(tmp_path):
    async with started_lab(tmp_path, media=False) as lab:
        yield lab


async def console_action(lab: TrainerLab, server: str, action: str) -> None:
    """Log in to ``server``'s Administration Console and press ``action`` on the HA
    Configuration tab, as the browser posts the form."""
    s = lab.server(server)
    console = Browserless(s.url)
    try:
        await console.log_in(lab.pair.admin_password)
        status, page = await console.page("/admin/ha/configuration")
        assert status == 200, page
        token = _CSRF.search(page).group(1)
        status, text, _ = await console.post(f"/admin/ha/{action}", {"csrf_token": token})
        assert status in (200, 303), text
    finally:
        await console.http.close()


async def start_exercise(lab: TrainerLab, tmp_path) -> tuple[ExerciseRun, asyncio.Task]:
    run = ExerciseRun(lab, load_exercise("split-brain-method-1"), recording=tmp_path / "run.ipicsrec")
    task = asyncio.get_running_loop().create_task(run.run())
    await wait_until(lambda: run.started or task.done(), SETUP_S, "the setup to make the split brain")
    assert run.started, task.result()
    return run, task


async def the_secondary_is_standby(lab: TrainerLab) -> None:
    await lab.pair.wait_status(lab.server("secondary"), STEP_S, role="standby")


async def test_the_chapters_method_1_done_through_the_console_and_the_shell_passes(exercise_lab, tmp_path):
    lab = exercise_lab
    run, task = await start_exercise(lab, tmp_path)

    await console_action(lab, "secondary", "go-standby")
    await the_secondary_is_standby(lab)
    out, status = await lab.pair.shell(lab.server("secondary"), REPAIR, user="informix")
    assert status == 0, out
    await lab.pair.wait_status(lab.server("primary"), STEP_S, standby_server_status="Ready")
    out, status = await lab.pair.shell(lab.server("primary"), RSYNC)
    assert status == 0, out

    grade = await asyncio.wait_for(task, STEP_S)
    assert grade.passed and grade.score == 100, grade.lines()
    assert grade.records_lost == 0 and grade.time_to_recover_s is not None
    assert [(s.action, s.server, s.verdict) for s in grade.steps] == [
        ("go-standby", "secondary", "procedure step 1"),
        ("repair", "secondary", "procedure step 2"),
        ("rsync", "primary", "procedure step 3"),
    ]
    recording = read_recording(tmp_path / "run.ipicsrec")
    assert recording.header.kind == "exercise" and recording.result["grade"]["passed"] is True
    assert any("Administration Console: go-standby" in r["text"] for r in recording.of_type("event"))


async def test_go_standby_on_the_primary_is_named_with_the_chapters_reason(exercise_lab, tmp_path):
    lab = exercise_lab
    run, task = await start_exercise(lab, tmp_path)

    await console_action(lab, "primary", "go-standby")
    await lab.pair.wait_status(lab.server("primary"), STEP_S, role="standby")
    run.stop()  # the trainee types done

    grade = await asyncio.wait_for(task, STEP_S)
    assert not grade.passed
    wrong = [d for d in grade.deductions if d.what == "Go Standby on the primary"]
    assert wrong and wrong[0].points == 30, grade.lines()
    assert "Cisco recommends that you keep the primary server in active state" in wrong[0].chapter
    assert grade.steps[0].verdict == "mistake: Go Standby on the primary"
    assert any(d.what.startswith("goal not met") for d in grade.deductions)


@pytest.fixture
@starts_processes
async def dispatcher_lab(tmp_path):
    # The console is offline from the power-off until the secondary is active: the
    # missed heartbeats and the takeover, over 100 emulated s (1 real s here), for a
    # press that takes milliseconds.  Only the exercise's recording: it narrates.
    async with started_lab(tmp_path, record=None) as lab:
        yield lab


async def test_the_dispatcher_talks_while_his_console_is_offline_and_it_reconnects_by_itself(dispatcher_lab, tmp_path):
    lab = dispatcher_lab
    said: list[str] = []
    run = ExerciseRun(
        lab, load_exercise("dispatcher-offline-ptt"), recording=tmp_path / "run.ipicsrec", on_event=said.append
    )
    task = asyncio.get_running_loop().create_task(run.run())
    dan = ScenarioClient(
        "dan",
        tmp_path / "dan",
        urls=lab.urls,
        names=dict(zip(lab.urls, ("primary", "secondary"), strict=True)),
        clock=lab.clock,
        media_url=lab.router.url,
        on_event=lambda text: None,
    )
    try:
        # Dan logs in on the active (the exercise waits for him), then the earthquake.
        await wait_until(lambda: any(e.startswith("waiting for dan") for e in said), SETUP_S, "the run to wait")
        await dan.login("primary", lab.users_password, dict(zip(("primary", "secondary"), lab.urls, strict=True)))
        await wait_until(lambda: run.started or task.done(), SETUP_S, "the setup to power the primary off")
        assert run.started, task.result()
        await wait_until(lambda: dan.session.state == State.OFFLINE, STEP_S, "dan's console to go offline")
        dan.ptt_press("Fire")  # the media router carries it while no server answers
        await wait_until(lambda: dan.floor.client.holding(dan.channel_id("Fire")), STEP_S, "the router's floor")
        dan.ptt_release("Fire")
        assert dan.session.state == State.OFFLINE, "the press must fall while the console is offline"

        # No user action: the console takes its session to the new active by itself.
        grade = await asyncio.wait_for(task, SETUP_S)
        assert dan.server_name == "secondary" and dan.session.state == State.ONLINE, dan.session.notices
    finally:
        await dan.close()
    assert grade.passed and grade.goal_met, grade.lines()
    recording = read_recording(tmp_path / "run.ipicsrec")
    assert recording.result["ptt_while_offline"] == 1
    assert any("secondary, API: reconnect by dan: done" in r["text"] for r in recording.of_type("event"))
    assert [(s.action, s.server, s.verdict) for s in grade.steps] == [
        ("reconnect", "secondary", "the console reconnected by itself")
    ]

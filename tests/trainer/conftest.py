"""A real trainer lab (media router, HA pair, demo data) at a small time scale."""

from __future__ import annotations

import pytest

from ipics_lab.modes import LabModes
from ipics_lab.pytest_tiers import starts_processes
from ipics_lab.trainer.lab import TrainerLab

TIME_SCALE = 0.01
INTERVAL_S = 5
MISSED = 5


@pytest.fixture
def trainer_modes() -> str:
    """The trainer lab's modes, as ``--modes`` takes them: IPICS's unless a test
    parametrizes this (``@pytest.mark.parametrize("trainer_modes", ["witness"])``)."""
    return "ipics"


@pytest.fixture
@starts_processes
async def trainer_lab(tmp_path, trainer_modes):
    lab = TrainerLab(
        tmp_path / "lab",
        time_scale=TIME_SCALE,
        interval_s=INTERVAL_S,
        missed_count=MISSED,
        modes=LabModes.parse(trainer_modes),
    )
    try:
        await lab.start()
        yield lab
    finally:
        lab.stop()

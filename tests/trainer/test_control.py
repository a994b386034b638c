"""The running lab's control socket (lab/trainer/control.py), without a pair."""

import json

from ipics_lab.trainer.actions import Actions
from ipics_lab.trainer.control import SOCKET_NAME, LabControl, ask


async def test_a_lab_deep_in_a_long_path_still_answers_its_commands(tmp_path):
    """A Unix socket's address holds 107 bytes of path: a lab directory deep in a home
    (or under pytest-xdist's temporary folders) went past it, and the lab did not start
    ("AF_UNIX path too long").  The socket stays in the lab directory, owner only."""
    root = tmp_path / ("a-long-lab-directory-name-" * 3) / ("and-deeper-still-" * 3)
    root.mkdir(parents=True, mode=0o700)
    assert len(str(root / SOCKET_NAME)) > 108
    control = LabControl(root, Actions(pair=None))
    await control.start()
    try:
        assert (root / SOCKET_NAME).stat().st_mode & 0o777 == 0o600
        answer = await ask(root, "power-off", "tertiary")  # refused, but answered
        assert answer == {"ok": False, "message": "server must be one of primary, secondary"}, json.dumps(answer)
    finally:
        control.close()
    assert not (root / SOCKET_NAME).exists()

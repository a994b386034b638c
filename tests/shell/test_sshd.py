"""The shell's SSH transport, with the OpenSSH client: exec, interactive, refusals, limits."""

from __future__ import annotations

import pytest

from ipics_server.shell.sshd import MAX_LINE_CHARS

from .conftest import DATE, Ssh

PROMPT = "[ipicsadmin@primary ~]$ "


async def test_exec_runs_one_command_and_returns_its_status(ssh: Ssh):
    status, out, err = await ssh.run("date")
    assert (status, err) == (0, "")
    assert DATE.fullmatch(out.strip()), out

    status, out, err = await ssh.run("frobnicate")
    assert status == 127
    assert "-bash: frobnicate: command not found" in out + err


async def test_informix_logs_in_with_its_password(ssh: Ssh):
    status, out, _ = await ssh.run("date", user="informix")
    assert status == 0 and DATE.search(out)


async def test_a_wrong_password_is_refused_and_the_server_keeps_answering(ssh: Ssh):
    status, out, err = await ssh.run("date", password="not-" + ssh.password)
    assert status == 255 and out == ""
    assert "Permission denied" in err
    status, out, _ = await ssh.run("date")
    assert status == 0 and DATE.search(out)


@pytest.mark.parametrize("user", ["root", "dan", "IPICSADMIN"])
async def test_only_the_shell_users_log_in(ssh: Ssh, user: str):
    status, out, err = await ssh.run("date", user=user)
    assert status == 255 and out == "" and "Permission denied" in err


@pytest.mark.parametrize("term", ["xterm", None], ids=["line-editor", "no-terminal-type"])
async def test_interactive_session_with_a_pty(ssh: Ssh, term: str | None):
    """``ssh -tt``: banner, prompt, the command's output, ``exit`` ends the session.
    Output lines end in CRLF, from asyncssh's line editor or (no terminal type) the shell."""
    status, out, _ = await ssh.run(None, "-tt", stdin=b"date\nexit\n", term=term)
    assert status == 0, out
    assert PROMPT in out and DATE.search(out) and "logout\r\n" in out
    assert "\n" not in out.replace("\r\n", ""), repr(out)


async def test_interactive_session_without_a_pty(ssh: Ssh):
    status, out, _ = await ssh.run(None, "-T", stdin=b"date\nfrobnicate\nexit\n")
    assert status == 0
    assert out.startswith("Cisco IPICS")
    assert out.count(PROMPT) == 3 and DATE.search(out)
    assert "-bash: frobnicate: command not found\n" in out and out.endswith("logout\n")


async def test_end_of_input_logs_out_with_the_last_status(ssh: Ssh):
    status, out, _ = await ssh.run(None, "-T", stdin=b"frobnicate\n")
    assert status == 127 and out.endswith(PROMPT + "logout\n")


async def test_an_over_long_line_is_answered_and_the_session_goes_on(ssh: Ssh):
    long_line = "x" * (4 * MAX_LINE_CHARS)
    status, out, _ = await ssh.run(None, "-T", stdin=f"{long_line}\ndate\nexit\n".encode())
    assert status == 0
    assert "-bash: line too long" in out and DATE.search(out) and long_line[:100] not in out

    status, out, _ = await ssh.run("x" * (MAX_LINE_CHARS + 1))
    assert status == 2 and "-bash: line too long" in out


@pytest.mark.parametrize("term", ["xterm", None], ids=["line-editor", "no-terminal-type"])
async def test_an_over_long_line_on_a_pty_is_refused_not_cut_and_run(ssh: Ssh, term: str | None):
    """Issue 14: with a pty, asyncssh's line editor cut the line at 4,096 characters and
    the cut line ran (here it would be ``date``)."""
    long_line = "date" + " " * (MAX_LINE_CHARS - 4) + "--frobnicate"
    _, out, _ = await ssh.run(None, "-tt", stdin=f"{long_line}\nexit\n".encode(), term=term)
    assert "-bash: line too long" in out, out[-300:]
    assert not DATE.search(out), "the cut line ran"
    assert "logout" in out


@pytest.mark.parametrize("term", ["xterm", None], ids=["line-editor", "no-terminal-type"])
async def test_ctrl_c_drops_the_line_being_typed(ssh: Ssh, term: str | None):
    status, out, _ = await ssh.run(None, "-tt", stdin=b"frobni\x03date\nexit\n", term=term)
    assert status == 0, out
    assert "^C\r\n" + PROMPT in out and DATE.search(out)
    assert "command not found" not in out

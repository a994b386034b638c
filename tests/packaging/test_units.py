"""The systemd units' side in the server (packaging/checks/systemd.sh runs the units
themselves): the password credential, one log line per event for the journal, and
``python -m ipics_server units``."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tomllib
from pathlib import Path

import pytest

from ipics_server.cli import main as server_main
from ipics_server.config import ServerConfig, add_server_arguments, config_from_args
from ipics_server.logsetup import OneLineFormatter, stderr_is_journal
from ipics_server.units import SHIPPED_PYTHON, UNITS, UnitError, unit_text

ROOT = Path(__file__).resolve().parents[2]


def load(tmp_path: Path, *options: str) -> ServerConfig:
    p = argparse.ArgumentParser()
    add_server_arguments(p)
    return config_from_args(p.parse_args(["--data-dir", str(tmp_path / "data"), *options]))


@pytest.fixture
def credentials(tmp_path, monkeypatch):
    folder = tmp_path / "credentials"
    folder.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(folder))
    monkeypatch.delenv("IPICS_ADMIN_PASSWORD", raising=False)
    return folder


def test_the_password_comes_from_the_credential_without_its_newline(tmp_path, credentials, monkeypatch):
    (credentials / "admin-password").write_text("Sec ret!\n")
    monkeypatch.setenv("IPICS_ADMIN_PASSWORD", "from-the-environment")
    assert load(tmp_path).admin_password == "Sec ret!"


def test_a_unit_without_its_password_credential_refuses_in_one_sentence(tmp_path, credentials):
    with pytest.raises(SystemExit) as refused:
        load(tmp_path)
    assert refused.value.code == (
        f"no ipicsadmin password: the credential admin-password is not in {credentials}; give the unit "
        "LoadCredential=admin-password:FILE with the password in FILE (owned by root, mode 600)"
    )
    (credentials / "admin-password").write_text("\n")
    with pytest.raises(SystemExit, match="credential .*admin-password is empty: write the password into its file"):
        load(tmp_path)


def test_the_media_ticket_key_credential_is_the_key_file_unless_one_is_named(tmp_path, credentials):
    (credentials / "admin-password").write_text("pw")
    assert load(tmp_path).media_ticket_key_file is None
    (credentials / "media-ticket-key").write_text("ab" * 32)
    cfg = load(tmp_path, "--media-router", "ws://127.0.0.1:7000/media")
    assert cfg.media_ticket_key_file == credentials / "media-ticket-key"
    assert load(tmp_path, "--media-ticket-key-file", "/k").media_ticket_key_file == Path("/k")


def test_the_tls_key_credential_is_the_key_of_the_certificate_off_loopback(tmp_path, credentials):
    from ipics_lab.ca import init_ca, issue

    (credentials / "admin-password").write_text("pw")
    init_ca(tmp_path / "ca")
    issued = issue(tmp_path / "ca", ip="198.18.0.11", name="primary")
    (credentials / "tls-key").write_bytes(issued.key.read_bytes())
    (credentials / "tls-key").chmod(0o400)  # as systemd hands a credential to the service
    cfg = load(tmp_path, "--host", "198.18.0.11", "--tls-cert", str(issued.cert))
    assert (cfg.tls, cfg.tls_key) == (True, credentials / "tls-key")
    (credentials / "tls-key").chmod(0o440)
    with pytest.raises(SystemExit, match=r"the TLS key .*tls-key may be read by others: chmod 600 it"):
        load(tmp_path, "--host", "198.18.0.11", "--tls-cert", str(issued.cert))


def test_without_credentials_the_environment_gives_the_password(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    monkeypatch.setenv("IPICS_ADMIN_PASSWORD", "from-the-environment")
    assert load(tmp_path).admin_password == "from-the-environment"
    monkeypatch.delenv("IPICS_ADMIN_PASSWORD")
    assert load(tmp_path).admin_password is None  # generated at first start, shown on the terminal


def test_logging_to_the_journal_a_server_needs_a_password(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("IPICS_ADMIN_PASSWORD", raising=False)
    st = os.fstat(2)
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
    assert stderr_is_journal()
    with pytest.raises(SystemExit, match="^no ipicsadmin password: logging to the journal"):
        load(tmp_path)
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino + 1}")  # stderr redirected since
    assert not stderr_is_journal()


def record(msg: str, level: int = logging.ERROR, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("bad\nvalue")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("ipics.server", level, __file__, 1, msg, None, exc_info)


def test_an_event_is_one_line_with_its_traceback_and_no_control_character():
    line = OneLineFormatter("%(levelname)s %(name)s: %(message)s").format(
        record("forged\n2026 primary INFO ipics.server: \x1b[31mred", exc=True)
    )
    assert "\n" not in line and "\x1b" not in line
    assert line.startswith("ERROR ipics.server: forged\\n2026 primary INFO ipics.server: \\x1b[31mred\\nTraceback")
    assert line.endswith("ValueError: bad\\nvalue")


def test_for_the_journal_each_line_starts_with_its_priority():
    journal = OneLineFormatter("%(message)s", journal=True)
    levels = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
    assert [journal.format(record("m", level)) for level in levels] == ["<7>m", "<6>m", "<4>m", "<3>m", "<2>m"]


def test_a_unit_names_the_interpreter_that_prints_it(capsys):
    with pytest.raises(SystemExit) as ended:
        server_main(["units", "--print", "ipics-server@.service", "--python", "/opt/lab/bin/python"])
    assert ended.value.code == 0
    text = capsys.readouterr().out
    assert "\nExecStart=/opt/lab/bin/python -m ipics_server server --name %i --data-dir %S/ipics-ha-lab/%i " in text
    assert "LoadCredential=admin-password:/etc/ipics-ha-lab/%i.admin-password\n" in text
    assert SHIPPED_PYTHON not in text.split("[Service]")[1]


def test_a_unit_for_an_interpreter_missing_here_is_printed_with_a_warning(capsys):
    missing = "/opt/ipics-ha-lab-on-another-host/bin/python"  # meant for another host, say
    assert not os.path.exists(missing)
    with pytest.raises(SystemExit) as ended:
        server_main(["units", "--print", "ipics-media@.service", "--python", str(missing)])
    out, err = capsys.readouterr()
    assert ended.value.code == 0 and f"ExecStart={missing} " in out
    assert err == (
        f"python -m ipics_server units: warning: {missing} is not an interpreter on this host; the unit starts "
        "only where it is (install the virtualenv there first)\n"
    )


def test_units_lists_the_units(capsys):
    with pytest.raises(SystemExit) as ended:
        server_main(["units"])
    assert ended.value.code == 0 and capsys.readouterr().out.split() == list(UNITS)


@pytest.mark.parametrize(
    "name, python, words",
    [
        ("ipics-server.service", "/opt/ipics-ha-lab/bin/python", "there is no unit 'ipics-server.service'"),
        ("ipics-server@.service", "/root/venv/bin/python", "/root/venv/bin/python is under /root, which the unit"),
        ("ipics-media@.service", "/tmp/v/bin/python", "/tmp/v/bin/python is under /tmp, which the unit"),
        ("ipics-media@.service", "venv/bin/python", "'venv/bin/python' cannot start a unit: name an absolute"),
        ("ipics-media@.service", "/opt/my lab/python", "'/opt/my lab/python' cannot start a unit: name an absolute"),
    ],
)
def test_a_unit_that_could_not_start_is_refused_saying_what_to_do(name, python, words):
    with pytest.raises(UnitError, match="^" + re.escape(words)):
        unit_text(name, python)


def test_a_virtualenv_linked_to_a_hidden_python_is_refused(tmp_path, monkeypatch):
    """A virtualenv made by pyenv's Python (in /root) cannot run under ProtectHome=."""
    monkeypatch.setattr("ipics_server.units.HIDDEN", ("/root", "/home"))  # tmp_path itself is in /tmp
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to("/root/.pyenv/versions/3.11.7/bin/python3.11")
    with pytest.raises(UnitError, match="^/root/.pyenv/versions/3.11.7/bin/python3.11 is under /root, which the"):
        unit_text("ipics-server@.service", str(tmp_path / "bin" / "python"))


def test_the_units_are_package_data():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "systemd/*.service" in data["ipics_server"]
    assert sorted(p.name for p in (ROOT / "server" / "systemd").glob("*.service")) == sorted(UNITS)

"""``ipics-lab launchers install | uninstall``: the launchers land in the user's data
folder with Exec naming this installation's ipics-lab, a second install changes
nothing, uninstall takes away exactly what install wrote, and a folder the user cannot
write is refused in one sentence with nothing left behind.

The tests marked ``pair`` run real programs: the command itself (as root without the
capabilities that write anywhere, so a read-only folder is read-only to it too),
``desktop-file-validate`` and ``appstreamcli``."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import pytest

from ipics_desktop import cli, launchers

#: this installation's ipics-lab: beside the Python running the tests (the venv's bin)
PROGRAM = Path(sys.executable).parent / "ipics-lab"


def ipics_lab(*args: str) -> int:
    """``ipics-lab ARGS`` in this process; its exit status."""
    with pytest.raises(SystemExit) as exit_:
        cli.main(list(args))
    return int(exit_.value.code or 0)


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder (None) under ``folder``."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def desktop_entry(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line)


def exec_argv(value: str) -> list[str]:
    """An Exec value as the program and its arguments (the string escapes first, then
    the quoting, which follows the shell's double quotes)."""
    assert "%" not in value.replace("%%", "")  # no field code
    return shlex.split(value.replace("\\\\", "\\").replace("%%", "%"))


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "share"
    home.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def test_install_puts_three_launchers_that_run_this_installation(data: Path, capsys: pytest.CaptureFixture) -> None:
    assert ipics_lab("launchers", "install") == 0
    out = capsys.readouterr().out
    assert "IPICS HA Lab, IPICS Dispatch Console and IP Phone" in out
    assert str(PROGRAM) in out

    commands = {}
    for entry_file in sorted((data / "applications").glob("*.desktop")):
        entry = desktop_entry(entry_file)
        argv = exec_argv(entry["Exec"])
        assert argv[0] == str(PROGRAM) and PROGRAM.is_file() and os.access(PROGRAM, os.X_OK)
        assert entry["TryExec"] == str(PROGRAM)
        commands[entry["Name"]] = argv[1:]
        icon = entry["Icon"]
        assert (data / "icons/hicolor/scalable/apps" / f"{icon}.svg").is_file()
        for size in (16, 24, 32, 48, 64, 128, 256, 512):
            png = data / f"icons/hicolor/{size}x{size}/apps/{icon}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert int.from_bytes(png.read_bytes()[16:20], "big") == size  # IHDR width
    assert commands == {"IPICS HA Lab": [], "IPICS Dispatch Console": ["console"], "IP Phone": ["phone"]}
    metainfo = (data / "metainfo" / f"{launchers.APP_ID}.metainfo.xml").read_text(encoding="utf-8")
    for entry_file in (data / "applications").glob("*.desktop"):
        assert f'<launchable type="desktop-id">{entry_file.name}</launchable>' in metainfo


def test_install_twice_changes_nothing_and_uninstall_leaves_what_was_there(
    data: Path, capsys: pytest.CaptureFixture
) -> None:
    # the user's own launcher and icon folder were there before
    (data / "applications").mkdir()
    (data / "applications" / "editor.desktop").write_text("[Desktop Entry]\n")
    (data / "icons" / "hicolor" / "48x48" / "apps").mkdir(parents=True)
    before = tree(data)

    assert ipics_lab("launchers", "install") == 0
    installed = tree(data)
    assert ipics_lab("launchers", "install") == 0
    assert tree(data) == installed

    assert ipics_lab("launchers", "uninstall") == 0
    assert tree(data) == before
    assert "Removed the launchers" in capsys.readouterr().out
    assert ipics_lab("launchers", "uninstall") == 0
    assert capsys.readouterr().out == f"No launchers to remove in {data}.\n"


def test_uninstall_removes_nothing_a_manifest_names_outside_the_launchers(data: Path) -> None:
    victim = data.parent / "notes.txt"
    victim.write_text("mine")
    (data / "applications").mkdir()
    other = data / "applications" / "editor.desktop"
    other.write_text("[Desktop Entry]\n")
    assert ipics_lab("launchers", "install") == 0
    manifest = data / launchers.MANIFEST
    manifest.write_text(
        manifest.read_text().replace('"files": [', '"files": ["../notes.txt", "applications/editor.desktop", ', 1)
    )
    assert ipics_lab("launchers", "uninstall") == 0
    assert victim.read_text() == "mine" and other.is_file()
    assert not list(data.rglob(f"{launchers.APP_ID}*"))


def test_a_file_in_the_way_is_refused_with_nothing_installed(data: Path, capsys: pytest.CaptureFixture) -> None:
    (data / "metainfo").write_text("not a folder")
    before = tree(data)
    assert ipics_lab("launchers", "install") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ipics-lab launchers: cannot write in {data / 'metainfo'} (not a directory), ")
    assert err.count("\n") == 1 and "nothing was installed" in err and "XDG_DATA_HOME" in err
    assert tree(data) == before


def test_exec_quotes_a_path_with_spaces_quotes_and_percent_signs() -> None:
    program = Path('/home/ann/my "lab" 100%\\z/bin/ipics-lab')
    text = (files(launchers.__name__) / "applications" / f"{launchers.APP_ID}.Console.desktop").read_text()
    entry = desktop_entry_from_text(launchers.render_entry(text, program))
    assert exec_argv(entry["Exec"]) == [str(program), "console"]


def desktop_entry_from_text(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines()[1:] if "=" in line)


def test_a_folder_where_a_launcher_goes_is_refused_with_nothing_installed(
    data: Path, capsys: pytest.CaptureFixture
) -> None:
    (data / "applications" / f"{launchers.APP_ID}.desktop").mkdir(parents=True)
    before = tree(data)
    assert ipics_lab("launchers", "install") == 2
    err = capsys.readouterr().err
    assert err == (
        f"ipics-lab launchers: {data}/applications/{launchers.APP_ID}.desktop is a folder, where a launcher's file"
        " goes: move it away, then install\n"
    )
    assert tree(data) == before


def test_a_data_folder_that_is_not_there_yet_is_made_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "new" / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    assert ipics_lab("launchers", "install") == 0
    assert (data / "applications" / f"{launchers.APP_ID}.desktop").is_file()
    assert ipics_lab("launchers", "uninstall") == 0
    assert data.is_dir() and tree(data) == {}


# -- real programs ---------------------------------------------------------------------


def as_user(*argv: str | Path) -> list[str | Path]:
    """``argv`` run as a user whose permissions are the files' modes: root, here, without
    the capabilities that let it write anywhere (util-linux's setpriv)."""
    if os.geteuid() != 0:
        return list(argv)
    return [tool("setpriv"), "--bounding-set=-dac_override,-dac_read_search,-fowner", "--", *argv]


def read_only(folder: Path) -> None:
    folder.chmod(0o555)


@pytest.mark.pair
def test_a_folder_without_write_access_is_refused_with_nothing_installed(tmp_path: Path) -> None:
    data = tmp_path / "share"
    data.mkdir()
    read_only(data)
    env = {**os.environ, "XDG_DATA_HOME": str(data)}
    done = subprocess.run(as_user(PROGRAM, "launchers", "install"), env=env, capture_output=True, text=True, timeout=60)
    data.chmod(0o755)
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert done.stderr.startswith(f"ipics-lab launchers: cannot write in {data} (permission denied), ")
    assert done.stderr.count("\n") == 1 and "nothing was installed" in done.stderr and "XDG_DATA_HOME" in done.stderr
    assert tree(data) == {}


@pytest.mark.pair
def test_an_uninstall_without_write_access_removes_nothing(data: Path) -> None:
    assert ipics_lab("launchers", "install") == 0
    installed = tree(data)
    # applications/ stays writable: the refusal comes after its files could go
    folders = [p for p in data.rglob("*") if p.is_dir() and p.name != "applications"]
    for folder in folders:
        read_only(folder)
    try:
        done = subprocess.run(as_user(PROGRAM, "launchers", "uninstall"), capture_output=True, text=True, timeout=60)
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert done.returncode == 2, done
    assert done.stderr.startswith("ipics-lab launchers: cannot remove from ")
    assert "(permission denied), so nothing was removed" in done.stderr and done.stderr.count("\n") == 1
    assert tree(data) == installed


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, (
        f"{name} is missing: run packaging/bootstrap.sh as root (Debian packages desktop-file-utils, appstream)"
    )
    return path


@pytest.mark.pair
def test_the_installed_files_are_valid_for_the_desktop_tools(data: Path) -> None:
    assert ipics_lab("launchers", "install") == 0
    entries = sorted((data / "applications").glob("*.desktop"))
    done = subprocess.run([tool("desktop-file-validate"), *entries], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, ""), done
    metainfo = data / "metainfo" / f"{launchers.APP_ID}.metainfo.xml"
    done = subprocess.run(
        [tool("appstreamcli"), "validate", "--no-net", metainfo], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.pair
def test_an_exec_with_an_awkward_path_is_valid_and_runs_that_program(tmp_path: Path) -> None:
    """GLib (GNOME's menus) launches the entry: the program at a path with a space, a
    quote, a backslash and shell characters gets exactly its arguments.  (Not a ``%``:
    the entry spells it ``%%`` as the specification says, but GLib looks for the
    program before it undoes that.)"""
    program = tmp_path / 'my lab $HOME "x" `y` \\z' / "ipics-lab"
    program.parent.mkdir()
    out = tmp_path / "argv"
    q = shlex.quote(str(out))
    program.write_text(f'#!/bin/sh\nprintf "%s\\n" "$0" "$@" > {q}.tmp && mv {q}.tmp {q}\n')
    program.chmod(0o755)
    for entry in (files(launchers.__name__) / "applications").iterdir():
        (tmp_path / entry.name).write_text(launchers.render_entry(entry.read_text(), program))
    entries = sorted(tmp_path.glob("*.desktop"))
    done = subprocess.run([tool("desktop-file-validate"), *entries], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, ""), done

    console = tmp_path / f"{launchers.APP_ID}.Console.desktop"
    subprocess.run([tool("gio"), "launch", console], check=True, capture_output=True, timeout=60)
    deadline = time.monotonic() + 20
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.read_text().splitlines() == [str(program), "console"]

"""``ipics-lab launchers install | uninstall``: the desktop's launchers for this user.

The package data beside this module is a tree of the XDG data folder: ``applications/``
(the trainer's lab, the IDC console and the IP phone as ``.desktop`` entries),
``icons/hicolor/<size>/apps/`` (an SVG each, and PNGs rendered from it by
``packaging/render_icons.py``) and ``metainfo/`` (the AppStream component).  ``install``
copies it into ``$XDG_DATA_HOME`` (default ``~/.local/share``), no root needed, with each
entry's ``Exec`` naming this installation's ``ipics-lab`` by its absolute path (a
virtualenv or pipx install is not on the menu's PATH), and records what it wrote in
``ipics-ha-lab/launchers.json`` there; ``uninstall`` removes exactly that.  Both are
all or nothing: a folder without write access is named and nothing is left half-done.

No Qt here: a host without a display installs launchers for its desktop users too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import sysconfig
from collections.abc import Iterator
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

from ipics_desktop.shared.desktop_extra import missing_desktop_message

#: the AppStream component id and the lab's desktop entry id (reverse DNS, as desktops
#: and software centres expect); the console and the phone are launchers of the same app
APP_ID = "io.github.ipics_ha_lab.IpicsHaLab"
#: each window command's desktop entry (Qt's desktop file name: the window finds its
#: launcher, its icon and its name in a dock or on Wayland)
DESKTOP_IDS = {
    "ipics-lab": APP_ID,
    "ipics-lab console": f"{APP_ID}.Console",
    "ipics-lab phone": f"{APP_ID}.Phone",
}
PROGRAM = "ipics-lab"
#: what install wrote, relative to the data folder
MANIFEST = PurePosixPath("ipics-ha-lab/launchers.json")
#: the package data folders that are copied (the XDG data folder's own names)
TREES = ("applications", "icons", "metainfo")


class LauncherError(Exception):
    """A sentence for the user: what went wrong and what to do."""


def data_home() -> Path:
    """``$XDG_DATA_HOME``, else ``~/.local/share`` (a relative XDG_DATA_HOME is ignored,
    as the XDG Base Directory specification says)."""
    env = os.environ.get("XDG_DATA_HOME", "")
    if os.path.isabs(env):
        return Path(env)
    try:
        return Path.home() / ".local" / "share"
    except RuntimeError as exc:
        raise LauncherError("cannot tell where your home is: set HOME or XDG_DATA_HOME") from exc


def find_program() -> Path:
    """The absolute path of this installation's ``ipics-lab``: the bundle itself when
    frozen, else the program being run, else the scripts folder of this Python (a
    virtualenv's ``bin``, the user's ``~/.local/bin``, ...)."""
    if getattr(sys, "frozen", False):
        return Path(os.path.abspath(sys.executable))
    candidates = []
    if Path(sys.argv[0]).name == PROGRAM:
        candidates.append(Path(os.path.abspath(sys.argv[0])))
    for scheme in (None, f"{os.name}_user"):
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        candidates.append(Path(scripts) / PROGRAM)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise LauncherError(
        f"cannot find this installation's {PROGRAM} program (looked for "
        + ", ".join(str(p) for p in dict.fromkeys(candidates))
        + f"): run the command as that program, for example /path/to/venv/bin/{PROGRAM} launchers install"
    )


def _escape(value: str) -> str:
    """A desktop entry string value (the specification's escapes)."""
    if any(c in value for c in "\n\r\t"):
        raise LauncherError(
            f"a launcher cannot name {value!r} (it holds a line break or a tab): install the lab under a plainer path"
        )
    return value.replace("\\", "\\\\")


def exec_value(program: Path, args: list[str]) -> str:
    """An ``Exec`` value running ``program`` with ``args``: an argument with a reserved
    character in double quotes (with ``"`` `` ` `` ``$`` ``\\`` escaped), ``%`` doubled
    (it starts a field code), then the string escapes."""
    words = []
    for word in [str(program), *args]:
        if any(c in word for c in " \t\n\"'\\><~|&;$*?#()`"):
            word = '"' + "".join("\\" + c if c in '"`$\\' else c for c in word) + '"'
        words.append(word.replace("%", "%%"))
    return _escape(" ".join(words))


def render_entry(text: str, program: Path) -> str:
    """A shipped desktop entry with its ``Exec`` and ``TryExec`` naming ``program``."""
    out = []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "Exec":
            line = "Exec=" + exec_value(program, value.split()[1:])
        elif sep and key.strip() == "TryExec":
            line = "TryExec=" + _escape(str(program))
        out.append(line)
    return "\n".join(out) + "\n"


def _shipped() -> Iterator[tuple[PurePosixPath, Traversable]]:
    """Every file of the launchers' package data, by its path under the data folder."""
    root = files(__name__)
    for name in TREES:
        yield from _walk(root / name, PurePosixPath(name))


def _walk(node: Traversable, rel: PurePosixPath) -> Iterator[tuple[PurePosixPath, Traversable]]:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            yield from _walk(child, rel / child.name)
        elif not child.name.startswith("."):
            yield rel / child.name, child


def entries() -> dict[str, str]:
    """The shipped desktop entries' names by desktop id, the lab first."""
    names = {}
    for rel, node in _shipped():
        if rel.suffix == ".desktop":
            for line in node.read_text(encoding="utf-8").splitlines():
                if line.startswith("Name="):
                    names[rel.stem] = line.removeprefix("Name=")
                    break
    order = list(DESKTOP_IDS.values())
    return dict(sorted(names.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))


def icon_files(desktop_id: str) -> list[Path]:
    """The PNGs of an entry's icon, for the window itself (without installed launchers
    too); none when the package data is not in plain files."""
    out = []
    for rel, node in _shipped():
        if rel.parts[0] == "icons" and rel.name == f"{desktop_id}.png" and isinstance(node, Path):
            out.append(node)
    return out


def _ours(rel: object, folder: bool = False) -> PurePosixPath | None:
    """A manifest's relative path if it is one install can have written (a launcher's
    file under applications/, icons/ or metainfo/, or a folder; never absolute, never
    ``..``): a hand-edited manifest removes nothing else."""
    if not isinstance(rel, str):
        return None
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    if not folder and not (path.parts[0] in TREES and path.name.startswith(APP_ID + ".")):
        return None
    return path


def _read_manifest(data: Path) -> dict | None:
    try:
        manifest = json.loads((data / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _failed(verb: str, exc: OSError, data: Path, outcome: str, advice: str) -> LauncherError:
    """One sentence: the folder where a file could not be made or moved (the parent of
    the path the error names), why, and what to do."""
    folder = Path(exc.filename).parent if exc.filename else data
    reason = (exc.strerror or str(exc)).lower()
    return LauncherError(f"cannot {verb} {folder} ({reason}), so {outcome}: {advice}")


def install(data: Path, program: Path) -> list[Path]:
    """Write the launchers into ``data`` (all or nothing); the files written."""
    contents: dict[PurePosixPath, bytes] = {}
    for rel, node in _shipped():
        if rel.suffix == ".desktop":
            contents[rel] = render_entry(node.read_text(encoding="utf-8"), program).encode("utf-8")
        else:
            contents[rel] = node.read_bytes()
    old = _read_manifest(data) or {}
    created = [
        p for p in (_ours(d, folder=True) for d in old.get("created_dirs", [])) if p is not None and (data / p).is_dir()
    ]
    for rel in [*contents, MANIFEST]:
        if (data / rel).is_dir() and not (data / rel).is_symlink():
            raise LauncherError(f"{data / rel} is a folder, where a launcher's file goes: move it away, then install")
    made: list[Path] = []  # this run's new folders, parents first
    temps: list[tuple[Path, Path]] = []
    try:
        for rel in [*contents, MANIFEST]:
            missing = []
            folder = (data / rel).parent
            while not folder.exists():
                missing.append(folder)
                folder = folder.parent
            for folder in reversed(missing):
                folder.mkdir()
                made.append(folder)
        for folder in made:  # those inside the data folder (which itself stays, made or not)
            if data in folder.parents:
                rel_dir = PurePosixPath(folder.relative_to(data).as_posix())
                if rel_dir not in created:
                    created.append(rel_dir)
        manifest = {
            "program": str(program),
            "files": [str(rel) for rel in contents],
            "created_dirs": [str(rel) for rel in created],
        }
        contents[MANIFEST] = (json.dumps(manifest, indent=1) + "\n").encode("utf-8")
        for rel, content in contents.items():
            final = data / rel
            tmp = final.with_name(f".{final.name}.{os.getpid()}.new")
            with open(tmp, "wb") as f:
                temps.append((tmp, final))
                f.write(content)
        for tmp, final in temps:
            os.replace(tmp, final)
    except OSError as exc:
        for tmp, _final in temps:
            tmp.unlink(missing_ok=True)
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:  # something else wrote there meanwhile: not ours to remove
                pass
        raise _failed(
            "write in",
            exc,
            data,
            "nothing was installed",
            "give your user write access to that folder or set XDG_DATA_HOME to a folder you can write",
        ) from exc
    return [final for _tmp, final in temps]


def uninstall(data: Path) -> list[Path]:
    """Remove what ``install`` wrote into ``data`` (all or nothing), then the folders it
    made if they are empty; the files removed."""
    manifest = _read_manifest(data)
    if manifest is None:  # no record (or an unreadable one): the files this version ships
        rels = [rel for rel, _node in _shipped()]
        created: list[PurePosixPath] = []
    else:
        rels = [p for p in map(_ours, manifest.get("files", [])) if p is not None] + [MANIFEST]
        created = [p for p in (_ours(d, folder=True) for d in manifest.get("created_dirs", [])) if p is not None]
    present = [data / rel for rel in rels if (data / rel).is_file() or (data / rel).is_symlink()]
    moved: list[tuple[Path, Path]] = []
    try:
        for path in present:
            tmp = path.with_name(f".{path.name}.{os.getpid()}.old")
            os.rename(path, tmp)
            moved.append((tmp, path))
    except OSError as exc:
        for tmp, path in reversed(moved):
            os.rename(tmp, path)
        raise _failed(
            "remove from",
            exc,
            data,
            "nothing was removed",
            "give your user write access to that folder, then uninstall",
        ) from exc
    for tmp, _path in moved:
        tmp.unlink()
    for folder in sorted(created, key=lambda p: len(p.parts), reverse=True):
        try:
            (data / folder).rmdir()
        except OSError:  # not empty (something else put a file there), or gone already
            pass
    return [path for _tmp, path in moved]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=["install", "uninstall"],
        help="install: add the lab, the IDC console and the IP phone to your applications menu; "
        "uninstall: remove exactly what install added",
    )


def run(ns: argparse.Namespace) -> int:
    """``ipics-lab launchers install|uninstall``: 0, or 2 with one sentence on stderr."""
    try:
        data = data_home()
        if ns.action == "install":
            # launchers for windows this installation cannot open would only fail later
            if missing := missing_desktop_message("ipics-lab launchers"):
                raise LauncherError(missing.removeprefix("ipics-lab launchers: "))
            program = find_program()
            install(data, program)
            names = list(entries().values())
            print(
                f"Installed the launchers {', '.join(names[:-1])} and {names[-1]} in {data / 'applications'}, "
                f"running {program}; ipics-lab launchers uninstall removes them."
            )
        else:
            removed = uninstall(data)
            if removed:
                print(f"Removed the launchers from {data} ({len(removed)} files).")
            else:
                print(f"No launchers to remove in {data}.")
    except LauncherError as exc:
        print(f"ipics-lab launchers: {exc}", file=sys.stderr)
        return 2
    return 0

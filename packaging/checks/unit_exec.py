"""The command line a systemd unit of server/systemd/ runs, expanded as systemd expands it.

    python packaging/checks/unit_exec.py UNIT-FILE INSTANCE STATE-ROOT CREDENTIALS-DIR [ENV-FILE]

Prints ExecStart's words NUL-separated, after systemd's rules for what the units use:
the specifiers %i (INSTANCE), %S (STATE-ROOT, /var/lib on a host), %d (CREDENTIALS-DIR,
$CREDENTIALS_DIRECTORY) and %%; Environment= then ENV-FILE (EnvironmentFile=, later
wins); ``${NAME}`` inside a word is replaced, a word that is ``$NAME`` alone becomes the
value's whitespace-separated words (none when empty).  Anything else in ExecStart (a
specifier or prefix the units do not use) is refused, so this never guesses.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path


def service_lines(text: str) -> list[tuple[str, str]]:
    section, lines = "", []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            key, _, value = line.partition("=")
            lines.append((key, value))
    return lines


def main(unit: str, instance: str, state_root: str, credentials: str, env_file: str | None = None) -> None:
    settings = service_lines(Path(unit).read_text())
    env: dict[str, str] = {}
    for key, value in settings:
        if key == "Environment":
            for word in shlex.split(value):
                name, _, setting = word.partition("=")
                env[name] = setting
    if env_file:
        for line in Path(env_file).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                env[key.strip()] = " ".join(shlex.split(value))
    (exec_start,) = [value for key, value in settings if key == "ExecStart"]
    specifiers = {"i": instance, "S": state_root, "d": credentials, "%": "%"}

    def specifier(m: re.Match[str]) -> str:
        if m[1] not in specifiers:
            raise SystemExit(f"{unit}: specifier %{m[1]} in ExecStart: teach unit_exec.py what it means")
        return specifiers[m[1]]

    words: list[str] = []
    for word in shlex.split(exec_start):
        word = re.sub(r"%(.)", specifier, word)
        if m := re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word):
            words.extend(env.get(m[1], "").split())
        else:
            words.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m[1], ""), word))
    if words[0][0] in "-@+!:":
        raise SystemExit(f"{unit}: ExecStart prefix {words[0][0]}: teach unit_exec.py what it means")
    sys.stdout.write("\0".join(words) + "\0")


if __name__ == "__main__":
    main(*sys.argv[1:])

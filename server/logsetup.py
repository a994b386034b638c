"""Logging of a server process (and of the media router): stderr and ``<data-dir>/server.log``.

Nothing logged carries a password, token or key: records are described by table,
key and name only (see ``core.records.describe``).

On a terminal, stderr reads as it always has.  Anywhere else (a file, a pipe, the
journal of a systemd unit) every event is one line: a traceback or a newline in a
message is written as ``\\n`` and other control characters as ``\\xNN``, so one event is
one journal entry, nobody can forge a line, and no colour code gets through.  When stderr
is the journal (``$JOURNAL_STREAM``), each line starts with its syslog priority
(``<4>``), which journald files the entry under (``journalctl -p warning``), and carries
no time stamp: the journal keeps its own.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from pathlib import Path
from types import TracebackType

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def log_format(name: str, stamp: bool = True) -> str:
    """The line of an event of process ``name``, with or without its time."""
    return ("%(asctime)s " if stamp else "") + f"{name} %(levelname)s %(name)s: %(message)s"


def stderr_is_journal() -> bool:
    """Whether stderr is a journal stream: systemd sets ``$JOURNAL_STREAM`` to its
    ``device:inode``, which a redirected stderr no longer matches."""
    expected = os.environ.get("JOURNAL_STREAM")
    if not expected:
        return False
    try:
        st = os.fstat(2)
    except OSError:
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


def one_line(text: str) -> str:
    """``text`` as one line: newlines as ``\\n``, other control characters as ``\\xNN``."""
    return _CONTROL.sub(lambda m: "\\n" if m[0] == "\n" else f"\\x{ord(m[0]):02x}", text.rstrip("\n"))


def syslog_priority(levelno: int) -> int:
    """The syslog priority of a logging level (journald reads it from a ``<N>`` prefix)."""
    for level, priority in ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6)):
        if levelno >= level:
            return priority
    return 7


class OneLineFormatter(logging.Formatter):
    """One event, one line (traceback included); with ``journal``, a priority prefix."""

    def __init__(self, fmt: str, journal: bool = False) -> None:
        super().__init__(fmt)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        line = one_line(super().format(record))
        return f"<{syslog_priority(record.levelno)}>{line}" if self.journal else line


def log_to_stderr(name: str, level: int = logging.WARNING) -> None:
    """Log events of ``level`` and above to stderr, as process ``name``: as on a terminal,
    or one line per event (an exception nobody caught included)."""
    handler = logging.StreamHandler()
    if sys.stderr.isatty():
        handler.setFormatter(logging.Formatter(log_format(name)))
    else:
        journal = stderr_is_journal()
        handler.setFormatter(OneLineFormatter(log_format(name, stamp=not journal), journal=journal))
        sys.excepthook = _log_uncaught
    handler.setLevel(level)
    logging.getLogger().addHandler(handler)


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    logging.getLogger("ipics").critical("uncaught exception", exc_info=(kind, exc, tb))


def setup_logging(name: str, data_dir: Path | None = None, level: int = logging.INFO) -> None:
    root = logging.getLogger()
    root.setLevel(level)
    log_to_stderr(name)
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        f = logging.handlers.RotatingFileHandler(data_dir / "server.log", maxBytes=5_000_000, backupCount=2)
        f.setFormatter(logging.Formatter(log_format(name)))
        root.addHandler(f)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # asyncssh narrates every connection and channel at INFO; the shell logs its own logins.
    logging.getLogger("asyncssh").setLevel(logging.WARNING)

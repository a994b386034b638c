"""How the trainer panel says an outcome: a sentence beside the control, never a traceback.

``refusal(exc)`` turns a failure into the sentence the trainer reads; ``say(label,
text, kind)`` writes a sentence in the colour of its kind (``ok``, ``refused``,
``info``, ``warn``) and keeps the kind as the label's property ``kind``.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QLabel

from ipics_desktop.shared.style import ERROR, IDLE, INFO, OFFLINE, ONLINE

log = logging.getLogger("ipics.trainer")

COLOURS = {"ok": ONLINE, "refused": ERROR, "info": INFO, "warn": OFFLINE}


def say(label: QLabel, text: str, kind: str) -> None:
    """Write ``text`` on ``label`` in the colour of ``kind`` (a refusal in bold)."""
    label.setText(text)
    label.setStyleSheet(f"color: {COLOURS.get(kind, IDLE)};" + (" font-weight: bold;" if kind == "refused" else ""))
    label.setProperty("kind", kind)


def refusal(exc: BaseException) -> str:
    """A failure as the sentence the trainer reads: the reason of a refusal, else what failed."""
    if type(exc).__name__ == "ActionRefused":
        return f"refused: {exc}"
    if isinstance(exc, ValueError) or type(exc).__name__ == "ScenarioError":
        return str(exc)  # bad input, said by whoever checked it
    if isinstance(exc, TimeoutError):
        return f"timed out: {exc}" if str(exc) else "timed out"
    log.warning("trainer action failed", exc_info=exc)
    return f"failed: {exc}" if str(exc) else f"failed ({type(exc).__name__})"

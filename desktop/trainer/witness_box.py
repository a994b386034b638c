"""The witness on the trainer panel: shown under the servers' cards when the pair has one.

Drawn from ``ipics_lab.trainer.witness_view.WitnessView`` (both servers' views put
together): the witness's address, whether each server reaches it, who holds its vote
and the lease left, and the last votes of both servers, who asked and for whom (a
granted vote green, a refused or unanswered one red).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout

from ipics_desktop.shared.style import ERROR, IDLE, ONLINE

OUTCOME_COLOURS = {"granted": ONLINE, "refused": ERROR, "unanswered": ERROR, "handed back": IDLE}

WITNESS_STYLE = """
QFrame#witnessBox { border: 1px solid #c4c8cc; border-radius: 8px; background: white; }
QLabel#witnessTitle { font-weight: bold; color: #1c2630; }
QLabel#witnessHolder { font-size: 12pt; font-weight: bold; color: #1c2630; }
"""


class WitnessBox(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("witnessBox")
        self.setAccessibleName("The witness")
        self.setStyleSheet(WITNESS_STYLE)
        self.title = QLabel("Witness", objectName="witnessTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.holder = QLabel(objectName="witnessHolder")
        self.holder.setTextFormat(Qt.TextFormat.PlainText)
        self.reach = QLabel(objectName="witnessReach")
        self.reach.setTextFormat(Qt.TextFormat.PlainText)
        self.reach.setWordWrap(True)
        self.votes = QLabel(objectName="witnessVotes")
        self.votes.setTextFormat(Qt.TextFormat.RichText)  # the servers' words are escaped
        self.votes.setWordWrap(True)
        #: the votes shown, as plain sentences
        self.vote_lines: list[str] = []
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addSpacing(12)
        head.addWidget(self.holder)
        head.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 4, 10, 4)
        column.setSpacing(2)
        column.addLayout(head)
        for line in (self.reach, self.votes):
            column.addWidget(line)
        self.hide()

    def set_view(self, view) -> None:
        """A ``WitnessView``, or None: no witness, no box."""
        if view is None:
            self.hide()
            return
        self.title.setText(f"Witness {view.address}")
        self.holder.setText(view.holder_words())
        self.reach.setText(f"Reached by {view.reach_words()}")
        self.vote_lines = [v.text for v in view.votes]
        self.votes.setText(
            "<br>".join(
                f"<span style='color: {OUTCOME_COLOURS.get(v.outcome, IDLE)}'>{html.escape(v.text)}</span>"
                for v in view.votes
            )
            or "No votes yet."
        )
        self.setAccessibleDescription(self.text())
        self.show()

    def text(self) -> str:
        """What the box shows, as plain lines (screen readers and tests)."""
        return "\n".join((self.title.text(), self.holder.text(), self.reach.text(), *self.vote_lines))

"""The windows' own methods do not take the names of QWidget's: ``render`` and
``actions`` are Qt's (a snapshot with ``widget.render(pixmap)``, the widget's actions),
and a window that reused them broke those for any caller (mypy found both)."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QWidget

WINDOWS = [
    ("ipics_desktop.idc.console_window", "ConsoleWindow"),
    ("ipics_desktop.mobile.window", "MobileWindow"),
    ("ipics_desktop.phone.window", "PhoneWindow"),
    ("ipics_desktop.telephone.panel", "TelephonePanel"),
    ("ipics_desktop.trainer.panel", "TrainerPanel"),
    ("ipics_desktop.trainer.server_card", "ServerCard"),
]


@pytest.mark.parametrize(("module", "name"), WINDOWS)
def test_qwidget_render_is_qts(module, name):
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, QWidget)
    assert cls.render is QWidget.render


def test_the_trainer_panel_keeps_qwidget_actions(qtbot):
    from ipics_desktop.trainer.panel import TrainerPanel
    from ipics_lab.trainer.offers import Offers
    from ipics_server.clock import Clock

    lab = SimpleNamespace(
        timeline=SimpleNamespace(events=[], subscribe=_nothing), clock=Clock(), offers=Offers(), summary={}
    )
    monitor = SimpleNamespace(views={}, subscribe=_nothing)
    panel = TrainerPanel(lab, object(), monitor)  # the lab's actions: never called here
    qtbot.addWidget(panel)
    assert panel.actions() == []  # Qt's: the panel's QActions (none)


def _nothing(_listener):
    return lambda: None

"""The trainer's lab, Qt-free: the embedded lab, its monitor and timeline, the
trainer's faults and administrator actions, scenarios and the pytest plugin.
The trainer panel (desktop/qt/trainer_panel.py) is a thin window over this."""

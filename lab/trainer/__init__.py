"""The trainer's lab, Qt-free: the embedded lab, its monitor and timeline, the trainer's
faults and administrator actions, the control socket.  The trainer panel
(``ipics_desktop.trainer``) is a thin window over it."""

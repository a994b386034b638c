"""The IDC's Qt widgets: thin views over ``ipics_desktop.core``.

Widgets render the session's state and forward input; every network call is a task
on the qasync loop, so no dialog or window ever blocks the loop that runs reconnects.
Every interactive widget has a stable ``objectName`` and an accessible name, listed
in ``docs/widgets.md``.
"""

"""The witness: a third, small process that holds one vote for an HA pair
(``core/modes.py`` says why; ``app.py`` is the process)."""

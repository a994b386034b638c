"""IPICS HA Lab's desktop applications: thin PySide6 windows over ``ipics_clients``
(the client cores) and ``ipics_lab`` (the trainer's lab), one subpackage each: ``idc``
(the IPICS Dispatch Console), ``phone``, ``mobile``, ``telephone``, ``trainer``, and
``shared`` (the one start-up, the style, the server selector, the keypad).  ``cli`` is the
``ipics-lab`` command; ``testing`` the pytest fixtures that open windows.
"""

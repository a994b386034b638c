"""The IDC's client core, free of widgets: the known servers of the login server
selector, the console session (login, redirect, offline mode, reconnect), remember me
through the keyring, the push-to-talk floor; and the IP phone's XML services browser."""

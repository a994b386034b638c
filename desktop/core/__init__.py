"""The IDC's client core, free of widgets: the known servers of the login server
selector, the console session (login, redirect, offline mode, reconnect)."""

"""The emulated server shell: the Linux commands the chapter types, reached over SSH.

``interpreter`` parses and runs one command line for a logged-in user; ``sshd`` is the
SSH server (asyncssh) that authenticates ``ipicsadmin`` and ``informix`` and feeds it.
"""

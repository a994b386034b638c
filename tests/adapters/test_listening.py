"""A server told to listen where it cannot says why in words an operator acts on."""

from __future__ import annotations

import socket

import pytest

from ipics_server.adapters.listening import CannotListen, bound_socket


def test_an_address_that_is_not_this_hosts_is_named_as_such():
    # 198.18.0.0/15 is the lab's range; this address is on no interface of this host.
    with pytest.raises(CannotListen) as refused:
        bound_socket("the client API", "198.18.254.254", 443)
    assert str(refused.value) == (
        "cannot listen on 198.18.254.254:443 for the client API: "
        "198.18.254.254 is not an address of this host (`ip -br addr` lists them)"
    )


def test_a_port_in_use_says_so_and_where_to_look():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CannotListen, match=f"port {port} is in use on 127.0.0.1 .*ss -ltnp"):
            bound_socket("the SSH shell", "127.0.0.1", port)


def test_a_free_port_is_bound():
    with bound_socket("the client API", "127.0.0.1", 0) as sock:
        assert sock.getsockname()[1] > 0

"""The loopback lab's network faults: what it cannot make, it refuses with the reason."""

from __future__ import annotations

import pytest

from ipics_lab.netfaults import CannotMake
from ipics_lab.server_faults import ServerFaults


class NoPair:
    """A pair that must not be reached: a refused fault touches no server."""

    servers = ()

    async def fault(self, server, **fault):
        raise AssertionError("a refused fault reached a server")


@pytest.mark.parametrize(
    "fault, args",
    [("packet_loss", ("primary", "secondary", 5)), ("isolate_clients", ("primary",))],
)
async def test_a_fault_only_the_kernel_makes_is_refused_on_loopback(fault, args):
    faults = ServerFaults(NoPair())
    with pytest.raises(CannotMake, match="--topology sites"):
        await getattr(faults, fault)(*args)
    assert faults.describe() == []


async def test_a_cut_in_a_direction_that_does_not_exist_is_refused():
    with pytest.raises(CannotMake, match="both, outbound, inbound"):
        await ServerFaults(NoPair()).cut_link("primary", "sideways")

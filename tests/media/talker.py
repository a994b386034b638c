"""A talker in a process of its own, for tests that kill it: connects to the router
given with the ticket in ``TALKER_TICKET`` (not on the command line, which anyone on
the host can read), presses on the group, prints "talking" once the floor is granted
and streams the tone until killed.

    TALKER_TICKET=ipt1... python tests/media/talker.py WS_URL GROUP
"""

from __future__ import annotations

import asyncio
import os
import sys

from ipics_server.media.client import MediaClient


async def main(url: str, group: str) -> int:
    client = await MediaClient.connect(url, os.environ["TALKER_TICKET"])
    try:
        if not await client.press(group):
            print("denied", flush=True)
            return 1
        print("talking", flush=True)
        await client.stream(group)
        return 0
    finally:
        await client.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:3])))

"""The push-to-talk media router: a process of its own, independent of both IPICS servers.

It carries push-to-talk audio between consoles, phones, mobile clients and telephones on
a channel or VTG (a talk group, keyed by the channel's or VTG's id): floor control (one
talker at a time), the talker's name on every listener, and the audio itself.  Because
it does not depend on the servers, PTT keeps working while they fail over (the chapter,
"HA Affect On Connected Devices": Dan reaches Adam by PTT during the outage).

Only holders of a ticket an IPICS server issued get in, under the ticket's name, to
the talk groups it names.  ``protocol`` is the wire format and its limits, ``ticket``
the tickets and their key, ``router`` the aiohttp server, ``client`` the asyncio
client every device uses, ``issuer`` and ``link`` the servers' side (who gets which
ticket; phones and telephones through the server), ``tone`` the generated voice-like
audio.  Run it with ``python -m ipics_server.media --ticket-key-file FILE``.
"""

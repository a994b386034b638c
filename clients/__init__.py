"""The clients' cores, without widgets: the IDC's console session, known servers and
credentials, push-to-talk (the floor, the media router and its tickets), the Cisco IP
phone's XML objects, browser, keys and push receiver, the mobile client, the telephone.
Tested without a screen; the desktop's windows render them (``ipics_desktop``).
"""

"""The Administration Console: the web application every server serves at ``/admin``.

Server-rendered pages (Jinja2) for Login, Logout and Configuration > High Availability
with its two tabs, HA Security and HA Configuration.  The pages call the same HA engine
as the JSON API; a small script keeps them current by polling ``/admin/ha/state``.
"""

"""Where a lab is, for the people who use it: its folder (``default_lab_dir``) and what
``ipics-lab up`` and ``ipics-lab gameday`` print once it is up (``where_text``): the
servers and their Administration Consoles, the accounts, the phones, the shell and the
console commands."""

from __future__ import annotations

import os
from pathlib import Path


def default_lab_dir() -> Path:
    """Where a user's lab keeps its data: ``$XDG_DATA_HOME/ipics-ha-lab/lab``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ipics-ha-lab" / "lab"


def where_text(summary: dict, lab_dir_arg: str = "") -> str:
    """Where everything of a started lab is, for the people who use it: the servers and
    their Administration Consoles, the administrator's account, the demo users, the
    phones, the shell and the console commands (``lab_dir_arg``: `` --lab-dir D`` when
    the lab is not in the default folder).  Ends with a newline."""
    return (
        f"IPICS HA Lab is up.\n"
        f"  primary   {summary['primary']['url']} (active), SSH port {summary['primary']['ssh_port']}\n"
        f"  secondary {summary['secondary']['url']} (standby, Ready), "
        f"SSH port {summary['secondary']['ssh_port']}\n"
        f"  admin     ipicsadmin / {summary['admin']['password']}\n"
        f"  web       {summary['primary']['url']}/admin, {summary['secondary']['url']}/admin "
        f"(Administration Console)\n"
        f"  demo users dan, adam, ursula, amy, fred / {summary['users']['password']}\n"
        f"  media     {summary['media']['url']} (push-to-talk)\n"
        f"  phone     user IDs 1001 (dan) to 1005 (fred), PIN {summary['demo']['pin']}; "
        f"ipics-lab phone / telephone --number N / mobile{lab_dir_arg}\n"
        f"  shell     ipics-lab shell primary|secondary{lab_dir_arg} "
        f"(ipicsadmin, the admin password)\n"
        f"  console   ipics-lab console{lab_dir_arg} opens an IDC (the lab opens one "
        f"when there is a display)\n"
        f"{modes_lines(summary)}"
        f"{_sites_lines(summary)}"
        f"  data      {summary['data_dir']}\n"
    )


def modes_lines(summary: dict) -> str:
    """The modes beyond IPICS, and the witness when they have one (nothing for IPICS's)."""
    modes = summary.get("modes") or {}
    if modes.get("name", "ipics") == "ipics":
        return ""
    witness = summary.get("witness")
    return f"  modes     {modes['label']} (--modes {modes['name']})\n" + (
        f"  witness   {witness['url']} (pid {witness['pid']})\n" if witness else ""
    )


def _sites_lines(summary: dict) -> str:
    sites = summary.get("sites")
    if not sites:
        return ""
    # the witness's site is made in every sites lab; only a lab with a witness uses it
    names = ("primary", "secondary", "media", "clients", *(("witness",) if summary.get("witness") else ()))
    where = ", ".join(f"{name} {sites[name]['address']}" for name in names if name in sites)
    return f"  sites     {sites['network']}: {where}; this host {sites['host']}\n"

"""The CAs a process trusts for https outlive the lab folders they came from: a test
session or a benchmark runs many labs, each with its own CA, one after another."""

from __future__ import annotations

import shutil

from ipics_lab.ca import init_ca
from ipics_server.adapters.httpclient import ApiClient, trust_ca_file


async def test_a_trusted_ca_whose_folder_is_gone_does_not_break_the_next_client(tmp_path):
    trust_ca_file(init_ca(tmp_path / "first-lab" / "ca"))
    shutil.rmtree(tmp_path / "first-lab")  # that lab is over
    trust_ca_file(init_ca(tmp_path / "second-lab" / "ca"))
    async with ApiClient("https://198.18.0.11"):  # builds the process's https context
        pass

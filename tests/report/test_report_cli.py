"""``ipics-lab report RECORDING --out FILE``: a report from any recording; a file that is
not one refused in words; without Chromium, the HTML and one sentence why no PDF."""

from __future__ import annotations

import argparse

from ipics_lab import cli as lab_cli
from ipics_lab.report import pdf


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="ipics-lab")
    lab_cli.add_commands(parser.add_subparsers(dest="command"))
    return lab_cli.run(parser.parse_args(["report", *argv]))


def test_a_file_that_is_not_a_recording_is_refused_in_words(tmp_path, capsys):
    foreign = tmp_path / "notes.txt"
    foreign.write_text("my notes\n")
    assert run(str(foreign)) == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"no report: {foreign} is not a recording of the IPICS HA Lab: its first line is not a recording's header"
    )
    assert not (tmp_path / "notes.html").exists()
    assert run(str(tmp_path / "gone.ipicsrec")) == 2
    assert "no such file" in capsys.readouterr().err


def test_without_chromium_the_command_writes_the_html_and_says_why_not_the_pdf(
    failover_recording, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(pdf, "CHROMIUM", str(tmp_path / "no-chromium"))
    out = tmp_path / "debrief.html"
    assert run(str(failover_recording), "--out", str(out)) == 0
    said = capsys.readouterr().out.splitlines()
    assert said == [
        f"After-action report written: {out}",
        f"The report has no PDF: Chromium ({tmp_path / 'no-chromium'}) is not installed; install Debian's "
        "chromium (packaging/bootstrap.sh does) to print the report.",
    ]
    assert 'id="report-grade"' in out.read_text()
    assert run(str(failover_recording), "--out", str(tmp_path / "x.pdf")) == 2

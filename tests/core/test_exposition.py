"""The hand-written Prometheus text format (``core/exposition.py``): what a scraper
reads back is what the server meant, whatever a label value holds."""

from __future__ import annotations

from ipics_server.core.exposition import Family, render

from ..prometheus_text import Exposition


def test_label_values_are_escaped_so_a_scraper_reads_them_back():
    odd = 'a "quoted" \\ path\nand a second line'
    text = render(
        [Family("ipics_x", "gauge", "Help with a \\ and a\nnewline.").add(1, where=odd)], {"server": "primary"}
    )
    read = Exposition(text)
    assert read.samples == {
        (
            "ipics_x",
            frozenset(
                {("where", odd.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")), ("server", "primary")}
            ),
        ): 1.0
    }
    assert read.families["ipics_x"] == ("gauge", "Help with a \\\\ and a\\nnewline.")
    assert len(text.splitlines()) == 3  # no newline of a value broke a line


def test_numbers_are_written_as_prometheus_reads_them():
    family = Family("ipics_y", "gauge", "Values.")
    for v in (0, 3, 0.25, float("nan"), float("inf")):
        family.add(v, v=str(v))
    lines = render([family]).splitlines()[2:]
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["0", "3", "0.25", "NaN", "+Inf"]

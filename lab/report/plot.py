"""The run's timeline as an SVG drawing, for the after-action report: the trainer
panel's plot (the same lanes, colours, markers and axis: ``trainer.lanes``) on the
emulated time axis, without Qt, so a report is made on any machine.

A 2-hour run holds thousands of heartbeats: markers that fall on the same pixel of the
same lane are drawn once, their tooltip saying how many, so the drawing stays small.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from html import escape
from typing import Any

from ipics_lab.trainer.lanes import (
    AXES,
    ERROR,
    IDLE,
    LABELLED,
    LANES,
    OFFLINE,
    ONLINE,
    OPTIONAL,
    SERVER_COLOURS,
    Lane,
    axis_step,
    client_colour,
    format_seconds,
    server_colour,
    short_label,
)

WIDTH, LANE_H = 1000, 26
LEFT, RIGHT, TOP, BOTTOM = 150, 16, 10, 46
FONT_PX, LABEL_CHAR_PX = 12, 5.6


def _attr(value: Any) -> str:
    return escape(str(value), quote=True)


def lanes_of(events: Iterable[dict[str, Any]]) -> tuple[Lane, ...]:
    kinds = {e.get("kind") for e in events}
    return tuple(lane for lane in LANES if lane.kind not in OPTIONAL or lane.kind in kinds)


def span_of(events: list[dict[str, Any]]) -> tuple[float, float]:
    """From the first event to the last, as the panel's plot (a 10 s run at least)."""
    times = [float(e["emulated"]) for e in events]
    low = min(times, default=0.0)
    high = max(low + 10.0, max(times, default=0.0))
    return low - (high - low) * 0.01, high + (high - low) * 0.03


def _colour(event: dict[str, Any], lane: Lane) -> str:
    kind, ok = event.get("kind"), event.get("ok")
    if kind == "expectation":
        return ONLINE if ok else ERROR if ok is False else IDLE
    if kind == "client":
        return client_colour(str(event.get("text", "")), lane.colour)
    if kind in ("fault", "message", "narration"):
        return lane.colour
    if kind in OPTIONAL:
        return lane.colour if ok is None else ONLINE if ok else ERROR
    return server_colour(event.get("server"), lane.colour)


def _marker(kind: str, x: float, y: float, r: float, colour: str) -> str:
    if kind == "heartbeat":
        return f'<line x1="{x:.1f}" y1="{y - r:.1f}" x2="{x:.1f}" y2="{y + r:.1f}" stroke="{colour}" stroke-width="2"/>'
    if kind == "missed":
        return (
            f'<path d="M{x - r:.1f} {y - r:.1f}L{x + r:.1f} {y + r:.1f}'
            f'M{x - r:.1f} {y + r:.1f}L{x + r:.1f} {y - r:.1f}" stroke="{OFFLINE}" stroke-width="2.5"/>'
        )
    fill = f'fill="{colour}" stroke="#00000055"'
    if kind == "fault":  # a triangle pointing down: something was done to a server
        return f'<path d="M{x - r:.1f} {y - r:.1f}H{x + r:.1f}L{x:.1f} {y + r:.1f}Z" {fill}/>'
    if kind == "role":
        return f'<path d="M{x:.1f} {y - r:.1f}L{x + r:.1f} {y:.1f}L{x:.1f} {y + r:.1f}L{x - r:.1f} {y:.1f}Z" {fill}/>'
    if kind in ("action", "narration"):
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" {fill}/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {fill}/>'


def _tooltip(event: dict[str, Any], more: int) -> str:
    where = f" ({event['server']})" if event.get("server") else ""
    also = f" (and {more} more here)" if more else ""
    return (
        f"{float(event['emulated']):.0f} s emulated, {float(event['at']):.1f} s real: "
        f"{event.get('kind')}{where}: {event.get('text', '')}{also}"
    )


def timeline_svg(events: list[dict[str, Any]], *, element_id: str = "timeline-plot") -> str:
    """The drawing as an ``<svg>`` element (every text escaped)."""
    events = [e for e in events if isinstance(e.get("kind"), str)]
    lanes = lanes_of(events)
    height = TOP + LANE_H * len(lanes) + BOTTOM
    plot_w, plot_h = WIDTH - LEFT - RIGHT, LANE_H * len(lanes)
    low, high = span_of(events)

    def x_of(t: float) -> float:
        return LEFT + (t - low) / (high - low) * plot_w

    out = [
        f'<svg id="{_attr(element_id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="Timeline of the run: {len(events)} events" '
        f'font-family="sans-serif" font-size="{FONT_PX}">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
    ]
    index = {lane.kind: i for i, lane in enumerate(lanes)}
    for i, lane in enumerate(lanes):
        top = TOP + i * LANE_H
        if i % 2 == 0:
            out.append(f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{LANE_H}" fill="#f6f8fa"/>')
        out.append(
            f'<text x="{LEFT - 8}" y="{top + LANE_H / 2 + 4:.1f}" text-anchor="end" fill="{lane.colour}">'
            f"{escape(lane.title)}</text>"
        )
    # the time axis: grid lines and their labels
    step = axis_step(high - low)
    t = math.ceil(low / step) * step
    while t <= high:
        x = x_of(t)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + plot_h}" stroke="#d0d4d9"/>')
        out.append(
            f'<text x="{x:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" fill="{IDLE}">'
            f"{escape(format_seconds(round(t, 6), high - low))}</text>"
        )
        t += step
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#9aa3ad"/>')
    unit = AXES["emulated"] + (" (m:ss)" if high - low >= 300 else "")
    legend_y = TOP + plot_h + 34
    out.append(f'<text x="{LEFT}" y="{legend_y}" fill="{IDLE}">time: {escape(unit)}</text>')
    for i, (server, colour) in enumerate(SERVER_COLOURS.items()):
        out.append(
            f'<text x="{WIDTH - RIGHT - 170 + i * 85}" y="{legend_y}" fill="{colour}">\u25cf {escape(server)}</text>'
        )
    out.append(_markers(events, lanes, index, x_of))
    out.append("</svg>")
    return "\n".join(out)


def _markers(events, lanes, index, x_of) -> str:
    # one marker per pixel column, lane and half; the first event there, the rest counted
    cells: dict[tuple[str, str | None, int], list[dict[str, Any]]] = {}
    for event in events:
        if event["kind"] in index:
            cells.setdefault((event["kind"], event.get("server"), round(x_of(float(event["emulated"])))), []).append(
                event
            )
    out = []
    label_end: dict[tuple[str, str | None], float] = {}  # labels of a lane's half never overlap
    r = LANE_H * 0.2
    for (kind, server, _), here in cells.items():
        event, lane = here[0], lanes[index[kind]]
        top = TOP + index[kind] * LANE_H
        y = top + LANE_H * (0.32 if server == "primary" else 0.68 if server == "secondary" else 0.5)
        x = x_of(float(event["emulated"]))
        out.append(
            f"<g><title>{escape(_tooltip(event, len(here) - 1))}</title>"
            f"{_marker(kind, x, y, r, _colour(event, lane))}</g>"
        )
        row = (kind, server)
        if kind in LABELLED and x > label_end.get(row, -1e9) + 4:
            label = short_label(str(event.get("text", "")))
            w = len(label) * LABEL_CHAR_PX
            left = x + r + 3
            if left + w > WIDTH - RIGHT:  # near the right edge: the label goes before its marker
                left = x - r - 3 - w
                if left <= label_end.get(row, -1e9) + 4:
                    continue  # no room for it: the marker's tooltip says it
            out.append(
                f'<text x="{left:.1f}" y="{y + 3.5:.1f}" font-size="10" '
                f'fill="{server_colour(server, lane.colour)}">{escape(label)}</text>'
            )
            label_end[row] = max(x, left + w)
    return "\n".join(out)

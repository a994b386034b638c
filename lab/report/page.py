"""The after-action report as one self-contained HTML page.

No external resource of any kind (no stylesheet, script, font or image fetched): the
style is inline, the timeline an inline SVG.  The page opens offline in any browser
and prints as it shows (the PDF is that print).  Every text from the recording is
escaped: a recording may hold anything a trainee typed.

The sections and their ids (docs/reports.md; tests and outside checks find them by id):
``report-header``, ``report-outcome``, ``report-timeline``, ``report-durations``,
``report-grade``, ``report-writes``, ``report-actions``, ``report-events``.
"""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from typing import Any

from ipics_lab.report.facts import ReportFacts
from ipics_lab.report.plot import timeline_svg
from ipics_lab.scenario.durations import describe_duration
from ipics_lab.trainer.lab import describe_scale
from ipics_server.audit import VIA_WORDS

SECTIONS = (
    ("report-header", "After-action report"),
    ("report-outcome", "Outcome"),
    ("report-timeline", "Timeline"),
    ("report-durations", "Detection, takeover and client reconnect"),
    ("report-grade", "Grade"),
    ("report-writes", "Acknowledged writes lost"),
    ("report-actions", "The administrators' actions"),
    ("report-events", "Step by step"),
)
#: events the step-by-step list leaves to the plot: a heartbeat every few seconds says nothing
NOT_LISTED = ("heartbeat",)

STYLE = """
@page { size: A4; margin: 12mm; }
body { font: 11pt/1.4 sans-serif; color: #202124; margin: 1.5em auto; max-width: 1100px; padding: 0 1em; }
h1 { font-size: 18pt; margin: 0 0 .3em; } h2 { font-size: 14pt; margin: 1.4em 0 .4em;
  border-bottom: 1px solid #d0d4d9; padding-bottom: .2em; }
table { border-collapse: collapse; width: 100%; font-size: 10pt; }
th, td { border: 1px solid #d0d4d9; padding: .25em .45em; text-align: left; vertical-align: top; }
th { background: #f1f3f4; } tr { break-inside: avoid; }
td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content auto; gap: .15em 1em; margin: 0; }
dt { font-weight: bold; } dd { margin: 0; }
.ok { color: #1e7b34; font-weight: bold; } .bad { color: #b3261e; font-weight: bold; }
.muted { color: #5f6368; } blockquote { margin: 0; padding-left: .6em; border-left: 3px solid #1f5fa8; }
.score { font-size: 20pt; font-weight: bold; } #report-timeline svg { max-width: 100%; height: auto; }
"""


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def emulated_clock(seconds: float) -> str:
    """``+2:05`` (minutes) or ``+1:02:05`` (hours) since the run started, emulated."""
    total = round(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"+{hours}:{minutes:02d}:{secs:02d}" if hours else f"+{minutes}:{secs:02d}"


def real_seconds(seconds: float) -> str:
    return f"{float(seconds):.1f} s"


def _utc(unix: Any) -> str:
    try:
        return dt.datetime.fromtimestamp(float(unix), dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(unix)


def _times(record: dict[str, Any]) -> str:
    return (
        f'<td class="time">{esc(emulated_clock(record["emulated"]))}</td>'
        f'<td class="time">{esc(real_seconds(record["at"]))}</td>'
    )


def _ok(ok: Any, yes: str = "done", no: str = "refused") -> str:
    if ok is None:
        return ""
    return f'<span class="ok">{esc(yes)}</span>' if ok else f'<span class="bad">{esc(no)}</span>'


def _table(head: tuple[str, ...], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{esc(empty)}</p>'
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    return f"<table><thead><tr>{th}</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


def _section(section_id: str, body: str) -> str:
    title = dict(SECTIONS)[section_id]
    return f'<section id="{section_id}"><h2>{esc(title)}</h2>\n{body}\n</section>'


# ------------------------------------------------------------------ sections
def header(facts: ReportFacts) -> str:
    h = facts.recording.header
    rec = facts.recording
    rows = [
        ("What ran", f"{h.kind} {h.name}"),
        ("Started", _utc(h.started_at)),
        ("Length", f"{describe_duration(round(rec.emulated_s, 1))} emulated, {real_seconds(rec.duration_s)} real"),
        ("Time scale", f"{h.time_scale:g} real seconds per emulated second ({describe_scale(h.time_scale)})"),
        ("Modes", h.modes),
        ("Topology", h.topology),
        ("Recording", rec.path.name),
    ]
    for key, value in h.details.items():
        rows.append((str(key), value if isinstance(value, str) else json.dumps(value)))
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    return f'<header id="report-header"><h1>After-action report: {esc(h.kind)} {esc(h.name)}</h1><dl>{dl}</dl></header>'


def outcome(facts: ReportFacts) -> str:
    hints = (
        "<p>Hints released: " + "; ".join(esc(h) for h in facts.hints) + "</p>"
        if facts.hints
        else '<p class="muted">No hint was released.</p>'
        if facts.grade is not None
        else ""
    )
    return _section("report-outcome", f"<p>{esc(facts.outcome)}</p>{hints}")


def timeline(facts: ReportFacts) -> str:
    return _section("report-timeline", timeline_svg(facts.events))


def durations(facts: ReportFacts) -> str:
    rows = []
    for d in facts.durations:
        value = f"{esc(describe_duration(round(d.seconds, 1)))} emulated" if d.seconds is not None else "not measured"
        note = d.source if d.seconds is not None else d.why
        rows.append(
            f'<tr id="duration-{esc(d.key)}"><td>{esc(d.title)}</td><td>{value}</td>'
            f'<td class="muted">{esc(note)}</td></tr>'
        )
    return _section("report-durations", _table(("Duration", "Emulated time", "Source"), rows, ""))


def grade(facts: ReportFacts) -> str:
    g = facts.grade
    if g is None:
        return _section("report-grade", '<p class="muted">This run was not graded (a grade is an exercise\'s).</p>')
    score, passed = g.get("score"), g.get("passed")
    head = f'<p><span class="score">{esc(score)}/100</span> {_ok(passed, "passed", "not passed")}</p>'
    deductions = [
        f"<tr><td>\u2212{esc(d.get('points'))}</td><td>{esc(d.get('what'))}</td>"
        f"<td><blockquote>{esc(d.get('chapter'))}</blockquote></td></tr>"
        for d in g.get("deductions") or []
        if isinstance(d, dict)
    ]
    steps = [
        f"<tr><td>{esc(s.get('action'))}</td><td>{esc(s.get('server'))}</td>"
        f"<td>{esc(VIA_WORDS.get(str(s.get('via')), s.get('via')))}</td>"
        f'<td class="time">{esc(_step_time(s.get("at")))}</td><td>{_ok(s.get("ok"))}</td>'
        f"<td>{esc(s.get('verdict'))}</td><td><blockquote>{esc(s.get('chapter'))}</blockquote></td></tr>"
        for s in g.get("steps") or []
        if isinstance(s, dict)
    ]
    return _section(
        "report-grade",
        head
        + '<h3 id="report-deductions">Deductions</h3>'
        + _table(("Points", "What", "The chapter"), deductions, "No deduction.")
        + '<h3 id="report-steps">The steps graded</h3>'
        + _table(
            ("Action", "Server", "How", "When", "Outcome", "Verdict", "The chapter"), steps, "No step was graded."
        ),
    )


def _step_time(at: Any) -> str:
    # a graded step's time: seconds since the run started (emulated), or the server's clock
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        return emulated_clock(at) if at < 10 * 365 * 86400 else _utc(at)
    return "" if at is None else str(at)


def writes(facts: ReportFacts) -> str:
    w = facts.writes
    if w is None:
        return _section("report-writes", '<p class="muted">The run\'s result holds no count of writes.</p>')
    counts = "".join(
        f'<dt>{esc(title)}</dt><dd id="writes-{key}">{esc(w.get(key, "not counted"))}</dd>'
        for key, title in (("acknowledged", "Acknowledged"), ("lost", "Acknowledged and lost"), ("refused", "Refused"))
    )
    why = w.get("lost_why") or []
    items = "".join(f"<li>{esc(x)}</li>" for x in why) if isinstance(why, list) else f"<li>{esc(why)}</li>"
    explained = f"<h3>Why they were lost</h3><ul>{items}</ul>" if items else ""
    return _section("report-writes", f"<dl>{counts}</dl>{explained}")


def actions(facts: ReportFacts) -> str:
    rows = []
    for r in facts.actions:
        e = r["entry"]
        what = e.get("action", "?") + (f" ({e['command']})" if e.get("command") else "")
        rows.append(
            f"<tr>{_times(r)}<td>{esc(r.get('server'))}</td><td>{esc(e.get('user'))}</td>"
            f"<td>{esc(VIA_WORDS.get(str(e.get('via')), e.get('via')))}</td><td>{esc(what)}</td>"
            f'<td>{_ok(e.get("ok"))} {esc(e.get("result"))}</td><td class="time">{esc(_utc(e.get("at")))}</td></tr>'
        )
    return _section(
        "report-actions",
        _table(
            ("Emulated", "Real", "Server", "Who", "How", "What", "Outcome", "Server's clock"),
            rows,
            "No administrator's action was recorded.",
        ),
    )


def events(facts: ReportFacts) -> str:
    listed = [e for e in facts.events if e.get("kind") not in NOT_LISTED]
    left = len(facts.events) - len(listed)
    rows = [
        f"<tr>{_times(e)}<td>{esc(e.get('kind'))}</td><td>{esc(e.get('server') or '')}</td>"
        f"<td>{esc(e.get('text'))}</td><td>{_expectation(e)}</td></tr>"
        for e in listed
    ]
    note = (
        f'<p class="muted">{left} heartbeat events are in the plot\'s Heartbeats lane, not listed.</p>' if left else ""
    )
    return _section(
        "report-events",
        note + _table(("Emulated", "Real", "Kind", "Server", "What happened", ""), rows, "No event was recorded."),
    )


def _expectation(event: dict[str, Any]) -> str:
    return _ok(event.get("ok"), "passed", "failed") if event.get("kind") == "expectation" else ""


def render(facts: ReportFacts) -> str:
    h = facts.recording.header
    parts = [header(facts), outcome(facts), timeline(facts), durations(facts), grade(facts)]
    parts += [writes(facts), actions(facts), events(facts)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        # nothing may be fetched: no script, no style or image from anywhere
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">'
        f"<title>After-action report: {esc(h.kind)} {esc(h.name)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )

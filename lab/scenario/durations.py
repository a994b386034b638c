"""Durations as a scenario writes them: ``"45s"``, ``"2min"``, ``"1h 30min"``, ``"500ms"``.

Always emulated seconds (the chapter's durations); the lab's time scale decides how
long they take in real time.  A unit is required: a bare ``"45"`` could mean seconds
or minutes, and a scenario must read the same to everyone.
"""

from __future__ import annotations

import math
import re

#: longer than any HA procedure of the chapter; no scenario waits for ever
MAX_DURATION_S = 7 * 86400.0
UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|sec|s|min|h)(?![a-z])")


def parse_duration(text: str) -> float:
    """Emulated seconds; ``ValueError`` (``TypeError`` for a non-string) saying what a
    duration looks like."""
    if not isinstance(text, str):
        raise TypeError(f'a duration is a string like "45s" or "2min", not {type(text).__name__} {text!r}')
    rest, total, parts = text.strip().lower(), 0.0, 0
    while rest:
        m = _PART.match(rest)
        if not m:
            raise ValueError(
                f"{text!r} is not a duration: write a number and a unit "
                f'({", ".join(UNITS)}), e.g. "45s", "2min", "1h 30min"'
            )
        total += float(m.group(1)) * UNITS[m.group(2)]
        parts += 1
        rest = rest[m.end() :].lstrip()
    if not parts:
        raise ValueError('an empty duration: write e.g. "45s" or "2min"')
    if not math.isfinite(total) or total > MAX_DURATION_S:
        raise ValueError(f"{text!r} is too long: a scenario's durations are at most 7 days")
    return total


def describe_duration(seconds: float) -> str:
    """``150`` -> "2 min 30 s", ``0.5`` -> "0.5 s" (for reports)."""
    if seconds < 60:
        return f"{seconds:g} s"
    minutes, s = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes) + [f"{s} s"] * bool(s)
    return " ".join(parts)

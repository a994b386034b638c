"""A generated voice-like tone, the audio every device sends when no microphone is used.

20 ms frames of 8 kHz 16-bit little-endian mono PCM (320 bytes), as a phone codec
would carry.  A voice has a pitch that moves (intonation), harmonics and syllables, so
the tone has all three: a fundamental around 160 Hz gliding between about 127 and
193 Hz, five harmonics, and a 4 Hz syllable envelope that never goes silent.

Every component is a whole number of cycles per second, so the signal repeats every
second: the 50 frames of one second are computed once and cycled, which keeps a
sender cheap (the benchmark streams hundreds of groups at once).

A receiver checks what it got with ``frame_index`` (the payload is one of the tone's
frames, bit for bit: the payload arrived intact) and ``pitch_hz`` / ``sounds_like_voice``
(an autocorrelation pitch estimate: the payload is a voiced sound in the tone's range).
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Iterator, Sequence

from .protocol import FRAME_SAMPLES, SAMPLE_RATE

BASE_PITCH_HZ = 160
#: intonation: slow and faster pitch glides (Hz of deviation, Hz of rate)
GLIDES = ((25.0, 1), (8.0, 3))
HARMONICS = (1.0, 0.6, 0.45, 0.25, 0.15)
SYLLABLE_HZ = 4
FLOOR_LEVEL = 0.35  # the envelope's lowest point: every frame is voiced
PEAK = 12000  # of 32767: room for a mixer downstream
FRAMES_PER_PERIOD = SAMPLE_RATE // FRAME_SAMPLES  # one second

#: a voiced frame's pitch lies in this range (the tone's glide, with a margin)
PITCH_RANGE_HZ = (110.0, 215.0)


def _sample(n: int) -> int:
    t = n / SAMPLE_RATE
    # The phase is the integral of the gliding pitch, in closed form, so any frame can
    # be computed on its own and the glide has no clicks.
    phase = BASE_PITCH_HZ * t - sum(
        dev / (2 * math.pi * rate) * math.cos(2 * math.pi * rate * t) for dev, rate in GLIDES
    )
    voice = sum(a * math.sin(2 * math.pi * (k + 1) * phase) for k, a in enumerate(HARMONICS))
    envelope = FLOOR_LEVEL + (1 - FLOOR_LEVEL) * math.sin(math.pi * SYLLABLE_HZ * t) ** 2
    return round(PEAK * envelope * voice / sum(HARMONICS))


def _frame(index: int) -> bytes:
    start = index * FRAME_SAMPLES
    return struct.pack(f"<{FRAME_SAMPLES}h", *(_sample(start + i) for i in range(FRAME_SAMPLES)))


@functools.cache
def _period() -> tuple[tuple[bytes, ...], dict[bytes, int]]:
    """The 50 frames of one second and their indexes, computed when first asked for
    (not at import: a server imports this and most never send a tone)."""
    frames = tuple(_frame(i) for i in range(FRAMES_PER_PERIOD))
    return frames, {frame: i for i, frame in enumerate(frames)}


def tone_frame(index: int) -> bytes:
    """Frame ``index`` of the tone (20 ms, 320 bytes); it repeats every 50 frames."""
    return _period()[0][index % FRAMES_PER_PERIOD]


def tone_frames(start: int = 0, count: int | None = None) -> Iterator[bytes]:
    """The tone's frames in order from ``start``; endless unless ``count`` is given."""
    i = start
    while count is None or i < start + count:
        yield tone_frame(i)
        i += 1


def frame_index(payload: bytes) -> int | None:
    """Which of the tone's 50 frames this payload is, bit for bit; None if it is not one."""
    return _period()[1].get(bytes(payload))


def is_tone(payload: bytes) -> bool:
    return frame_index(payload) is not None


def samples(payload: bytes) -> tuple[int, ...]:
    n = len(payload) // 2
    return struct.unpack(f"<{n}h", payload[: 2 * n])


def pitch_hz(payload: bytes) -> tuple[float, float] | None:
    """(pitch in Hz, periodicity 0..1) by normalised autocorrelation over the voice
    range; None for silence or a payload too short to tell."""
    x: Sequence[float] = samples(payload)
    n = len(x)
    min_lag, max_lag = SAMPLE_RATE // 400, SAMPLE_RATE // 100  # 100-400 Hz
    if n < 2 * max_lag:
        return None
    mean = sum(x) / n
    x = [v - mean for v in x]
    best_lag, best = 0, 0.0
    for lag in range(min_lag, max_lag + 1):
        a, b = x[: n - lag], x[lag:]
        num = sum(p * q for p, q in zip(a, b, strict=True))
        den = math.sqrt(sum(p * p for p in a) * sum(q * q for q in b))
        if den and num / den > best:
            best, best_lag = num / den, lag
    if best_lag == 0:
        return None
    return SAMPLE_RATE / best_lag, best


def sounds_like_voice(payload: bytes) -> bool:
    """A voiced sound with a pitch in the tone's range: what a listener would hear as it."""
    found = pitch_hz(payload)
    if found is None:
        return False
    hz, periodicity = found
    return PITCH_RANGE_HZ[0] <= hz <= PITCH_RANGE_HZ[1] and periodicity >= 0.6

"""WAV files the simulated box plays and records (stdlib `wave`, 8 kHz mono 16-bit PCM)."""

from __future__ import annotations

import io
import math
import struct
import wave

RATE = 8000


def tone_wav(
    seconds: float, *, freq: float = 440.0, segments: list[tuple[float, float]] | None = None
) -> bytes:
    """A WAV of `seconds`; a tone where `segments` [(start, length)] say someone talks, else silence.

    With no segments the whole file is tone (a prompt)."""
    n = max(0, int(seconds * RATE))
    spans = segments if segments is not None else [(0.0, seconds)]
    frames = bytearray(n * 2)
    for start, length in spans:
        a, b = max(0, int(start * RATE)), min(n, int((start + length) * RATE))
        for i in range(a, b):
            v = int(8000 * math.sin(2 * math.pi * freq * i / RATE))
            struct.pack_into("<h", frames, 2 * i, v)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    return buf.getvalue()


def wav_duration(data: bytes) -> float | None:
    """Seconds, or None when the box cannot play it (not mono 16-bit 8/16 kHz PCM WAV)."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() not in (8000, 16000):
                return None
            return w.getnframes() / w.getframerate()
    except (wave.Error, EOFError, struct.error):
        return None

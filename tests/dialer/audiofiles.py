"""Test audio made with PyAV itself: a sine wave encoded into MP3, M4A (AAC), WebM (Opus), OGG (Opus), AMR-NB."""

from __future__ import annotations

import io
import math
import struct

import av

# extension -> (container format, codec, sample rate, FFmpeg layout)
KINDS = {
    "mp3": ("mp3", "libmp3lame", 44100, "stereo"),
    "m4a": ("ipod", "aac", 44100, "stereo"),
    "webm": ("webm", "libopus", 48000, "mono"),
    "ogg": ("ogg", "libopus", 48000, "stereo"),
    "amr": ("amr", "libopencore_amrnb", 8000, "mono"),
}


def encoded_tone(kind: str, seconds: float, freq: int = 440) -> bytes:
    fmt, codec, rate, layout = KINDS[kind]
    channels = 2 if layout == "stereo" else 1
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        # a whole number of cycles per second (integer freq), so one second of samples repeats exactly
        second = [int(8000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(rate)]
        chunk, total, pts = 960, int(seconds * rate), 0
        while pts < total:
            n = min(chunk, total - pts)
            samples = [second[(pts + i) % rate] for i in range(n)]
            frame = av.AudioFrame(format="s16", layout=layout, samples=n)
            frame.planes[0].update(struct.pack(f"<{n * channels}h", *(s for s in samples for _ in range(channels))))
            frame.sample_rate, frame.pts = rate, pts
            for packet in stream.encode(frame):
                out.mux(packet)
            pts += n
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()

"""Prompt audio: every upload is decoded with PyAV and converted to what the box plays — mono, 16-bit, 8 kHz WAV.

PyAV's wheels bundle FFmpeg's libraries, so WAV (any PCM), MP3, M4A/AAC, WebM/Opus (the browser's
MediaRecorder), OGG (Opus/Vorbis) and AMR decode without a system `ffmpeg`. One path for every format.

The container is chosen from the file's first bytes (never by FFmpeg's probing), so only the demuxers
listed in `_sniff` are ever used on uploaded data (no playlist/concat demuxers that open other files).
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import av
import av.error

from plugins.dialer.errors import DialerInputError

MAX_SECONDS = 60.0
MIN_SECONDS = 0.5
RATE = 8000
FORMATS = ("WAV", "MP3", "M4A", "AAC", "WebM", "OGG", "AMR")
ACCEPT = ".wav,.mp3,.m4a,.aac,.webm,.ogg,.oga,.opus,.amr,audio/*"


def converter_note() -> str:
    return ("支持 WAV、MP3、M4A、AAC、WebM、OGG、AMR（自动转换为 8 kHz 单声道）/ "
            "WAV, MP3, M4A, AAC, WebM, OGG and AMR are accepted (converted to 8 kHz mono)")


def _sniff(data: bytes) -> str | None:
    """The FFmpeg demuxer for these bytes, or None when the format is not one we accept."""
    head = data[:16]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return "mp3"  # ID3 tag or an MPEG audio frame header (layer bits non-zero)
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "aac"  # ADTS
    if head[4:8] == b"ftyp":
        return "mp4"  # M4A / MP4 / 3GP (FFmpeg's mov demuxer)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"  # WebM / MKA (MediaRecorder in Chrome and Firefox)
    if head[:4] == b"OggS":
        return "ogg"
    if head[:5] == b"#!AMR":
        return "amr"
    return None


def _decode(data: bytes, fmt: str) -> tuple[bytes, float]:
    """Decode the first audio stream to s16 mono 8 kHz PCM; stops past MAX_SECONDS (no decompression bombs)."""
    limit = int((MAX_SECONDS + 1) * RATE) * 2
    pcm = bytearray()
    try:
        with av.open(io.BytesIO(data), mode="r", format=fmt) as container:
            streams = container.streams.audio
            if not streams:
                raise DialerInputError("文件里没有音频", "the file has no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
            for frame in container.decode(streams[0]):
                for out in resampler.resample(frame):
                    pcm += bytes(out.planes[0])[: out.samples * 2]
                if len(pcm) > limit:
                    break
            else:
                for out in resampler.resample(None):
                    pcm += bytes(out.planes[0])[: out.samples * 2]
    except DialerInputError:
        raise
    except (av.error.FFmpegError, ValueError, EOFError, OSError) as exc:
        raise DialerInputError("音频文件无法解码（文件损坏或格式不对）",
                               f"the audio file could not be decoded (damaged or wrong format): {exc}") from exc
    return bytes(pcm), len(pcm) / 2 / RATE


def _wav(pcm: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return out.getvalue()


def prepare_prompt(data: bytes, filename: str) -> tuple[bytes, float]:
    """(WAV bytes the box plays, seconds). Raises DialerInputError for empty, unplayable or too long audio."""
    if not data:
        raise DialerInputError("文件为空（0 字节）", "the file is empty (0 bytes)")
    fmt = _sniff(data)
    if fmt is None:
        suffix = Path(filename.lower()).suffix or "?"
        raise DialerInputError(f"不支持的音频格式（{suffix}）：请上传 WAV、MP3、M4A、WebM 或 OGG",
                               f"unsupported audio format ({suffix}): upload WAV, MP3, M4A, WebM or OGG")
    pcm, seconds = _decode(data, fmt)
    if seconds < MIN_SECONDS:
        raise DialerInputError("录音太短（不足 0.5 秒）", "the recording is too short (under 0.5 s)")
    if seconds > MAX_SECONDS:
        raise DialerInputError(f"录音太长（超过 {MAX_SECONDS:.0f} 秒）",
                               f"the recording is too long (over {MAX_SECONDS:.0f} s)")
    return _wav(pcm), seconds

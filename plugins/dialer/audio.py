"""Prompt audio: any PCM WAV is converted (stdlib) to what the box plays — mono, 16-bit, 8 kHz.

MP3/M4A need `ffmpeg` on the server's PATH; without it they are refused with a clear message.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import warnings
import wave
from pathlib import Path

from plugins.dialer.errors import DialerInputError

MAX_SECONDS = 60.0
RATE = 8000
COMPRESSED = (".mp3", ".m4a", ".aac", ".ogg", ".amr")


def ffmpeg() -> str | None:
    return shutil.which("ffmpeg")


def converter_note() -> str:
    if ffmpeg():
        return "支持 WAV、MP3、M4A / WAV, MP3 and M4A are accepted"
    return ("仅支持 WAV：服务器未安装 ffmpeg，无法转换 MP3/M4A / WAV only: ffmpeg is not installed on the server, "
            "so MP3/M4A cannot be converted")


def _to_pcm16_mono_8k(data: bytes) -> tuple[bytes, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # stdlib through Python 3.12

    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.readframes(
                w.getnframes())
            comptype = w.getcomptype()
    except (wave.Error, EOFError) as exc:
        raise DialerInputError("无法读取的 WAV 文件（只支持 PCM 编码）",
                               f"unreadable WAV file (PCM only): {exc}") from exc
    if comptype != "NONE" or width not in (1, 2, 3, 4):
        raise DialerInputError("WAV 必须是 PCM 编码", "the WAV must be PCM encoded")
    if width == 1:
        frames = audioop.bias(frames, 1, -128)
    if width != 2:
        frames = audioop.lin2lin(frames, width, 2)
    if channels == 2:
        frames = audioop.tomono(frames, 2, 0.5, 0.5)
    elif channels != 1:
        raise DialerInputError("只支持单声道或立体声", "mono or stereo only")
    if rate != RATE:
        frames, _ = audioop.ratecv(frames, 2, 1, rate, RATE, None)
    seconds = len(frames) / 2 / RATE
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames)
    return out.getvalue(), seconds


def _ffmpeg_to_wav(data: bytes, suffix: str) -> bytes:
    exe = ffmpeg()
    if exe is None:
        raise DialerInputError(
            f"无法播放 {suffix.upper()[1:]} 格式：服务器未安装 ffmpeg，请上传 WAV 文件",
            f"{suffix[1:].upper()} cannot be used: ffmpeg is not installed on the server; upload a WAV file")
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / f"in{suffix}", Path(tmp) / "out.wav"
        src.write_bytes(data)
        proc = subprocess.run([exe, "-v", "error", "-y", "-i", str(src), "-ac", "1", "-ar", str(RATE),
                               "-sample_fmt", "s16", str(dst)], capture_output=True, timeout=60, check=False)
        if proc.returncode != 0 or not dst.exists():
            raise DialerInputError("音频文件无法转换", f"the audio file could not be converted: "
                                   f"{proc.stderr.decode(errors='replace')[:200]}")
        return dst.read_bytes()


def prepare_prompt(data: bytes, filename: str) -> tuple[bytes, float]:
    """(WAV bytes the box plays, seconds). Raises DialerInputError for empty, unplayable or too long audio."""
    if not data:
        raise DialerInputError("文件为空（0 字节）", "the file is empty (0 bytes)")
    suffix = Path(filename.lower()).suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        wav = data
    elif suffix in COMPRESSED or data[:3] == b"ID3" or data[4:8] == b"ftyp":
        wav = _ffmpeg_to_wav(data, suffix or ".mp3")
    else:
        raise DialerInputError("不支持的音频格式（请上传 WAV、MP3 或 M4A）",
                               "unsupported audio format (upload WAV, MP3 or M4A)")
    out, seconds = _to_pcm16_mono_8k(wav)
    if seconds < 0.5:
        raise DialerInputError("录音太短（不足 0.5 秒）", "the recording is too short (under 0.5 s)")
    if seconds > MAX_SECONDS:
        raise DialerInputError(f"录音太长（{seconds:.0f} 秒，最长 {MAX_SECONDS:.0f} 秒）",
                               f"the recording is too long ({seconds:.0f} s, at most {MAX_SECONDS:.0f} s)")
    return out, seconds

"""argon2id password hashing, run in worker threads (≈0.1 s and 64 MiB each, so at most 4 at once)."""

from __future__ import annotations

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.loopbound import PerLoop

_hasher = PasswordHasher()
_limiter = PerLoop(lambda: anyio.CapacityLimiter(4))
MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON = frozenset({
    "12345678", "123456789", "1234567890", "password", "password1", "qwerty123", "11111111",
    "88888888", "66666666", "00000000", "abc12345", "a1234567", "iloveyou", "admin123", "woaini1314",
    "qwertyui", "1q2w3e4r", "aa123456", "123123123", "987654321",
})


class WeakPassword(ValueError):
    pass


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"密码至少 {MIN_LENGTH} 位 / password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"密码最多 {MAX_LENGTH} 位 / password must have at most {MAX_LENGTH} characters")
    if password.lower() in COMMON:
        raise WeakPassword("密码过于常见 / this password is too common")


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password, limiter=_limiter.get())


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str, password: str) -> bool:
    return await anyio.to_thread.run_sync(_verify, stored, password, limiter=_limiter.get())


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)

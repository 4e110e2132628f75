"""Edition licences: an Ed25519-signed payload, verified offline.

The licence file is armoured text::

    -----BEGIN WAIHUBAO LICENCE-----
    <base64url(payload_json)>.<base64url(signature)>
    -----END WAIHUBAO LICENCE-----

The signature covers the exact payload bytes (``msgspec.json.encode(payload, order="sorted")``).
Verification checks the signature before any field of the payload is trusted, so a licence is either
entirely genuine or refused. Signed but not encrypted: anyone may read a licence, nobody may forge one.
"""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Final

import msgspec
import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = structlog.get_logger(__name__)

PRODUCT: Final = "waihubao"
FORMAT_VERSION: Final = 1
BEGIN_MARKER: Final = "-----BEGIN WAIHUBAO LICENCE-----"
END_MARKER: Final = "-----END WAIHUBAO LICENCE-----"
WRAP_WIDTH: Final = 64
CLOCK_SKEW: Final = timedelta(days=1)
WARN_DAYS: Final = 30
DEFAULT_GRACE_DAYS: Final = 14

ENV_TRUSTED_KEYS: Final = "WAIHUBAO_LICENCE_TRUSTED_KEYS"
ENV_LICENCE_FILE: Final = "WAIHUBAO_LICENCE_FILE"
DEFAULT_LICENCE_FILE: Final = Path("var/licence.lic")

# The vendor's public keys by key id. Only public keys live here; the private key never ships.
# Keep old kids when rotating so licences issued under them keep verifying.
EMBEDDED_PUBLIC_KEYS: Final[Mapping[str, str]] = {
    "2026-12": "yB4MvSOpnq9U9uKeI3J09p7g1JR7EonLmLB+lHvcjmw=",
}


class Edition(StrEnum):
    PERSONAL = "personal"
    TEAM = "team"
    SUITE = "suite"


class Phase(StrEnum):
    VALID = "valid"
    GRACE = "grace"
    READ_ONLY = "read_only"


PERSONAL_MODULES: Final = frozenset({"dialer", "sms", "sales"})
TEAM_MODULES: Final = PERSONAL_MODULES | frozenset(
    {
        "sales_analysis",
        "orders",
        "products",
        "checkin",
        "calendar",
        "customer_share",
        "public_pool",
        "assignment",
        "customer_analysis",
        "roles",
        "ip_access",
    }
)
# Module keys that only the suite grants go here as the 全程云 suite grows.
SUITE_MODULES: Final = TEAM_MODULES

EDITION_MODULES: Final[dict[Edition, frozenset[str]]] = {
    Edition.PERSONAL: PERSONAL_MODULES,
    Edition.TEAM: TEAM_MODULES,
    Edition.SUITE: SUITE_MODULES,
}

# Plugins whose entry-point name is in this set are gated by the licence; others are always allowed.
LICENSED_MODULES: Final[frozenset[str]] = frozenset().union(*EDITION_MODULES.values())

TEAM_MIN_SEATS: Final = 3
TEAM_MAX_SEATS: Final = 10


class LicenceError(Exception):
    """A licence (or a key file) is unusable; ``str(err)`` is a message fit for users (zh / en).

    ``code`` is a stable machine-readable reason: ``malformed``, ``unknown_key``, ``bad_signature``,
    ``unsupported_version``, ``wrong_product``, ``invalid``, ``issued_in_future``, ``keys``, ``io``.
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def _invalid(detail_zh: str, detail_en: str) -> LicenceError:
    return LicenceError(
        f"许可证内容无效：{detail_zh} / licence fields are invalid: {detail_en}", code="invalid"
    )


def _malformed(detail: str) -> LicenceError:
    return LicenceError(f"许可证格式错误，无法读取 / licence text is malformed ({detail})", code="malformed")


_BAD_SIGNATURE = (
    "许可证签名无效（内容被修改或非官方签发） / licence signature is invalid "
    "(altered or not issued by the vendor)"
)


class Licensee(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    name: str = ""
    company: str = ""
    email: str = ""


class LicencePayload(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """The signed content of a licence.

    Unknown fields are refused rather than ignored: a field this version does not understand could be
    a restriction, so new fields come with a new ``v``.
    """

    v: int = FORMAT_VERSION
    kid: str
    lid: str
    product: str = PRODUCT
    edition: Edition
    seats: int
    extra_seats: int = 0
    modules: list[str]
    limits: dict[str, int] = msgspec.field(default_factory=dict)
    licensee: Licensee = msgspec.field(default_factory=Licensee)
    issued_at: date
    expires_at: date | None = None
    grace_days: int = DEFAULT_GRACE_DAYS

    def __post_init__(self) -> None:
        # Runs on construction and on decoding, so an invalid payload never exists as an object.
        if self.v != FORMAT_VERSION:
            raise _unsupported_version(self.v)
        if self.product != PRODUCT:
            raise _wrong_product(self.product)
        _validate_fields(self)

    @property
    def seat_limit(self) -> int:
        """Active users allowed: the seats bought plus any extra (overage) seats."""
        return self.seats + self.extra_seats


def _unsupported_version(v: object) -> LicenceError:
    return LicenceError(
        f"不支持的许可证版本 {v!r}，请升级软件 / unsupported licence version {v!r}; please upgrade",
        code="unsupported_version",
    )


def _wrong_product(product: object) -> LicenceError:
    return LicenceError(
        f"此许可证不是外呼宝的许可证（产品 {product!r}） / this licence is for another product ({product!r})",
        code="wrong_product",
    )


def _validate_fields(p: LicencePayload) -> None:
    if not p.kid.strip():
        raise _invalid("缺少密钥编号", "kid is empty")
    try:
        uuid.UUID(p.lid)
    except ValueError:
        raise _invalid(f"许可证编号不是 UUID：{p.lid!r}", f"lid is not a UUID: {p.lid!r}") from None
    if p.extra_seats < 0:
        raise _invalid("额外席位不能为负数", "extra_seats must not be negative")
    if p.edition is Edition.PERSONAL:
        if p.seats != 1 or p.extra_seats != 0:
            raise _invalid(
                f"个人版只能有 1 个席位（当前 {p.seat_limit}）",
                f"the personal edition has exactly 1 seat (got {p.seat_limit})",
            )
    elif p.edition is Edition.TEAM:
        if not TEAM_MIN_SEATS <= p.seats <= TEAM_MAX_SEATS:
            raise _invalid(
                f"团队版席位须在 {TEAM_MIN_SEATS}–{TEAM_MAX_SEATS} 之间（当前 {p.seats}）",
                f"the team edition has {TEAM_MIN_SEATS} to {TEAM_MAX_SEATS} seats (got {p.seats})",
            )
    elif p.seats < 1:
        raise _invalid(f"席位至少为 1（当前 {p.seats}）", f"seats must be at least 1 (got {p.seats})")
    unknown = sorted(set(p.modules) - LICENSED_MODULES)
    if unknown:
        names = ", ".join(unknown)
        raise _invalid(f"未知模块 {names}", f"unknown module key(s): {names}")
    if len(set(p.modules)) != len(p.modules):
        raise _invalid("模块重复", "modules are listed twice")
    negative = sorted(k for k, n in p.limits.items() if n < 0)
    if negative:
        names = ", ".join(negative)
        raise _invalid(f"限额不能为负数：{names}", f"limits must not be negative: {names}")
    if p.expires_at is not None and p.expires_at < p.issued_at:
        raise _invalid("到期日早于签发日", "expires_at is before issued_at")
    if p.grace_days < 0:
        raise _invalid("宽限天数不能为负数", "grace_days must not be negative")


class _KeyId(msgspec.Struct):
    kid: str


class _Envelope(msgspec.Struct):
    v: object = None
    product: object = None


# --- encoding ---------------------------------------------------------------------------------------


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    """Strict base64url: only canonical encodings, so two texts never decode to the same bytes."""
    if not text or not text.isascii():
        raise _malformed("base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _malformed("base64url") from None
    if _b64url_encode(data) != text:
        raise _malformed("base64url")
    return data


def armour(payload_bytes: bytes, signature: bytes) -> str:
    """Build the armoured licence text, body wrapped at 64 characters."""
    body = f"{_b64url_encode(payload_bytes)}.{_b64url_encode(signature)}"
    lines = [body[i : i + WRAP_WIDTH] for i in range(0, len(body), WRAP_WIDTH)]
    return "\n".join([BEGIN_MARKER, *lines, END_MARKER]) + "\n"


def _dearmour(text: str) -> tuple[bytes, bytes]:
    start = text.find(BEGIN_MARKER)
    end = text.find(END_MARKER)
    if start < 0 or end < 0 or end < start:
        raise _malformed("missing BEGIN/END lines")
    if text.find(BEGIN_MARKER, start + 1) >= 0 or text.find(END_MARKER, end + 1) >= 0:
        raise _malformed("more than one licence in the text")
    # Licences travel by e-mail and chat, which wrap and indent lines: drop all whitespace.
    body = "".join(text[start + len(BEGIN_MARKER) : end].split())
    parts = body.split(".")
    if len(parts) != 2:
        raise _malformed("expected payload.signature")
    return _b64url_decode(parts[0]), _b64url_decode(parts[1])


def encode_payload(payload: LicencePayload) -> bytes:
    """The exact bytes that get signed."""
    return msgspec.json.encode(payload, order="sorted")


# --- keys -------------------------------------------------------------------------------------------


def public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise LicenceError(
            f"公钥格式错误：{text!r} / not a base64 raw Ed25519 public key: {text!r}", code="keys"
        ) from None


def generate_keypair(kid: str = "local") -> tuple[bytes, str]:
    """Make a key pair: the private key as unencrypted PKCS#8 PEM and the ``kid base64`` line to trust."""
    if not kid or any(c.isspace() for c in kid) or kid.startswith("#"):
        raise LicenceError(f"密钥编号无效：{kid!r} / invalid key id {kid!r}", code="keys")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, f"{kid} {public_key_b64(private.public_key())}"


def load_private_key(path: Path | str) -> Ed25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise LicenceError(
            f"无法读取私钥文件 {path}：{exc.strerror} / cannot read private key {path}: {exc.strerror}",
            code="io",
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise LicenceError(
            f"{path} 不是 Ed25519 私钥（PEM） / {path} is not an unencrypted Ed25519 PEM private key",
            code="keys",
        )
    return key


def parse_trusted_keys(lines: Iterable[str], source: str = "<keys>") -> dict[str, Ed25519PublicKey]:
    """Parse ``kid base64rawpublickey`` lines; blank lines and ``#`` comments are skipped."""
    keys: dict[str, Ed25519PublicKey] = {}
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        fields = text.split()
        if len(fields) != 2:
            raise LicenceError(
                f"受信任公钥文件 {source} 第 {number} 行格式错误 / {source} line {number}: "
                "expected 'kid base64publickey'",
                code="keys",
            )
        keys[fields[0]] = public_key_from_b64(fields[1])
    return keys


def trusted_keys(extra_file: Path | None = None) -> dict[str, Ed25519PublicKey]:
    """The embedded vendor keys plus those in ``extra_file`` (default: ``$WAIHUBAO_LICENCE_TRUSTED_KEYS``).

    Tests and staging trust their own key pairs this way. A file may add key ids but may not
    redefine an embedded one.
    """
    keys = {kid: public_key_from_b64(b64) for kid, b64 in EMBEDDED_PUBLIC_KEYS.items()}
    if extra_file is None:
        env = os.environ.get(ENV_TRUSTED_KEYS, "").strip()
        extra_file = Path(env) if env else None
    if extra_file is None:
        return keys
    try:
        text = extra_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LicenceError(
            f"无法读取受信任公钥文件 {extra_file} / cannot read trusted keys file {extra_file}: {exc}",
            code="keys",
        ) from None
    for kid, key in parse_trusted_keys(text.splitlines(), str(extra_file)).items():
        if kid in keys and public_key_b64(keys[kid]) != public_key_b64(key):
            raise LicenceError(
                f"受信任公钥文件 {extra_file} 不能替换内置密钥 {kid} / {extra_file} may not replace "
                f"the built-in key {kid}",
                code="keys",
            )
        keys[kid] = key
    return keys


# --- issue and verify -------------------------------------------------------------------------------


def issue_licence(payload: LicencePayload, private_key: Ed25519PrivateKey) -> str:
    """Sign ``payload`` (vendor side) and return the armoured licence text."""
    data = encode_payload(payload)
    return armour(data, private_key.sign(data))


def _verify_signature(
    payload_bytes: bytes, signature: bytes, trusted: Mapping[str, Ed25519PublicKey]
) -> None:
    # The kid is read from the still-unverified payload only to pick the key; nothing else is
    # looked at before the signature checks out, and the kid itself is covered by the signature.
    try:
        kid: str | None = msgspec.json.decode(payload_bytes, type=_KeyId).kid
    except msgspec.DecodeError:
        kid = None
    if kid is not None and kid not in trusted:
        raise LicenceError(
            f"未知的签名密钥编号 {kid!r}，此许可证不是由受信任的密钥签发 / unknown key id {kid!r}: "
            "the licence was not signed by a trusted key",
            code="unknown_key",
        )
    candidates = [trusted[kid]] if kid is not None else list(trusted.values())
    for key in candidates:
        try:
            key.verify(signature, payload_bytes)
        except InvalidSignature:
            continue
        return
    raise LicenceError(_BAD_SIGNATURE, code="bad_signature")


def _decode_verified(payload_bytes: bytes) -> LicencePayload:
    try:
        envelope = msgspec.json.decode(payload_bytes, type=_Envelope)
    except msgspec.DecodeError:
        raise _invalid("不是 JSON 对象", "payload is not a JSON object") from None
    if envelope.v != FORMAT_VERSION:
        raise _unsupported_version(envelope.v)
    if envelope.product != PRODUCT:
        raise _wrong_product(envelope.product)
    try:
        return msgspec.json.decode(payload_bytes, type=LicencePayload)
    except msgspec.DecodeError as exc:
        raise _invalid(str(exc), str(exc)) from None


def verify_licence(text: str, trusted_keys: Mapping[str, Ed25519PublicKey], today: date) -> LicencePayload:
    """Check the signature, then decode and validate. Raises :class:`LicenceError`; never returns
    anything from a licence that failed verification."""
    payload_bytes, signature = _dearmour(text)
    _verify_signature(payload_bytes, signature, trusted_keys)
    payload = _decode_verified(payload_bytes)
    if payload.issued_at > today + CLOCK_SKEW:
        raise LicenceError(
            f"许可证签发日期 {payload.issued_at} 晚于今天 {today}，请检查系统时钟 / licence is issued in the "
            f"future ({payload.issued_at}, today is {today}); check the system clock",
            code="issued_in_future",
        )
    return payload


# --- effective status -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenceStatus:
    """What the running app is entitled to today.

    ``seats`` is the number of active users allowed (extra seats included). ``days_left`` counts days
    until the next phase change (expiry, then end of grace); ``None`` when the licence never expires.
    ``error`` is set when an installed licence was refused and the personal edition is in force.
    """

    payload: LicencePayload | None
    edition: Edition
    seats: int
    modules: frozenset[str]
    phase: Phase
    days_left: int | None
    message: str = ""
    error: str | None = None

    def allows(self, module: str) -> bool:
        """Whether a module may run; names outside :data:`LICENSED_MODULES` are not gated."""
        return module not in LICENSED_MODULES or module in self.modules

    @property
    def read_only(self) -> bool:
        return self.phase is Phase.READ_ONLY


def _personal_status(message: str = "", error: str | None = None) -> LicenceStatus:
    return LicenceStatus(
        payload=None,
        edition=Edition.PERSONAL,
        seats=1,
        modules=EDITION_MODULES[Edition.PERSONAL],
        phase=Phase.VALID,
        days_left=None,
        message=message,
        error=error,
    )


def status_for(payload: LicencePayload | None, today: date) -> LicenceStatus:
    """The effective licence on ``today``: valid until ``expires_at`` (inclusive), then ``grace_days``
    of grace with a banner, then read-only (same modules, writes blocked by the app)."""
    if payload is None:
        return _personal_status()
    expires = payload.expires_at
    if expires is None:
        phase, days_left, message = Phase.VALID, None, ""
    elif today <= expires:
        phase, days_left = Phase.VALID, (expires - today).days
        message = (
            f"许可证将于 {expires} 到期（剩余 {days_left} 天），请及时续期。 / "
            f"The licence expires on {expires} ({days_left} days left); please renew."
            if days_left <= WARN_DAYS
            else ""
        )
    else:
        grace_end = expires + timedelta(days=payload.grace_days)
        if today <= grace_end:
            phase, days_left = Phase.GRACE, (grace_end - today).days
            message = (
                f"许可证已于 {expires} 到期，宽限期剩余 {days_left} 天，之后系统将变为只读。 / "
                f"The licence expired on {expires}; {days_left} grace days left before the system "
                "becomes read-only."
            )
        else:
            phase, days_left = Phase.READ_ONLY, 0
            message = (
                f"许可证已于 {expires} 到期，系统处于只读模式，请安装新的许可证。 / "
                f"The licence expired on {expires}; the system is read-only until a new licence is installed."
            )
    return LicenceStatus(
        payload=payload,
        edition=payload.edition,
        seats=payload.seat_limit,
        modules=frozenset(payload.modules),
        phase=phase,
        days_left=days_left,
        message=message,
    )


# --- storage ----------------------------------------------------------------------------------------


def licence_path() -> Path:
    env = os.environ.get(ENV_LICENCE_FILE, "").strip()
    return Path(env) if env else DEFAULT_LICENCE_FILE


def load_installed(today: date, keys: Mapping[str, Ed25519PublicKey] | None = None) -> LicenceStatus:
    """Read and verify the installed licence; no file means the personal edition.

    An invalid file does not stop the app: it is logged and the personal edition applies, with the
    reason in ``LicenceStatus.error`` and the banner.
    """
    path = licence_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _personal_status()
    except (OSError, UnicodeDecodeError) as exc:
        error = f"无法读取许可证文件 {path} / cannot read licence file {path}: {exc}"
    else:
        try:
            payload = verify_licence(text, trusted_keys() if keys is None else keys, today)
        except LicenceError as exc:
            error = str(exc)
        else:
            return status_for(payload, today)
    log.error("licence.invalid", path=str(path), error=error)
    return _personal_status(
        message=f"已安装的许可证无效，当前按个人版运行 / the installed licence is invalid; running as the "
        f"personal edition: {error}",
        error=error,
    )


def install(
    text: str,
    today: date,
    on_installed: Callable[[LicencePayload], None] | None = None,
    keys: Mapping[str, Ed25519PublicKey] | None = None,
) -> LicencePayload:
    """Verify ``text`` and replace the installed licence atomically; nothing is written if it fails.

    ``on_installed`` runs after the file is in place (the main CLI uses it to write the audit entry).
    """
    payload = verify_licence(text, trusted_keys() if keys is None else keys, today)
    payload_bytes, signature = _dearmour(text)
    path = licence_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(armour(payload_bytes, signature))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise LicenceError(
            f"无法写入许可证文件 {path} / cannot write licence file {path}: {exc}", code="io"
        ) from None
    log.info("licence.installed", path=str(path), lid=payload.lid, edition=str(payload.edition))
    if on_installed is not None:
        on_installed(payload)
    return payload

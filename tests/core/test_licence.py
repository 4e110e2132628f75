"""Edition licences: signing, verification, phases, storage and the `licence` CLI."""

from __future__ import annotations

import base64
import uuid
from datetime import date, timedelta
from pathlib import Path

import click
import msgspec
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from core.licence import (
    BEGIN_MARKER,
    EDITION_MODULES,
    EMBEDDED_PUBLIC_KEYS,
    END_MARKER,
    LICENSED_MODULES,
    Edition,
    LicenceError,
    LicencePayload,
    Licensee,
    Phase,
    armour,
    encode_payload,
    generate_keypair,
    install,
    issue_licence,
    licence_path,
    load_installed,
    load_private_key,
    parse_trusted_keys,
    public_key_b64,
    status_for,
    trusted_keys,
    verify_licence,
)
from core.licence_cli import ON_INSTALLED_META_KEY, licence

TODAY = date(2026, 3, 1)
KID = "test-1"
# Module-level keys: hypothesis refuses function-scoped fixtures, and one pair serves every test.
PRIVATE = Ed25519PrivateKey.generate()
KEYS: dict[str, Ed25519PublicKey] = {KID: PRIVATE.public_key()}


def make_payload(**changes: object) -> LicencePayload:
    fields: dict[str, object] = {
        "kid": KID,
        "lid": str(uuid.uuid4()),
        "edition": Edition.TEAM,
        "seats": 5,
        "modules": sorted(EDITION_MODULES[Edition.TEAM]),
        "limits": {"sms_per_month": 1000},
        "licensee": Licensee(name="张三", company="某某科技", email="zs@example.com"),
        "issued_at": TODAY,
        "expires_at": TODAY + timedelta(days=365),
    }
    fields.update(changes)
    return LicencePayload(**fields)  # type: ignore[arg-type]


VALID_TEXT = issue_licence(make_payload(), PRIVATE)


def sign_raw(obj: dict[str, object], key: Ed25519PrivateKey = PRIVATE) -> str:
    """Sign arbitrary JSON with a trusted key, bypassing the payload's own validation."""
    data = msgspec.json.encode(obj, order="sorted")
    return armour(data, key.sign(data))


def raw_fields(**changes: object) -> dict[str, object]:
    obj = msgspec.to_builtins(make_payload())
    obj.update(changes)
    return obj


def body_of(text: str) -> str:
    return "".join(text.split(BEGIN_MARKER)[1].split(END_MARKER)[0].split())


def rewrap(body: str) -> str:
    return f"{BEGIN_MARKER}\n{body}\n{END_MARKER}\n"


def refused(text: str, keys: dict[str, Ed25519PublicKey] = KEYS, today: date = TODAY) -> LicenceError:
    with pytest.raises(LicenceError) as info:
        verify_licence(text, keys, today)
    return info.value


# --- round trip and format ----------------------------------------------------------------------


def test_round_trip() -> None:
    payload = make_payload(extra_seats=2, grace_days=7)
    assert verify_licence(issue_licence(payload, PRIVATE), KEYS, TODAY) == payload


def test_armour_shape() -> None:
    lines = VALID_TEXT.splitlines()
    assert lines[0] == BEGIN_MARKER
    assert lines[-1] == END_MARKER
    assert all(len(line) <= 64 for line in lines[1:-1])
    payload_b64, _ = body_of(VALID_TEXT).split(".")
    raw = base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4))
    assert raw == encode_payload(make_payload(lid=msgspec.json.decode(raw)["lid"]))


def test_whitespace_and_rewrapping_tolerated() -> None:
    body = body_of(VALID_TEXT)
    messy = (
        "Dear customer, your licence:\r\n\r\n  "
        + BEGIN_MARKER
        + "\r\n"
        + "\n   ".join(body[i : i + 17] for i in range(0, len(body), 17))
        + "\t \n"
        + END_MARKER
        + "\n\n-- \nsales@waihubao\n"
    )
    assert verify_licence(messy, KEYS, TODAY).edition is Edition.TEAM
    assert verify_licence(rewrap(body), KEYS, TODAY).edition is Edition.TEAM


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a licence",
        BEGIN_MARKER + "\nabc.def\n",
        f"{END_MARKER}\nabc.def\n{BEGIN_MARKER}",
        rewrap("onlyonepart"),
        rewrap("a.b.c"),
        rewrap("!!!!.????"),
        rewrap("."),
        VALID_TEXT + VALID_TEXT,
    ],
)
def test_malformed_text(text: str) -> None:
    assert refused(text).code == "malformed"


def test_non_canonical_base64_refused() -> None:
    payload_b64, sig_b64 = body_of(VALID_TEXT).split(".")
    assert refused(rewrap(f"{payload_b64}==.{sig_b64}")).code == "malformed"


# --- tampering and keys -------------------------------------------------------------------------


def test_edited_payload_keeps_old_signature_refused() -> None:
    payload_b64, sig_b64 = body_of(VALID_TEXT).split(".")
    raw = base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4))
    forged = raw.replace(b'"seats":5', b'"seats":9')
    assert forged != raw
    forged_b64 = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
    err = refused(rewrap(f"{forged_b64}.{sig_b64}"))
    assert err.code == "bad_signature"
    assert "签名无效" in str(err) and "signature is invalid" in str(err)


@given(data=st.data())
def test_any_changed_byte_in_body_refused(data: st.DataObject) -> None:
    body = body_of(VALID_TEXT)
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    replacement = data.draw(st.characters(codec="latin-1").filter(lambda c: c != body[index]))
    tampered = body[:index] + replacement + body[index + 1 :]
    with pytest.raises(LicenceError):
        verify_licence(rewrap(tampered), KEYS, TODAY)


@given(index=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7), in_sig=st.booleans())
def test_any_flipped_bit_in_decoded_bytes_refused(index: int, bit: int, in_sig: bool) -> None:
    payload_b64, sig_b64 = body_of(VALID_TEXT).split(".")
    parts = [bytearray(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))) for s in (payload_b64, sig_b64)]
    target = parts[1 if in_sig else 0]
    target[index % len(target)] ^= 1 << bit
    body = ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in parts)
    with pytest.raises(LicenceError) as info:
        verify_licence(rewrap(body), KEYS, TODAY)
    assert info.value.code in {"bad_signature", "unknown_key"}


def test_unknown_kid_refused() -> None:
    text = issue_licence(make_payload(kid="nobody-knows"), PRIVATE)
    err = refused(text)
    assert err.code == "unknown_key"
    assert "nobody-knows" in str(err)


def test_untrusted_key_refused() -> None:
    stranger = Ed25519PrivateKey.generate()
    err = refused(issue_licence(make_payload(), stranger))
    assert err.code == "bad_signature"


def test_vendor_key_does_not_verify_test_licences() -> None:
    vendor_only = trusted_keys()
    assert set(vendor_only) >= set(EMBEDDED_PUBLIC_KEYS)
    text = issue_licence(make_payload(kid="2026-12"), PRIVATE)
    assert refused(text, vendor_only).code == "bad_signature"


def test_unsupported_version_refused() -> None:
    assert refused(sign_raw(raw_fields(v=2))).code == "unsupported_version"


def test_wrong_product_refused() -> None:
    err = refused(sign_raw(raw_fields(product="other-crm")))
    assert err.code == "wrong_product"
    assert "other-crm" in str(err)


@pytest.mark.parametrize(
    "changes",
    [
        {"seats": 11},
        {"modules": ["dialer", "teleport"]},
        {"lid": "not-a-uuid"},
        {"seats": "five"},
        {"surprise": True},
        {"expires_at": "2020-01-01"},
        {"limits": {"sms_per_month": -1}},
    ],
)
def test_signed_but_invalid_fields_refused(changes: dict[str, object]) -> None:
    assert refused(sign_raw(raw_fields(**changes))).code == "invalid"


def test_issued_in_future_refused() -> None:
    text = issue_licence(make_payload(issued_at=TODAY + timedelta(days=2)), PRIVATE)
    assert refused(text).code == "issued_in_future"
    # One day of clock skew is tolerated.
    assert verify_licence(text, KEYS, TODAY + timedelta(days=1)).seats == 5


# --- field validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edition", "seats", "extra", "ok"),
    [
        (Edition.PERSONAL, 1, 0, True),
        (Edition.PERSONAL, 2, 0, False),
        (Edition.PERSONAL, 1, 1, False),
        (Edition.TEAM, 2, 0, False),
        (Edition.TEAM, 3, 0, True),
        (Edition.TEAM, 10, 2, True),
        (Edition.TEAM, 11, 0, False),
        (Edition.TEAM, 3, -1, False),
        (Edition.SUITE, 0, 0, False),
        (Edition.SUITE, 200, 0, True),
    ],
)
def test_seats_validation(edition: Edition, seats: int, extra: int, ok: bool) -> None:
    def build() -> LicencePayload:
        return make_payload(edition=edition, seats=seats, extra_seats=extra)

    if ok:
        assert build().seat_limit == seats + extra
    else:
        with pytest.raises(LicenceError) as info:
            build()
        assert info.value.code == "invalid"


def test_unknown_module_and_dates_refused_at_construction() -> None:
    with pytest.raises(LicenceError, match="teleport"):
        make_payload(modules=["dialer", "teleport"])
    with pytest.raises(LicenceError, match="expires_at"):
        make_payload(expires_at=TODAY - timedelta(days=1))


def test_module_catalogue() -> None:
    assert EDITION_MODULES[Edition.PERSONAL] == {"dialer", "sms", "sales"}
    assert EDITION_MODULES[Edition.PERSONAL] < EDITION_MODULES[Edition.TEAM] <= EDITION_MODULES[Edition.SUITE]
    assert len(LICENSED_MODULES) == 14
    assert LICENSED_MODULES == EDITION_MODULES[Edition.SUITE]


# --- status and phases --------------------------------------------------------------------------


def test_no_licence_is_personal_edition() -> None:
    status = status_for(None, TODAY)
    assert status.edition is Edition.PERSONAL
    assert status.seats == 1
    assert status.modules == {"dialer", "sms", "sales"}
    assert status.phase is Phase.VALID and not status.read_only
    assert status.days_left is None and status.message == ""
    assert status.allows("dialer") and not status.allows("orders")
    assert status.allows("some_third_party_plugin")


def test_phases_by_date() -> None:
    expires = TODAY + timedelta(days=100)
    payload = make_payload(expires_at=expires, grace_days=14, extra_seats=1)

    early = status_for(payload, TODAY)
    assert (early.phase, early.days_left, early.message) == (Phase.VALID, 100, "")
    assert early.seats == 6 and early.allows("orders") and early.payload is payload

    warn = status_for(payload, expires - timedelta(days=30))
    assert warn.phase is Phase.VALID and warn.days_left == 30
    assert "到期" in warn.message and "expires" in warn.message

    last_day = status_for(payload, expires)
    assert last_day.phase is Phase.VALID and last_day.days_left == 0

    grace = status_for(payload, expires + timedelta(days=1))
    assert grace.phase is Phase.GRACE and grace.days_left == 13 and not grace.read_only
    assert "宽限" in grace.message and "grace" in grace.message

    grace_end = status_for(payload, expires + timedelta(days=14))
    assert grace_end.phase is Phase.GRACE and grace_end.days_left == 0

    frozen = status_for(payload, expires + timedelta(days=15))
    assert frozen.phase is Phase.READ_ONLY and frozen.read_only
    assert "只读" in frozen.message and "read-only" in frozen.message
    assert frozen.modules == EDITION_MODULES[Edition.TEAM]


def test_never_expiring_licence() -> None:
    status = status_for(make_payload(expires_at=None), date(2099, 1, 1))
    assert status.phase is Phase.VALID and status.days_left is None and status.message == ""


def test_zero_grace_goes_straight_to_read_only() -> None:
    payload = make_payload(expires_at=TODAY, grace_days=0)
    assert status_for(payload, TODAY + timedelta(days=1)).phase is Phase.READ_ONLY


# --- keys ---------------------------------------------------------------------------------------


def test_trusted_keys_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pem, line = generate_keypair("staging-1")
    keys_file = tmp_path / "trusted.txt"
    keys_file.write_text(f"# staging keys\n\n{line}  # added 2026-03\n", encoding="utf-8")
    monkeypatch.setenv("WAIHUBAO_LICENCE_TRUSTED_KEYS", str(keys_file))
    keys = trusted_keys()
    assert set(keys) == {"staging-1", *EMBEDDED_PUBLIC_KEYS}

    key_file = tmp_path / "k.pem"
    key_file.write_bytes(pem)
    private = load_private_key(key_file)
    assert public_key_b64(private.public_key()) == line.split()[1]
    assert (
        verify_licence(issue_licence(make_payload(kid="staging-1"), private), keys, TODAY).kid == "staging-1"
    )


def test_trusted_keys_file_errors(tmp_path: Path) -> None:
    with pytest.raises(LicenceError) as info:
        parse_trusted_keys(["only-a-kid"])
    assert info.value.code == "keys"
    with pytest.raises(LicenceError):
        parse_trusted_keys(["kid not-base64!"])
    with pytest.raises(LicenceError):
        trusted_keys(tmp_path / "missing.txt")
    _, line = generate_keypair("2026-12")
    clash = tmp_path / "clash.txt"
    clash.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(LicenceError, match="2026-12"):
        trusted_keys(clash)


def test_load_private_key_errors(tmp_path: Path) -> None:
    with pytest.raises(LicenceError) as info:
        load_private_key(tmp_path / "missing.pem")
    assert info.value.code == "io"
    bad = tmp_path / "bad.pem"
    bad.write_text("hello", encoding="utf-8")
    with pytest.raises(LicenceError) as info:
        load_private_key(bad)
    assert info.value.code == "keys"


# --- storage ------------------------------------------------------------------------------------


def test_licence_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WAIHUBAO_LICENCE_FILE", raising=False)
    assert licence_path() == Path("var/licence.lic")
    monkeypatch.setenv("WAIHUBAO_LICENCE_FILE", str(tmp_path / "x.lic"))
    assert licence_path() == tmp_path / "x.lic"


def test_install_and_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "licence.lic"
    monkeypatch.setenv("WAIHUBAO_LICENCE_FILE", str(target))
    assert load_installed(TODAY, KEYS).payload is None

    seen: list[LicencePayload] = []
    payload = install("  \n" + VALID_TEXT + "\n  ", TODAY, on_installed=seen.append, keys=KEYS)
    assert seen == [payload]
    assert target.read_text(encoding="utf-8") == VALID_TEXT
    assert [p.name for p in target.parent.iterdir()] == ["licence.lic"]

    status = load_installed(TODAY, KEYS)
    assert status.payload == payload and status.edition is Edition.TEAM and status.error is None


def test_install_refuses_and_keeps_old(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "licence.lic"
    monkeypatch.setenv("WAIHUBAO_LICENCE_FILE", str(target))
    install(VALID_TEXT, TODAY, keys=KEYS)
    seen: list[LicencePayload] = []
    stranger = issue_licence(make_payload(), Ed25519PrivateKey.generate())
    with pytest.raises(LicenceError):
        install(stranger, TODAY, on_installed=seen.append, keys=KEYS)
    assert seen == []
    assert target.read_text(encoding="utf-8") == VALID_TEXT


def test_invalid_installed_file_falls_back_to_personal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "licence.lic"
    monkeypatch.setenv("WAIHUBAO_LICENCE_FILE", str(target))
    target.write_text(issue_licence(make_payload(), Ed25519PrivateKey.generate()), encoding="utf-8")
    status = load_installed(TODAY, KEYS)
    assert status.edition is Edition.PERSONAL and status.payload is None
    assert status.error is not None and "signature" in status.error
    assert status.error in status.message
    assert not status.allows("orders")


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_keygen_issue_verify_install_show(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keys_file = tmp_path / "trusted.txt"
    lic_file = tmp_path / "var" / "licence.lic"
    monkeypatch.setenv("WAIHUBAO_LICENCE_TRUSTED_KEYS", str(keys_file))
    monkeypatch.setenv("WAIHUBAO_LICENCE_FILE", str(lic_file))
    runner = CliRunner()

    result = runner.invoke(licence, ["show"])
    assert result.exit_code == 0, result.output
    assert "personal" in result.output

    key = tmp_path / "vendor.pem"
    result = runner.invoke(licence, ["keygen", "--out", str(key), "--kid", "cli-1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("cli-1 ")
    assert key.stat().st_mode & 0o077 == 0
    keys_file.write_text(result.output, encoding="utf-8")
    assert runner.invoke(licence, ["keygen", "--out", str(key)]).exit_code == 1

    out = tmp_path / "customer.lic"
    result = runner.invoke(
        licence,
        [
            "issue", "--key", str(key), "--kid", "cli-1", "--edition", "team", "--seats", "4",
            "--licensee-name", "李四", "--company", "示例公司", "--email", "ls@example.com",
            "--limit", "sms_per_month=500", "--expires", "2099-12-31", "--grace-days", "10",
            "--out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith(BEGIN_MARKER)

    result = runner.invoke(licence, ["verify", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK")
    assert "team" in result.output and "2099-12-31" in result.output

    # The main CLI wires the audit entry by putting a callback into ctx.meta.
    installed: list[LicencePayload] = []

    @click.group()
    @click.pass_context
    def main(ctx: click.Context) -> None:
        ctx.meta[ON_INSTALLED_META_KEY] = installed.append

    main.add_command(licence)
    result = runner.invoke(main, ["licence", "install", str(out)])
    assert result.exit_code == 0, result.output
    assert lic_file.exists()
    assert [p.seats for p in installed] == [4]

    result = runner.invoke(licence, ["show"])
    assert result.exit_code == 0, result.output
    for expected in ("team", "李四", "示例公司", "2099-12-31", "valid", "orders", "sms_per_month=500"):
        assert expected in result.output


def test_cli_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WAIHUBAO_LICENCE_TRUSTED_KEYS", raising=False)
    lic_file = tmp_path / "licence.lic"
    monkeypatch.setenv("WAIHUBAO_LICENCE_FILE", str(lic_file))
    runner = CliRunner()

    forged = tmp_path / "forged.lic"
    forged.write_text(VALID_TEXT, encoding="utf-8")
    for command in ("verify", "install"):
        result = runner.invoke(licence, [command, str(forged)])
        assert result.exit_code == 1
        assert "未知的签名密钥" in result.output and "unknown key id" in result.output
    assert not lic_file.exists()

    result = runner.invoke(licence, ["verify", str(tmp_path / "missing.lic")])
    assert result.exit_code == 1

    key = tmp_path / "k.pem"
    assert runner.invoke(licence, ["keygen", "--out", str(key)]).exit_code == 0
    result = runner.invoke(
        licence, ["issue", "--key", str(key), "--kid", "local", "--edition", "team", "--seats", "20"]
    )
    assert result.exit_code == 1
    assert "seats" in result.output

    result = runner.invoke(licence, ["issue", "--key", str(key), "--kid", "local", "--edition", "personal",
                                     "--seats", "1"])  # fmt: skip
    assert result.exit_code == 0
    assert result.output.startswith(BEGIN_MARKER)
    assert "dialer" not in result.output

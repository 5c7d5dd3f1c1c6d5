"""DKIM: every message a real SMTP server receives verifies against the test's public key.

Key pairs are made here (RSA 2048 and Ed25519); dkimpy verifies what aiosmtpd received, with
a DNS lookup answered from the test's own public key.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from billingcore.notices import NoticeKind
from notify.config import ConfigError, load_settings
from notify.handlers import Branding
from notify.mail.render import Renderer
from notify.mail.samples import samples
from notify.mail.signing import KeyFileError, load_key
from tests.notify.test_delivery import World, add_rows, drain, smtp_world
from tests.smtp import SmtpServer, smtp_server

REQUIRED = {"from", "to", "subject", "date", "message-id"}
BRANDING = Branding(brand="GitLab", portal_url="https://customers.example.com")


def write_key(path: Path, key: PrivateKeyTypes, fmt: serialization.PrivateFormat) -> Path:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    )
    return path


def dns_record(key: PrivateKeyTypes) -> bytes:
    """The TXT record a domain publishes for ``key`` (RFC 6376 §3.6.1, RFC 8463)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(raw)
    assert isinstance(key, rsa.RSAPrivateKey)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def resolver(records: dict[str, bytes]) -> Callable[..., bytes | None]:
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name.decode().rstrip("."))

    return lookup


def signature_tags(raw: bytes) -> dict[str, str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    found = re.search(r"^DKIM-Signature:(.*?)\r\n(?![ \t])", head, re.S | re.M | re.I)
    assert found, "no DKIM-Signature header"
    value = re.sub(r"\s+", "", found.group(1))
    return dict(tag.split("=", 1) for tag in value.split(";") if tag)


KEYS: dict[str, Callable[[], PrivateKeyTypes]] = {
    "rsa-sha256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ed25519-sha256": ed25519.Ed25519PrivateKey.generate,
}


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


@pytest.fixture(params=sorted(KEYS))
def key_pair(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, PrivateKeyTypes, Path]:
    algorithm: str = request.param
    key = KEYS[algorithm]()
    path = write_key(tmp_path / "dkim.pem", key, serialization.PrivateFormat.PKCS8)
    return algorithm, key, path


@pytest.fixture
async def signing_world(
    db_url: str, server: SmtpServer, key_pair: tuple[str, PrivateKeyTypes, Path]
) -> AsyncIterator[World]:
    """A deliverer to ``server`` that signs with the test's key and sets a Reply-To."""
    _algorithm, _key, path = key_pair
    loaded = load_settings(
        {
            "NOTIFY_DKIM_PRIVATE_KEY": str(path),
            "NOTIFY_DKIM_SELECTOR": "mail2026",
            "NOTIFY_MAIL_FROM": "GitLab Billing <billing@gitlab.test>",
            "NOTIFY_REPLY_TO": "Billing support <support@gitlab.test>",
        }
    )
    overrides = {"mail_from": loaded.mail_from, "reply_to": loaded.reply_to, "dkim": loaded.dkim}
    async with smtp_world(db_url, server, **overrides) as world:
        yield world


async def test_every_received_message_verifies_and_signs_the_contracts_headers(
    signing_world: World, server: SmtpServer, key_pair: tuple[str, PrivateKeyTypes, Path]
) -> None:
    """Every kind, rendered by the real templates in English and Japanese (non-ASCII subject
    and body), arrives signed with the configured selector, domain and algorithm,
    relaxed/relaxed; dkimpy verifies each against the public key; the signature covers From,
    To, Subject, Date, Message-ID, Reply-To and the List-Unsubscribe pair where present; every
    message carries the Reply-To."""
    algorithm, key, _path = key_pair
    signing_world.renderer = Renderer.shipped()
    sent = 0
    for language in ("en", "ja"):
        for n, sample in enumerate(s for s in samples(language) if s.audience == "customer"):
            await add_rows(
                signing_world.engine,
                kind=sample.kind.value,
                recipient=f"{language}{n}@example.com",
                context=json.dumps(sample.context(BRANDING)),
            )
            sent += 1
    assert await drain(signing_world.deliverer()) == sent
    assert len(server.received) == sent
    assert {r.message["X-Notify-Kind"] for r in server.received} == {k.value for k in NoticeKind}
    lookup = resolver({"mail2026._domainkey.gitlab.test": dns_record(key)})
    for received in server.received:
        assert dkim.verify(received.raw, dnsfunc=lookup), received.raw[:400]
        tags = signature_tags(received.raw)
        assert (tags["a"], tags["c"], tags["d"], tags["s"]) == (
            algorithm,
            "relaxed/relaxed",
            "gitlab.test",
            "mail2026",
        )
        signed = set(tags["h"].lower().split(":"))
        assert REQUIRED | {"reply-to"} <= signed
        message = received.message
        assert message["Reply-To"] == "Billing support <support@gitlab.test>"
        reminder = NoticeKind(message["X-Notify-Kind"]).is_reminder
        assert (message["List-Unsubscribe"] is not None) is reminder
        assert ({"list-unsubscribe", "list-unsubscribe-post"} <= signed) is reminder


async def test_a_changed_header_or_body_no_longer_verifies(
    signing_world: World, server: SmtpServer, key_pair: tuple[str, PrivateKeyTypes, Path]
) -> None:
    """The signature is real: another Subject, or a changed body, fails verification."""
    algorithm, key, _path = key_pair
    await add_rows(signing_world.engine)
    await drain(signing_world.deliverer())
    [received] = server.received
    lookup = resolver({"mail2026._domainkey.gitlab.test": dns_record(key)})
    assert dkim.verify(received.raw, dnsfunc=lookup)
    subject = re.search(rb"^Subject: .*$", received.raw, re.M)
    assert subject
    forged = received.raw.replace(subject.group(0), b"Subject: Pay now to this account")
    assert not dkim.verify(forged, dnsfunc=lookup)
    assert not dkim.verify(received.raw.replace(b"Acme Corp", b"Evil Corp"), dnsfunc=lookup)
    other = resolver({"mail2026._domainkey.gitlab.test": dns_record(KEYS[algorithm]())})
    assert not dkim.verify(received.raw, dnsfunc=other)


def test_traditional_pem_keys_load_and_weak_or_foreign_keys_are_refused(tmp_path: Path) -> None:
    """PKCS#1 RSA loads; a 1024-bit RSA key, an EC key, garbage and a missing file do not."""
    from cryptography.hazmat.primitives.asymmetric import ec

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1 = write_key(tmp_path / "rsa.pem", rsa_key, serialization.PrivateFormat.TraditionalOpenSSL)
    assert load_key(pkcs1, selector="s", domain="d.test").algorithm == "rsa-sha256"
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cases: dict[str, Any] = {
        "1024-bit": write_key(tmp_path / "weak.pem", weak, serialization.PrivateFormat.PKCS8),
        "neither": write_key(
            tmp_path / "ec.pem",
            ec.generate_private_key(ec.SECP256R1()),
            serialization.PrivateFormat.PKCS8,
        ),
        "not an unencrypted PEM": tmp_path / "garbage.pem",
        "cannot read": tmp_path / "missing.pem",
    }
    (tmp_path / "garbage.pem").write_text("hello")
    for problem, path in cases.items():
        with pytest.raises(KeyFileError, match=problem):
            load_key(path, selector="s", domain="d.test")


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"NOTIFY_DKIM_PRIVATE_KEY": "/nonexistent/dkim.pem"}, "NOTIFY_DKIM_PRIVATE_KEY"),
        ({"NOTIFY_DKIM_SELECTOR": "bad selector"}, "NOTIFY_DKIM_SELECTOR"),
        ({"NOTIFY_DKIM_DOMAIN": "-bad-.test"}, "NOTIFY_DKIM_DOMAIN"),
        ({"NOTIFY_REPLY_TO": "not an address"}, "NOTIFY_REPLY_TO"),
    ],
)
def test_bad_dkim_and_reply_to_values_name_their_variable(
    env: dict[str, str], variable: str
) -> None:
    """Each bad value stops the start with one line naming its variable."""
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    assert raised.value.variable == variable
    assert "\n" not in str(raised.value)


def test_the_signing_domain_defaults_to_the_senders(tmp_path: Path) -> None:
    """Without NOTIFY_DKIM_DOMAIN the key signs for the domain of NOTIFY_MAIL_FROM, with the
    selector ``notify``; no key, no signing."""
    path = write_key(
        tmp_path / "k.pem", ed25519.Ed25519PrivateKey.generate(), serialization.PrivateFormat.PKCS8
    )
    settings = load_settings(
        {"NOTIFY_DKIM_PRIVATE_KEY": str(path), "NOTIFY_MAIL_FROM": "b@mail.example.org"}
    )
    assert settings.dkim is not None
    assert (settings.dkim.domain, settings.dkim.selector) == ("mail.example.org", "notify")
    assert "private_key" not in repr(settings)
    assert load_settings({}).dkim is None
    assert load_settings({}).reply_to is None

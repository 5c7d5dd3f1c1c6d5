"""Internationalized addresses through a real SMTP server, with and without SMTPUTF8: the
domain travels as IDNA, a non-ASCII local part needs SMTPUTF8, and nothing stays pending."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from notify.delivery.transports import Outgoing, PermanentFailure
from tests.notify.test_delivery import (
    PlainRenderer,
    World,
    add_rows,
    drain,
    row_of,
    smtp_world,
    suppressed_addresses,
)
from tests.smtp import SmtpServer, smtp_server


def asked_for_smtputf8(server: SmtpServer) -> list[bool]:
    """For each MAIL FROM the server saw, whether it asked for SMTPUTF8."""
    return [any(o.upper() == "SMTPUTF8" for o in options) for options in server.mail_options]


@pytest.fixture(params=[False, True], ids=["plain-server", "smtputf8-server"])
def any_server(request: pytest.FixtureRequest) -> AsyncIterator[SmtpServer]:
    with smtp_server(smtputf8=request.param) as running:
        yield running


@pytest.fixture
def utf8_server() -> AsyncIterator[SmtpServer]:
    with smtp_server(smtputf8=True) as running:
        yield running


@pytest.fixture
def plain_server() -> AsyncIterator[SmtpServer]:
    with smtp_server(smtputf8=False) as running:
        yield running


async def test_an_idn_domain_travels_as_punycode_on_any_server(
    db_url: str, any_server: SmtpServer
) -> None:
    """info@bücher.example: RCPT TO and the To header carry xn--bcher-kva.example; no
    SMTPUTF8 is needed, so a server without it delivers too."""
    async with smtp_world(db_url, any_server) as world:
        [row] = await add_rows(world.engine, recipient="info@bücher.example")
        assert await drain(world.deliverer()) == 1
        [received] = any_server.received
        assert received.recipient == "info@xn--bcher-kva.example"
        assert received.message["To"] == "info@xn--bcher-kva.example"
        assert b"\r\nTo: info@xn--bcher-kva.example\r\n" in received.raw
        assert asked_for_smtputf8(any_server) == [False]
        stored = await row_of(world.engine, row["message_id"])
        assert (stored.status, stored.attempts) == ("sent", 1)


@pytest.mark.parametrize(
    ("address", "on_the_wire"),
    [
        ("jürgen@example.com", "jürgen@example.com"),
        ("jürgen@bücher.example", "jürgen@xn--bcher-kva.example"),
    ],
)
async def test_a_non_ascii_local_part_goes_out_with_smtputf8(
    db_url: str, utf8_server: SmtpServer, address: str, on_the_wire: str
) -> None:
    """The transaction asks for SMTPUTF8, the local part travels as UTF-8, the domain as IDNA,
    and the To header is UTF-8 as RFC 6532 has it (not an RFC 2047 encoded-word)."""
    async with smtp_world(db_url, utf8_server) as world:
        [row] = await add_rows(world.engine, recipient=address)
        assert await drain(world.deliverer()) == 1
        [received] = utf8_server.received
        assert received.recipient == on_the_wire
        assert asked_for_smtputf8(utf8_server) == [True]
        assert f"\r\nTo: {on_the_wire}\r\n".encode() in received.raw
        assert received.message["To"] == on_the_wire
        stored = await row_of(world.engine, row["message_id"])
        assert (stored.status, stored.attempts, stored.last_error) == ("sent", 1, None)


async def test_without_smtputf8_a_non_ascii_local_part_fails_at_once_with_the_reason(
    db_url: str, plain_server: SmtpServer
) -> None:
    """The server does not offer SMTPUTF8: the row is failed after one try, never pending,
    its reason recorded; the address is not suppressed (another server could deliver it) and
    the server never saw a MAIL or RCPT for it. Other rows of the pass go out."""
    async with smtp_world(db_url, plain_server) as world:
        [bad] = await add_rows(world.engine, recipient="jürgen@example.com")
        [good] = await add_rows(world.engine, recipient="a@example.com")
        assert await drain(world.deliverer()) == 2
        stored = await row_of(world.engine, bad["message_id"])
        assert (stored.status, stored.attempts) == ("failed", 1)
        assert "SMTPUTF8" in stored.last_error and "jürgen@example.com" in stored.last_error
        assert await suppressed_addresses(world.engine) == {}
        assert plain_server.rcpt_seen == ["a@example.com"]
        assert (await row_of(world.engine, good["message_id"])).status == "sent"
        assert world.metric("notify_delivery_attempts_total", result="permanent") == 1


class UnexpectedError:
    """A transport that fails in a way no transport translates (the old RCPT encoding bug)."""

    async def send(self, message: Outgoing, recipient: str) -> None:
        recipient.encode("ascii")
        raise AssertionError("only non-ASCII recipients are sent here")

    async def close(self) -> None:
        return None


async def test_an_error_no_transport_knows_fails_the_row_instead_of_retrying_it(
    db_url: str, plain_server: SmtpServer
) -> None:
    """An exception that is neither a TransientFailure nor a PermanentFailure is not retried
    for ever: the row is failed with the error after one try, and nobody is suppressed."""
    async with smtp_world(db_url, plain_server) as smtp:
        world = World(smtp.engine, smtp.settings, UnexpectedError())
        world.renderer = PlainRenderer()
        [row] = await add_rows(world.engine, recipient="jürgen@example.com")
        assert await drain(world.deliverer()) == 1
        stored = await row_of(world.engine, row["message_id"])
        assert (stored.status, stored.attempts) == ("failed", 1)
        assert stored.last_error.startswith("unexpected error: UnicodeEncodeError")
        assert await suppressed_addresses(world.engine) == {}


async def test_a_domain_without_an_idna_form_is_a_permanent_failure(
    db_url: str, plain_server: SmtpServer
) -> None:
    """A domain IDNA cannot encode fails at once, before any connection, with the reason."""
    async with smtp_world(db_url, plain_server) as world:
        with pytest.raises(PermanentFailure, match="no IDNA form") as caught:
            await world.transport.send(
                Outgoing(sender="billing@localhost", message_id="<x@y>", data=b""),
                "info@bü\u200dcher.example",
            )
        assert not caught.value.suppress
        assert plain_server.rcpt_seen == []

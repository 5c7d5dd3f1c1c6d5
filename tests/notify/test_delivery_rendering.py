"""Delivery through the real templates: contexts built by the real handlers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from billingcore.catalog import Tier
from billingcore.commands import CreateSubscription
from billingcore.dates import Term
from billingcore.due import occasions
from billingcore.notices import Notice, NoticeKind
from billingcore.outcomes import Applied, InvoiceIssued
from billingcore.state import Channel, Customer, Deployment, Partner
from billingcore.timeline import apply
from notify.handlers import Branding, EmailSpec, email_for
from notify.mail import render as rendering
from tests.notify.test_delivery import World, add_rows, drain, smtp_world
from tests.smtp import SmtpServer, smtp_server


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def real_emails() -> dict[str, EmailSpec]:
    """A confirmation and a reminder as the handlers build them for a partner subscription."""
    created = apply(
        None,
        CreateSubscription(
            subscription_id="S-1",
            key="evt-create",
            at=at("2026-01-01"),
            customer=Customer(id="C-1", name="Acme Corp", email="billing@acme.test", contacts=()),
            deployment=Deployment.SELF_MANAGED,
            namespace_id=None,
            instance_id="inst-1",
            tier=Tier.PREMIUM,
            seats=10,
            term=Term(start=date(2026, 1, 1), end=date(2027, 1, 1)),
            channel=Channel.PARTNER,
            partner=Partner(name="Reseller GmbH", email="orders@reseller.test"),
        ),
        at("2026-01-01"),
    )
    assert isinstance(created, Applied)
    [reminder_due, *_] = occasions(created.state, at("2026-01-01"), at("2026-10-04"))
    reminded = apply(created.state, reminder_due, reminder_due.due)
    assert isinstance(reminded, Applied)
    brand = Branding(brand="GitLab", portal_url="https://customers.example.com")
    specs = {}
    numbers: dict[str, str] = {}
    for result in (created, reminded):
        for outcome in result.outcomes:
            if isinstance(outcome, InvoiceIssued):
                numbers[outcome.invoice.key] = f"INV-{len(numbers) + 1:06d}"
            elif isinstance(outcome, Notice):
                spec = email_for(result.state, outcome, brand, numbers)
                specs[spec.kind] = spec
    return specs


def outbox_values(spec: EmailSpec, recipient: str) -> dict[str, Any]:
    return {
        "kind": spec.kind,
        "subscription_id": "S-1",
        "recipient": recipient,
        "context": json.dumps(spec.context),
    }


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


@pytest.fixture
async def world(db_url: str, server: SmtpServer) -> AsyncIterator[World]:
    async with smtp_world(db_url, server) as world:
        yield world


async def test_real_templates_render_a_confirmation_and_a_reminder(
    world: World, server: SmtpServer
) -> None:
    """The real renderer's subject and both parts go out; the reminder's body carries the same
    personal one-click URL as its List-Unsubscribe header, the confirmation carries none."""
    world.renderer = rendering.Renderer.load()
    specs = real_emails()
    confirmation = specs["subscription_confirmation"]
    reminder = specs["renewal_reminder"]
    assert NoticeKind(reminder.kind).is_reminder
    assert not NoticeKind(confirmation.kind).is_reminder
    [sent_confirmation] = await add_rows(
        world.engine, **outbox_values(confirmation, "billing@acme.test")
    )
    [sent_reminder] = await add_rows(world.engine, **outbox_values(reminder, "billing@acme.test"))
    assert await drain(world.deliverer()) == 2

    by_kind = {str(r.message["X-Notify-Kind"]): r.message for r in server.received}
    first = by_kind["subscription_confirmation"]
    assert first["Message-ID"] == sent_confirmation["message_id"]
    assert first["Subject"] == "Your GitLab Premium subscription is confirmed"
    assert first["List-Unsubscribe"] is None
    text, html = (part.get_content() for part in first.iter_parts())
    assert "Acme Corp" in text and "Acme Corp" in html

    second = by_kind["renewal_reminder"]
    assert second["Message-ID"] == sent_reminder["message_id"]
    url = str(second["List-Unsubscribe"]).strip("<>")
    assert url.startswith("http://notify.test/unsubscribe/")
    text, html = (part.get_content() for part in second.iter_parts())
    assert url in text and url in html

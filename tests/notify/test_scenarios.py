"""Whole-year scenarios of the time-driven lifecycle, through HTTP, the test clock and SMTP.

Each scenario runs the real application with its background work (processor, scheduler,
delivery) and the test clock on, posts signed webhooks, moves business time with the clock
barrier (CONTRACT §6), and checks the invoices in the admin API and the emails a real SMTP
server received. Expected amounts are worked out here by the arithmetic of CONTRACT §3, shown
beside each, and never asked of the billing core.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from notify.app import create_app
from tests.notify.conftest import Client
from tests.notify.test_delivery_process import running_workers
from tests.scenarios import (
    Mail,
    Service,
    explains,
    invoices,
    kinds,
    lines,
    one,
    scenario_settings,
    sent_to,
)
from tests.smtp import SmtpServer, smtp_server

CUSTOMER = "billing@acme.example"
AP = "ap@acme.example"
PARTNER = {"name": "Reseller GmbH", "email": "orders@reseller.example"}
CARD = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}
EXPIRING = {"brand": "mastercard", "last4": "5100", "exp_month": 12, "exp_year": 2026}
CREATED = "2026-01-15T10:00:00Z"


async def pay(
    service: Service, number: str, amount: str, at: str, subscription_id: str = "sub_1"
) -> None:
    paid = {
        "subscription_id": subscription_id,
        "invoice_number": number,
        "amount": amount,
        "currency": "USD",
    }
    await service.post("payment.succeeded", paid, at)
    # Every billing contact gets a receipt naming the invoice and the amount paid.
    receipts = await service.new_mail()
    assert receipts and {m.kind for m in receipts} == {"payment_receipt"}
    for receipt in receipts:
        assert receipt.subscription_id == subscription_id
        assert receipt.fields["Invoice"] == number
        assert receipt.fields["Amount paid"] == f"${float(amount):,.2f}"


async def only_mail_on(service: Service, day: str, kind: str, says: dict[str, str]) -> Mail:
    """Move the clock to 00:00 UTC of ``day``: one email arrives, of ``kind``, and these are
    among the summary lines of its text part."""
    await service.move_to(f"{day}T00:00:00Z")
    [mail] = await service.new_mail()
    assert mail.kind == kind
    assert {label: mail.fields.get(label) for label in says} == says
    return mail


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def service(
    smtp: SmtpServer, aiohttp_client: Callable[..., Awaitable[Client]], db_url: str
) -> Service:
    app = create_app(scenario_settings(db_url, smtp), run_migrations=False, run_worker=True)
    return Service(await aiohttp_client(app), smtp)


async def test_qsr_year_saas(service: Service) -> None:
    """A saas Premium year (10 seats at 348.00, 2026-01-15 → 2027-01-15): two quarters
    reconciled on their reconciliation dates, a seat bought between notice and invoice
    counting, a third quarter without overage, the fourth never charged, and the auto-renewal
    taking the latest usage as its seats."""
    await service.create(CREATED)
    # 10 × 348.00 = 3,480.00
    assert (
        one(await service.new_mail(), "subscription_confirmation").fields["Invoice total"]
        == "$3,480.00"
    )
    await service.usage("sub_1", 13, "2026-02-10T00:00:00Z")
    await service.usage("sub_1", 12, "2026-03-20T00:00:00Z")
    assert kinds(await service.new_mail()) == ["managing_users"]  # term start + 1 day

    await service.move_to("2026-04-14T23:59:59Z")
    assert await service.new_mail() == []
    # term start + 3 months; quarter 1: max users 13 − 10 seats = 3 over;
    # 3 × 348.00 × (4 − 1) / 4 = 783.00
    notice = await only_mail_on(service, "2026-04-15", "qsr_notice", {})
    assert notice.subject == "Important information about your GitLab subscription"
    assert notice.fields == {
        "Plan": "GitLab Premium (SaaS)",
        "Namespace": "ns_1",
        "Seats paid for": "10",
        "Most users in quarter 1": "13",
        "Users over your seats": "3",
        "Amount": "3 × $348.00 × 3/4 = $783.00",
        "Invoice date": "April 22, 2026 (2026-04-22)",
    }

    seats = {"subscription_id": "sub_1", "seats": 1, "effective_date": "2026-04-18"}
    await service.post("subscription.seats_added", seats, "2026-04-18T09:00:00Z")
    assert kinds(await service.new_mail()) == ["seats_added"]
    # the notice + 7 days, measured again: 13 − 11 seats = 2 over; 2 × 348.00 × 3 / 4 = 522.00;
    # 11 + 2 = 13 seats
    reconciled = await only_mail_on(
        service,
        "2026-04-22",
        "qsr_reconciled",
        {
            "Seats added": "2",
            "Seats now paid for": "13",
            "Invoice total": "$522.00",
            "Invoice": "INV-000003",
        },
    )
    assert reconciled.subject == "Your GitLab subscription has been reconciled"
    await pay(service, "INV-000003", "522.00", "2026-04-25T00:00:00Z")

    await service.usage("sub_1", 12, "2026-05-20T00:00:00Z")
    await service.usage("sub_1", 16, "2026-06-30T00:00:00Z")
    # quarter 2: max users 16 − 13 seats = 3 over; 3 × 348.00 × (4 − 2) / 4 = 522.00
    q2 = {"Most users in quarter 2": "16", "Amount": "3 × $348.00 × 2/4 = $522.00"}
    await only_mail_on(service, "2026-07-15", "qsr_notice", q2)
    paid_for = {"Seats now paid for": "16", "Invoice total": "$522.00", "Invoice": "INV-000004"}
    await only_mail_on(service, "2026-07-22", "qsr_reconciled", paid_for)
    # paid: an unpaid QSR invoice would block the auto-renewal
    await pay(service, "INV-000004", "522.00", "2026-07-25T00:00:00Z")

    await service.usage("sub_1", 15, "2026-08-01T00:00:00Z")
    await service.move_to("2026-10-15T00:00:00Z")  # quarter 3: 15 users ≤ 16 seats
    assert await service.new_mail() == []
    await service.usage("sub_1", 20, "2026-11-02T00:00:00Z")  # quarter 4 is never reconciled
    await service.move_to("2026-12-30T23:59:59Z")
    assert await service.new_mail() == []

    # term end − 15 days: seats max(16 paid for, 20 latest billable) = 20;
    # 20 × 348.00 = 6,960.00; QSR-eligible, so no true-up line
    upcoming = {"Seats": "20", "Amount": "$6,960.00"}
    await only_mail_on(service, "2026-12-31", "auto_renewal_upcoming", upcoming)
    total = {"Invoice total": "$6,960.00", "Invoice": "INV-000005"}
    await only_mail_on(service, "2027-01-15", "renewal_confirmation", total)

    view = await service.view("sub_1")
    assert invoices(view) == [
        ("INV-000001", "purchase", "2026-01-15", "3480.00"),
        ("INV-000002", "seats_added", "2026-04-18", "259.33"),
        ("INV-000003", "qsr", "2026-04-22", "522.00"),
        ("INV-000004", "qsr", "2026-07-22", "522.00"),
        ("INV-000005", "renewal", "2027-01-15", "6960.00"),
    ]
    purchase, seats_added, qsr_1, qsr_2, renewal = view["invoices"]
    assert lines(purchase) == [(10, "348.00", "3480.00", "2026-01-15..2027-01-15")]
    # 1 × 348.00 × 272 / 365 days left (2026-04-18 → 2027-01-15) = 259.3315… → 259.33
    assert lines(seats_added) == [(1, "348.00", "259.33", "2026-04-18..2027-01-15")]
    assert lines(qsr_1) == [(2, "348.00", "522.00", "2026-04-15..2027-01-15")]
    assert lines(qsr_2) == [(3, "348.00", "522.00", "2026-07-15..2027-01-15")]
    assert lines(renewal) == [(20, "348.00", "6960.00", "2027-01-15..2028-01-15")]
    state = view["state"]
    assert (state["term_start"], state["term_end"], state["seats_paid_for"]) == (
        "2027-01-15",
        "2028-01-15",
        20,
    )
    assert state["max_users"] == 0  # max users start again with the new term
    service.assert_each_message_once()


async def test_qsr_year_self_managed(service: Service) -> None:
    """A self-managed Ultimate year at a discounted 1,100.26 from 2026-08-31: reconciliation
    dates clamp to month ends, each notice goes out 6 days after its date and each invoice 7
    days after that, and a report observed after a reconciliation date never counts in the
    quarter before it."""
    await service.create(
        "2026-08-31T10:00:00Z",
        subscription_id="sub_sm",
        deployment="self_managed",
        namespace_id=None,
        instance_id="inst_1",
        tier="ultimate",
        unit_price="1100.26",
        term_start="2026-08-31",
        term_end="2027-08-31",
    )
    # 10 × 1,100.26 = 11,002.60; no managing_users (saas only)
    assert (
        one(await service.new_mail(), "subscription_confirmation").fields["Invoice total"]
        == "$11,002.60"
    )

    await service.usage("sub_sm", 12, "2026-10-01T00:00:00Z")
    await service.move_to("2026-11-30T00:00:00Z")  # 2026-08-31 + 3 months, clamped
    assert await service.new_mail() == []  # self-managed: the notice waits 6 days
    await service.usage("sub_sm", 14, "2026-12-01T00:00:00Z")  # quarter 2 already
    # quarter 1: max users 12 − 10 = 2 over; 2 × 1,100.26 × 3/4 = 1,650.39
    q1 = {
        "Most users in quarter 1": "12",
        "Amount": "2 × $1,100.26 × 3/4 = $1,650.39",
        "Invoice date": "December 13, 2026 (2026-12-13)",
    }
    await only_mail_on(service, "2026-12-06", "qsr_notice", q1)
    paid_for = {"Seats now paid for": "12", "Invoice total": "$1,650.39", "Invoice": "INV-000002"}
    await only_mail_on(service, "2026-12-13", "qsr_reconciled", paid_for)

    await service.move_to("2027-03-05T23:59:59Z")  # 2027-02-28 (clamped) + 6 days, not yet
    assert await service.new_mail() == []
    # quarter 2 (2026-11-30 → 2027-02-28): max users 14 − 12 = 2; 2 × 1,100.26 × 2/4 = 1,100.26
    q2 = {"Amount": "2 × $1,100.26 × 2/4 = $1,100.26"}
    await only_mail_on(service, "2027-03-06", "qsr_notice", q2)
    await only_mail_on(service, "2027-03-13", "qsr_reconciled", {"Seats now paid for": "14"})

    await service.usage("sub_sm", 15, "2027-04-01T00:00:00Z")
    # quarter 3, noticed 2027-05-31 + 6 days: 15 − 14 = 1; 1 × 1,100.26 × 1/4 = 275.065 → 275.07
    # (half up)
    q3 = {"Amount": "1 × $1,100.26 × 1/4 = $275.07"}
    await only_mail_on(service, "2027-06-06", "qsr_notice", q3)
    total = {"Invoice total": "$275.07", "Invoice": "INV-000004"}
    await only_mail_on(service, "2027-06-13", "qsr_reconciled", total)

    await service.usage("sub_sm", 25, "2027-07-01T00:00:00Z")
    await service.move_to("2027-08-15T00:00:00Z")  # the fourth quarter is never charged
    assert await service.new_mail() == []

    view = await service.view("sub_sm")
    assert invoices(view) == [
        ("INV-000001", "purchase", "2026-08-31", "11002.60"),
        ("INV-000002", "qsr", "2026-12-13", "1650.39"),
        ("INV-000003", "qsr", "2027-03-13", "1100.26"),
        ("INV-000004", "qsr", "2027-06-13", "275.07"),
    ]
    assert [lines(invoice) for invoice in view["invoices"][1:]] == [
        [(2, "1100.26", "1650.39", "2026-11-30..2027-08-31")],
        [(2, "1100.26", "1100.26", "2027-02-28..2027-08-31")],
        [(1, "1100.26", "275.07", "2027-05-31..2027-08-31")],
    ]
    assert view["state"]["seats_paid_for"] == 15
    service.assert_each_message_once()


async def test_auto_renewing_year(service: Service) -> None:
    """An auto-renewing year without QSR: no renewal reminders; 30 days before, a card that
    expires before the renewal is pointed out; the 15-day notice with the renewal's seats,
    true-up and the new card; and at 00:00 UTC on term_end the renewal invoice and its
    confirmation to every billing contact. The admin view explains every email received."""
    await service.create(CREATED, contacts=[AP], qsr_enabled=False)
    expiring = {"customer_id": "cus_1", "card": EXPIRING}
    await service.post("payment_method.updated", expiring, "2026-01-20T00:00:00Z")
    assert sent_to(await service.new_mail()) == [
        ("subscription_confirmation", AP),
        ("subscription_confirmation", CUSTOMER),
    ]
    await service.usage("sub_1", 14, "2026-06-01T00:00:00Z")
    for day in ("2026-10-17", "2026-12-01"):  # 90 and 45 days before: it will renew
        await service.move_to(f"{day}T00:00:00Z")
        assert await service.new_mail() == []
    await service.usage("sub_1", 12, "2026-12-01T06:00:00Z")

    await service.move_to("2026-12-16T00:00:00Z")  # 30 days before
    mails = await service.new_mail()
    assert sent_to(mails) == [
        ("payment_method_expiring", AP),
        ("payment_method_expiring", CUSTOMER),
    ]
    card_note = one(mails, "payment_method_expiring", CUSTOMER)
    assert card_note.subject == "Your card ending in 5100 expires before your GitLab renewal"
    assert "renews on January 15, 2027, after the card stops working" in card_note.text
    assert card_note.fields["Renewal date"] == "January 15, 2027 (2027-01-15)"
    assert card_note.unsubscribe is not None  # a reminder kind
    new_card = {"customer_id": "cus_1", "card": CARD}
    await service.post("payment_method.updated", new_card, "2026-12-20T00:00:00Z")

    await service.move_to("2026-12-31T00:00:00Z")
    mails = await service.new_mail()
    assert sent_to(mails) == [("auto_renewal_upcoming", AP), ("auto_renewal_upcoming", CUSTOMER)]
    upcoming = one(mails, "auto_renewal_upcoming", CUSTOMER)
    assert upcoming.unsubscribe is not None  # a reminder kind
    # seats max(10 paid for, 12 latest billable) = 12: 12 × 348.00 = 4,176.00; true-up: max
    # users 14 − 10 paid for = 4 × 348.00 = 1,392.00; amount 4,176.00 + 1,392.00 = 5,568.00
    assert upcoming.fields == {
        "Plan": "GitLab Premium (SaaS)",
        "Namespace": "ns_1",
        "Renewal date": "January 15, 2027 (2027-01-15)",
        "Seats": "12",
        "12 × $348.00": "$4,176.00",
        "True-up, 4 users over your seats this term": "$1,392.00",
        "Amount": "$5,568.00",
        "Charged to": "Visa card ending in 4242",
    }

    await service.move_to("2027-01-14T23:59:59Z")
    assert await service.new_mail() == []
    await service.move_to("2027-01-15T00:00:00Z")
    mails = await service.new_mail()
    assert sent_to(mails) == [("renewal_confirmation", AP), ("renewal_confirmation", CUSTOMER)]
    renewed = one(mails, "renewal_confirmation", CUSTOMER)
    assert renewed.unsubscribe is None
    assert renewed.fields["New term"] == (
        "January 15, 2027 to January 15, 2028 (2027-01-15 to 2028-01-15)"
    )
    assert renewed.fields["Invoice total"] == "$5,568.00"
    assert renewed.fields["Invoice"] == "INV-000002"

    view = await service.view("sub_1")
    assert invoices(view)[1] == ("INV-000002", "renewal", "2027-01-15", "5568.00")
    assert lines(view["invoices"][1]) == [
        (12, "348.00", "4176.00", "2027-01-15..2028-01-15"),
        (4, "348.00", "1392.00", "2026-01-15..2027-01-15"),
    ]
    state = view["state"]
    assert (state["status"], state["term_start"], state["seats_paid_for"]) == (
        "active",
        "2027-01-15",
        12,
    )
    everything = service.received()
    assert len(everything) == len(view["notifications"]) == 8
    explains(view, everything)
    service.assert_each_message_once()


async def test_year_without_auto_renewal(service: Service) -> None:
    """Two subscriptions that will not renew by themselves: auto_renew off, and paid by
    purchase order with auto_renew on. Both get the 90/45/30-day reminders (after a jump only
    the latest due; none after a one-click opt-out), only the purchase-order one the 15-day
    blocked notice, and both expire on term_end with no invoice."""
    await service.create(CREATED, subscription_id="sub_off", auto_renew=False)
    await service.create(CREATED, subscription_id="sub_po", purchase_order=True)
    await service.move_to("2026-01-16T00:00:00Z")
    assert sorted((m.subscription_id, m.kind) for m in await service.new_mail()) == [
        ("sub_off", "managing_users"),  # QSR-eligible saas; a purchase order is not
        ("sub_off", "subscription_confirmation"),
        ("sub_po", "subscription_confirmation"),
    ]

    await service.move_to("2026-10-16T23:59:59Z")
    assert await service.new_mail() == []
    await service.move_to("2026-10-17T00:00:00Z")  # term end − 90 days
    mails = await service.new_mail()
    assert sorted(m.subscription_id for m in mails) == ["sub_off", "sub_po"]
    assert {m.kind for m in mails} == {"renewal_reminder"}
    reminder = next(m for m in mails if m.subscription_id == "sub_off")
    assert reminder.subject == "Your GitLab subscription expires on January 15, 2027"
    assert "ends on January 15, 2027, in 90 days, and will not renew by itself" in reminder.text
    assert reminder.fields["Expires on"] == "January 15, 2027 (2027-01-15)"
    assert f"https://customers.example.com/subscriptions/{reminder.subscription_id}/renew" in (
        reminder.text
    )

    # sub_po's reader opts out of its reminders: the next one is not sent, the notices are
    await service.unsubscribe(next(m for m in mails if m.subscription_id == "sub_po"))
    await service.move_to("2026-12-20T00:00:00Z")  # past the 45- and the 30-day reminder
    [latest] = await service.new_mail()
    assert latest.idempotency_key == f"sub_off:renewal_reminder:2026-12-16:{CUSTOMER}"
    opted_out = (await service.view("sub_po"))["notifications"][-1]
    assert (opted_out["kind"], opted_out["status"], opted_out["last_error"]) == (
        "renewal_reminder",
        "suppressed",
        "unsubscribed",
    )

    await service.move_to("2026-12-31T00:00:00Z")  # term end − 15 days
    [blocked] = await service.new_mail()
    assert (blocked.subscription_id, blocked.kind) == ("sub_po", "auto_renewal_blocked")
    assert blocked.unsubscribe is None
    assert "cannot renew by itself on January 15, 2027" in blocked.text
    assert "paid by purchase order, which cannot be charged automatically" in blocked.text

    await service.move_to("2027-01-15T00:00:00Z")
    mails = await service.new_mail()
    assert sorted((m.subscription_id, m.kind) for m in mails) == [
        ("sub_off", "subscription_expired"),
        ("sub_po", "subscription_expired"),
    ]
    assert "expired on January 15, 2027." in mails[0].text
    assert mails[0].fields["Expired on"] == "January 15, 2027 (2027-01-15)"
    await service.move_to("2027-03-01T00:00:00Z")
    assert await service.new_mail() == []
    for sub in ("sub_off", "sub_po"):
        view = await service.view(sub)
        assert view["state"]["status"] == "expired"
        assert [i[1] for i in invoices(view)] == ["purchase"]
    service.assert_each_message_once()


async def test_failed_renewal_payment_runs_through_grace_to_expiry(service: Service) -> None:
    """Both auto-renewals' payments fail: 14 days of grace each. The one paid meanwhile stays
    active; the other expires when its grace ends, with subscription_expired."""
    for sub in ("sub_1", "sub_2"):
        await service.create(CREATED, subscription_id=sub, qsr_enabled=False)
    await service.move_to("2027-01-15T00:00:00Z")
    assert kinds(await service.new_mail()) == [
        "auto_renewal_upcoming",
        "auto_renewal_upcoming",
        "renewal_confirmation",
        "renewal_confirmation",
        "subscription_confirmation",
        "subscription_confirmation",
    ]
    renewal = {}
    for sub in ("sub_1", "sub_2"):
        number, purpose, _, total = invoices(await service.view(sub))[-1]
        assert (purpose, total) == ("renewal", "3480.00")  # 10 × 348.00
        renewal[sub] = number
        failed = {"subscription_id": sub, "invoice_number": number, "reason": "card_declined"}
        await service.post("payment.failed", failed, "2027-01-15T06:00:00Z")
    mails = await service.new_mail()
    assert sent_to(mails) == [("auto_renewal_failed", CUSTOMER)] * 2
    failure = mails[0]
    # grace: 14 days from the failure on 2027-01-15 → 2027-01-29
    assert "We could not collect $3,480.00" in failure.text
    assert "grace period until January 29, 2027." in failure.text
    assert failure.fields["Grace period ends"] == "January 29, 2027 (2027-01-29)"
    assert "“card declined”" in failure.text
    assert (await service.view("sub_1"))["state"]["status"] == "grace"

    await pay(service, renewal["sub_2"], "3480.00", "2027-01-20T00:00:00Z", "sub_2")
    await service.move_to("2027-01-28T23:59:59Z")
    assert await service.new_mail() == []
    await service.move_to("2027-01-29T00:00:00Z")
    [expired] = await service.new_mail()
    assert (expired.subscription_id, expired.kind) == ("sub_1", "subscription_expired")
    assert "expired on January 29, 2027." in expired.text
    assert expired.fields["Expired on"] == "January 29, 2027 (2027-01-29)"
    await service.move_to("2027-03-01T00:00:00Z")
    assert await service.new_mail() == []

    lapsed, kept = (await service.view("sub_1"))["state"], (await service.view("sub_2"))["state"]
    assert (lapsed["status"], kept["status"]) == ("expired", "active")
    assert kept["term_end"] == "2028-01-15"
    service.assert_each_message_once()


async def test_partner_year(service: Service) -> None:
    """A partner subscription: no QSR although over its seats, no auto-renewal, and every
    reminder and notice reaches the partner too, in the partner's variant of the copy."""
    await service.create(CREATED, channel="partner", partner=PARTNER)
    everyone = [CUSTOMER, PARTNER["email"]]
    assert sorted(m.recipient for m in await service.new_mail()) == sorted(everyone)
    await service.usage("sub_1", 14, "2026-03-01T00:00:00Z")
    await service.move_to("2026-10-16T00:00:00Z")  # past every reconciliation date
    assert await service.new_mail() == []

    for day in ("2026-10-17", "2026-12-01", "2026-12-16"):  # 90, 45 and 30 days before
        await service.move_to(f"{day}T00:00:00Z")
        mails = await service.new_mail()
        assert sent_to(mails) == sorted(("renewal_reminder", to) for to in everyone)
    # The customer is told to contact the partner; the partner reads its own copy, about its
    # customer, and neither is offered the portal.
    to_customer = one(mails, "renewal_reminder", CUSTOMER)
    assert (
        "This subscription was bought through Reseller GmbH. To renew, contact Reseller GmbH "
        "at orders@reseller.example" in to_customer.text
    )
    to_partner = one(mails, "renewal_reminder", PARTNER["email"])
    assert "subscription of your customer Acme Corp ends on January 15, 2027" in to_partner.text
    assert "please arrange the renewal with Acme Corp now" in to_partner.text
    assert "To renew, contact Reseller GmbH" not in to_partner.text
    assert to_partner.subject != to_customer.subject
    for mail in (to_customer, to_partner):
        assert "customers.example.com" not in mail.text.split("\n--\n")[0]
    assert "as the partner of record of Acme Corp" in to_partner.text

    await service.move_to("2026-12-31T00:00:00Z")
    mails = await service.new_mail()
    assert sent_to(mails) == sorted(("auto_renewal_blocked", to) for to in everyone)
    blocked = one(mails, "auto_renewal_blocked", CUSTOMER)
    assert "bought through a partner" in blocked.text
    assert "Reseller GmbH (orders@reseller.example) can help you renew." in blocked.text

    await service.move_to("2027-01-15T00:00:00Z")
    mails = await service.new_mail()
    assert sent_to(mails) == sorted(("subscription_expired", to) for to in everyone)
    expired = one(mails, "subscription_expired", CUSTOMER)
    assert "To renew, contact Reseller GmbH at orders@reseller.example." in expired.text

    view = await service.view("sub_1")
    assert view["state"]["qsr_eligible"] is False
    assert view["state"]["status"] == "expired"
    assert [i[1] for i in invoices(view)] == ["purchase"]  # no QSR, no renewal, no true-up
    service.assert_each_message_once()


async def test_a_year_in_one_jump(service: Service) -> None:
    """One POST moves the clock a whole year: every occasion is done once and in date order
    (a later one sees what an earlier one did), the 90/45/30-day series collapses to its
    latest reminder, and a second POST adds nothing."""
    await service.create(CREATED, subscription_id="sub_auto")
    await service.create(CREATED, subscription_id="sub_qsr")
    await service.create(CREATED, subscription_id="sub_manual", auto_renew=False)
    for sub, users in (("sub_auto", 9), ("sub_qsr", 13), ("sub_manual", 13)):
        await service.usage(sub, users, "2026-01-15T11:00:00Z")

    await service.move_to("2027-01-20T00:00:00Z")
    mails = await service.new_mail()
    views = {sub: await service.view(sub) for sub in ("sub_auto", "sub_qsr", "sub_manual")}
    assert {sub: [n["kind"] for n in view["notifications"]] for sub, view in views.items()} == {
        "sub_auto": [
            "subscription_confirmation",
            "managing_users",  # 2026-01-16
            "auto_renewal_upcoming",  # 2026-12-31
            "renewal_confirmation",  # 2027-01-15
            "managing_users",  # 2027-01-16, the new term's
        ],
        "sub_qsr": [
            "subscription_confirmation",
            "managing_users",
            "qsr_notice",  # 2026-04-15
            "qsr_reconciled",  # 2026-04-22
            "auto_renewal_blocked",  # 2026-12-31: the QSR invoice is still unpaid
            "subscription_expired",  # 2027-01-15
        ],
        "sub_manual": [
            "subscription_confirmation",
            "managing_users",
            "qsr_notice",
            "qsr_reconciled",
            "renewal_reminder",  # only the 30-day one, 2026-12-16
            "subscription_expired",
        ],
    }
    assert len(mails) == 17
    for sub, view in views.items():
        explains(view, [m for m in mails if m.subscription_id == sub])
    reminder = one(mails, "renewal_reminder")
    assert reminder.idempotency_key == f"sub_manual:renewal_reminder:2026-12-16:{CUSTOMER}"
    assert "A quarterly reconciliation invoice is still unpaid." in (
        one(mails, "auto_renewal_blocked").text
    )

    # sub_auto renews with max(10 paid for, 9 billable) = 10 seats: 10 × 348.00 = 3,480.00
    assert one(mails, "auto_renewal_upcoming").fields["Amount"] == "$3,480.00"
    # quarter 1: 13 − 10 = 3 over; 3 × 348.00 × 3/4 = 783.00
    assert {sub: [(i[1], i[2], i[3]) for i in invoices(view)] for sub, view in views.items()} == {
        "sub_auto": [("purchase", "2026-01-15", "3480.00"), ("renewal", "2027-01-15", "3480.00")],
        "sub_qsr": [("purchase", "2026-01-15", "3480.00"), ("qsr", "2026-04-22", "783.00")],
        "sub_manual": [("purchase", "2026-01-15", "3480.00"), ("qsr", "2026-04-22", "783.00")],
    }
    assert {sub: view["state"]["status"] for sub, view in views.items()} == {
        "sub_auto": "active",
        "sub_qsr": "expired",
        "sub_manual": "expired",
    }

    await service.move_to("2027-01-20T00:00:01Z")
    assert await service.new_mail() == []
    service.assert_each_message_once()


# Thirty subscriptions, ten of each kind, and what each one is sent over the year.
FLEET: dict[str, tuple[dict[str, object], list[str]]] = {
    "auto": (
        {"qsr_enabled": False},
        ["subscription_confirmation", "auto_renewal_upcoming", "renewal_confirmation"],
    ),
    "manual": (
        {"qsr_enabled": False, "auto_renew": False},
        [
            "subscription_confirmation",
            "renewal_reminder",  # 90 days before
            "renewal_reminder",  # 30 days before; the 45-day one is jumped over
            "subscription_expired",
        ],
    ),
    "qsr": (
        {},
        [
            "subscription_confirmation",
            "managing_users",
            "qsr_notice",
            "qsr_reconciled",
            "auto_renewal_blocked",  # the QSR invoice is left unpaid
            "subscription_expired",
        ],
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # workers share PostgreSQL
async def test_two_worker_processes_send_each_occasion_once(
    smtp: SmtpServer,
    aiohttp_client: Callable[..., Awaitable[Client]],
    db_url: str,
    tmp_path: Path,
) -> None:
    """Two ``notify worker`` processes run the scheduler and delivery beside the HTTP API's
    clock barrier, all reading the one test clock in the database: over a year of clock moves
    every email of every occasion arrives exactly once."""
    app = create_app(scenario_settings(db_url, smtp), run_migrations=False, run_worker=False)
    service = Service(await aiohttp_client(app), smtp)
    workers = {"NOTIFY_TEST_CLOCK": "1", "NOTIFY_SCHEDULER_INTERVAL": "0.05"}
    expected: Counter[tuple[str, str]] = Counter()
    with running_workers(db_url, smtp, tmp_path, count=2, settings=workers):
        for group, (overrides, sent) in FLEET.items():
            for n in range(10):
                sub = f"{group}_{n}"
                await service.create(
                    CREATED, subscription_id=sub, namespace_id=f"ns_{sub}", **overrides
                )
                expected.update((sub, kind) for kind in sent)
        for n in range(10):
            await service.usage(f"qsr_{n}", 13, "2026-02-10T00:00:00Z")
        for day in ("2026-04-15", "2026-04-22", "2026-10-17", "2026-12-20", "2026-12-31"):
            await service.move_to(f"{day}T00:00:00Z")
        await service.move_to("2027-01-15T00:00:00Z")
        mails = await service.new_mail()

    assert Counter((m.subscription_id, m.kind) for m in mails) == expected
    assert len({m.message_id for m in mails}) == len(mails) == 130
    service.assert_each_message_once()

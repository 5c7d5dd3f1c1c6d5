"""Email handlers: one per notice kind, with recipients, links and the contract's arithmetic.

Notices come from the billing core itself (``apply`` and the occasions a scheduler would run),
so each test checks what a customer would really receive.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from billingcore.catalog import Tier
from billingcore.commands import (
    AddSeats,
    Cancel,
    CreateSubscription,
    Renew,
    Upgrade,
)
from billingcore.dates import Term
from billingcore.money import Money
from billingcore.notices import NOTICE_TYPES, Notice, NoticeKind
from billingcore.state import Card, Channel, Customer, Deployment, Partner, Subscription
from billingcore.timeline import apply
from notify.handlers import HANDLERS, Branding, EmailSpec, email_for
from notify.handlers.formatting import resolve_locale
from notify.mail import samples
from notify.mail.samples import at

TEMPLATES = Path(__file__).resolve().parents[2] / "notify" / "templates"
BRAND = Branding(brand="GitLab", portal_url="https://customers.example.com/")
PORTAL = "https://customers.example.com"
NBSP = "\xa0"


class Story(samples.Story):
    """The sample stories' driver, with what these tests ask of what it sent."""

    def last(self, kind: NoticeKind) -> tuple[Subscription, Notice]:
        return [(state, n) for state, n in self.sent if n.kind is kind][-1]

    def email(self, kind: NoticeKind) -> EmailSpec:
        return email_for(*self.last(kind), BRAND, self.numbers)


def start(**overrides: Any) -> Story:
    """A 10-seat Premium saas subscription bought directly on 2026-01-01, in USD, locale en."""
    fields: dict[str, Any] = {
        "subscription_id": "S-1",
        "key": "evt-create",
        "at": at("2026-01-01"),
        "customer": Customer(
            id="C-1",
            name="Acme Corp",
            email="billing@acme.test",
            contacts=("ops@acme.test", "BILLING@acme.test", "cfo@acme.test", "Ops@Acme.test"),
        ),
        "deployment": Deployment.SAAS,
        "namespace_id": "ns-1",
        "tier": Tier.PREMIUM,
        "seats": 10,
        "term": Term(start=date(2026, 1, 1), end=date(2027, 1, 1)),
        "card": Card(brand="visa", last4="4242", exp_month=12, exp_year=2030),
    }
    fields.update(overrides)
    result = apply(None, CreateSubscription(**fields), fields["at"])
    story = Story(state=Subscription.__new__(Subscription))
    story.take(result)
    return story


def partner_start(**overrides: Any) -> Story:
    """The same subscription sold by a partner, on a self-managed instance."""
    fields: dict[str, Any] = {
        "channel": Channel.PARTNER,
        "partner": Partner(name="Reseller GmbH", email="orders@reseller.test"),
        "deployment": Deployment.SELF_MANAGED,
        "namespace_id": None,
        "instance_id": "inst-1",
    }
    fields.update(overrides)
    return start(**fields)


DIRECT_RECIPIENTS = ("billing@acme.test", "ops@acme.test", "cfo@acme.test")
PARTNER_RECIPIENTS = (*DIRECT_RECIPIENTS, "orders@reseller.test")


# ------------------------------------------------------------------ every kind, end to end


def direct_story() -> Story:
    """Purchase, QSR overage in quarter 1, seats added, upgrade, auto-renewal failing, expiry."""
    story = start().until("2026-02-01").usage("2026-02-15", 14)
    story.until("2026-04-09")
    qsr_invoice = story.invoices[-1]
    story.fail_payment("2026-04-10", qsr_invoice)
    story.pay("2026-04-20", qsr_invoice, "1044.00")  # paid, so the auto-renewal is not blocked
    story.event(
        AddSeats(
            subscription_id="S-1",
            key="evt-seats",
            at=at("2026-07-01"),
            seats=5,
            effective_date=date(2026, 7, 1),
        )
    )
    story.event(
        Upgrade(
            subscription_id="S-1",
            key="evt-upgrade",
            at=at("2026-10-01"),
            tier=Tier.ULTIMATE,
            effective_date=date(2026, 10, 1),
        )
    )
    story.until("2027-01-02")
    story.fail_payment("2027-01-02", story.invoices[-1])
    return story.until("2027-01-20")


def partner_story() -> Story:
    """A partner subscription that will not renew by itself: reminders, then expiry."""
    story = partner_start()
    story.until("2026-10-04")  # the 90-day reminder
    story.until("2026-12-18")  # the auto-renewal notice (blocked: partner channel)
    return story


def expiring_card_story() -> Story:
    """A card that expires before the renewal: the reminder, then the blocked auto-renewal."""
    story = start(card=Card(brand="mastercard", last4="1111", exp_month=11, exp_year=2026))
    return story.until("2026-12-18")


def every_notice() -> Iterator[tuple[str, Subscription, Notice, dict[str, str]]]:
    """At least one realistic notice of every kind, with the state it was sent from and the
    invoice numbers of its story."""
    for name, story in (
        ("direct", direct_story()),
        ("partner", partner_story()),
        ("card", expiring_card_story()),
        ("cancel", start().event(Cancel(subscription_id="S-1", key="c", at=at("2026-03-01")))),
    ):
        for state, notice in story.sent:
            yield f"{name}:{notice.kind.value}", state, notice, story.numbers


NOTICES = list(every_notice())


def test_every_kind_has_a_handler() -> None:
    """The table is complete: every notice type of the core has its email handler."""
    assert set(HANDLERS) == set(NOTICE_TYPES.values())
    assert set(NOTICE_TYPES) == set(NoticeKind)


def test_the_stories_reach_every_kind() -> None:
    """The realistic stories below send every kind of email at least once."""
    assert {notice.kind for _, _, notice, _ in NOTICES} == set(NoticeKind)


@pytest.mark.parametrize(
    ("name", "state", "notice", "numbers"), NOTICES, ids=[n for n, _, _, _ in NOTICES]
)
def test_every_context_is_plain_json_with_the_common_keys(
    name: str, state: Subscription, notice: Notice, numbers: dict[str, str]
) -> None:
    """Contexts survive a JSON round trip unchanged and hold what every template needs; an
    email about an invoice names its number."""
    spec = email_for(state, notice, BRAND, numbers)
    assert json.loads(json.dumps(spec.context)) == spec.context
    common = {
        "kind", "brand", "customer_name", "customer_email", "subscription_id", "locale",
        "deployment", "deployment_label", "partner", "links", "tier", "current_term",
        "invoice_number",
    }  # fmt: skip
    assert common <= spec.context.keys()
    assert spec.kind == notice.kind.value == spec.context["kind"]
    assert notice.reminder is (
        notice.kind
        in {
            NoticeKind.RENEWAL_REMINDER,
            NoticeKind.AUTO_RENEWAL_UPCOMING,
            NoticeKind.PAYMENT_METHOD_EXPIRING,
        }
    )
    invoice_key = getattr(notice, "invoice_key", None)
    expected = None if invoice_key is None else numbers[invoice_key]
    assert spec.context["invoice_number"] == expected
    assert spec.context["customer_name"] == "Acme Corp"
    assert spec.context["links"]["renew"] == f"{PORTAL}/subscriptions/S-1/renew"


# ------------------------------------------------------------------ recipients and links


def test_recipients_are_each_contact_once_in_order() -> None:
    """Contacts repeated with other capitals are listed once, the first spelling kept."""
    spec = start().email(NoticeKind.SUBSCRIPTION_CONFIRMATION)
    assert spec.recipients == DIRECT_RECIPIENTS
    assert spec.context["partner"] is None


def test_partner_subscriptions_also_go_to_the_partner() -> None:
    """The partner's contact is a recipient, and the context names the partner."""
    spec = partner_start().email(NoticeKind.SUBSCRIPTION_CONFIRMATION)
    assert spec.recipients == PARTNER_RECIPIENTS
    assert spec.context["partner"] == {"name": "Reseller GmbH", "email": "orders@reseller.test"}
    assert spec.context["deployment"] == "self_managed"


def test_a_partner_address_that_is_also_a_contact_is_listed_once() -> None:
    """The partner's address is not repeated when it is one of the customer's contacts."""
    story = partner_start(partner=Partner(name="Reseller", email="Cfo@acme.test"))
    assert story.email(NoticeKind.SUBSCRIPTION_CONFIRMATION).recipients == DIRECT_RECIPIENTS


def test_portal_links_are_under_the_portal_url() -> None:
    """Renew, add seats and payment methods point into the customers portal."""
    links = start().email(NoticeKind.SUBSCRIPTION_CONFIRMATION).context["links"]
    assert links == {
        "portal": PORTAL,
        "subscription": f"{PORTAL}/subscriptions/S-1",
        "renew": f"{PORTAL}/subscriptions/S-1/renew",
        "add_seats": f"{PORTAL}/subscriptions/S-1/seats",
        "payment_methods": f"{PORTAL}/payment_methods",
    }


# ------------------------------------------------------------------ amounts and dates


def test_subscription_confirmation_states_tier_seats_term_and_total() -> None:
    """Purchase: 10 seats × $348.00 = $3,480.00 for 2026-01-01 to 2027-01-01."""
    ctx = start().email(NoticeKind.SUBSCRIPTION_CONFIRMATION).context
    assert ctx["tier"] == "Premium"
    assert ctx["seats"] == 10
    assert ctx["unit_price"]["display"] == "$348.00"
    assert ctx["invoice_total"] == {"display": "$3,480.00", "amount": "3480.00", "currency": "USD"}
    assert ctx["term"]["start"] == {
        "long": "January 1, 2026",
        "medium": "Jan 1, 2026",
        "iso": "2026-01-01",
    }
    assert ctx["term"]["end"]["iso"] == "2027-01-01"
    assert ctx["term"]["days"] == 365


def test_seats_added_is_prorated_over_the_days_left() -> None:
    """5 seats × $348.00 × 184 / 365 = $877.15 (July 1 to January 1)."""
    ctx = direct_story().email(NoticeKind.SEATS_ADDED).context
    assert ctx["seats_added"] == 5
    assert ctx["seats"] == 14 + 5  # 10 bought, 4 reconciled in quarter 1, 5 added
    assert ctx["remaining_days"] == 184
    assert ctx["amount"]["display"] == "$877.15"
    assert ctx["effective_date"]["iso"] == "2026-07-01"


def test_upgrade_nets_a_credit_against_a_charge() -> None:
    """19 seats over 92 days: −$1,666.59 for Premium, +$5,689.38 for Ultimate, net $4,022.79."""
    ctx = direct_story().email(NoticeKind.UPGRADE_CONFIRMATION).context
    assert (ctx["previous_tier"], ctx["tier"], ctx["seats"]) == ("Premium", "Ultimate", 19)
    assert ctx["remaining_days"] == 92
    assert ctx["credit"]["display"] == "-$1,666.59"  # 19 × 348 × 92 / 365 = 1666.586…
    assert ctx["charge"]["display"] == "$5,689.38"  # 19 × 1188 × 92 / 365 = 5689.380…
    assert ctx["amount"]["display"] == "$4,022.79"


def test_qsr_notice_charges_the_quarters_left() -> None:
    """4 users over in quarter 1: 4 × $348.00 × 3/4 = $1,044.00, invoiced 7 days later."""
    ctx = direct_story().email(NoticeKind.QSR_NOTICE).context
    assert (ctx["quarter"], ctx["remaining_quarters"], ctx["overage"]) == (1, 3, 4)
    assert (ctx["seats"], ctx["max_users"]) == (10, 14)
    assert ctx["amount"]["display"] == "$1,044.00"
    assert ctx["reconciliation_date"]["iso"] == "2026-04-01"
    assert ctx["invoice_date"]["iso"] == "2026-04-08"
    assert ctx["quarter_period"]["start"]["iso"] == "2026-01-01"
    assert ctx["quarter_period"]["end"]["iso"] == "2026-04-01"


def test_qsr_reconciled_and_failed_state_seats_and_amounts() -> None:
    """After the reconciliation 14 seats are paid for; its failed payment names the card."""
    story = direct_story()
    reconciled = story.email(NoticeKind.QSR_RECONCILED).context
    assert (reconciled["seats"], reconciled["overage"]) == (14, 4)
    assert reconciled["invoice_total"]["display"] == "$1,044.00"
    failed = story.email(NoticeKind.QSR_FAILED)
    assert failed.context["amount"]["display"] == "$1,044.00"
    assert failed.context["card"] == {"brand": "visa", "last4": "4242"}
    assert failed.recipients == DIRECT_RECIPIENTS
    assert failed.context["invoice_number"] == story.numbers[story.invoices[1]]
    assert not NoticeKind(failed.kind).is_reminder


def test_auto_renewal_upcoming_then_confirmed_then_failed_then_expired() -> None:
    """19 Ultimate seats × $1,188.00 = $22,572.00 on 2027-01-01; 14 days of grace; expiry."""
    story = direct_story()
    upcoming = story.email(NoticeKind.AUTO_RENEWAL_UPCOMING)
    assert NoticeKind(upcoming.kind).is_reminder
    assert upcoming.context["renewal_date"]["iso"] == "2027-01-01"
    assert upcoming.context["seats"] == 19
    assert upcoming.context["amount"]["display"] == "$22,572.00"
    assert upcoming.context["true_up"] is None
    assert upcoming.context["card"]["last4"] == "4242"
    assert upcoming.context["new_term"]["end"]["iso"] == "2028-01-01"

    renewed = story.email(NoticeKind.RENEWAL_CONFIRMATION).context
    assert renewed["automatic"] is True
    assert renewed["invoice_total"]["display"] == "$22,572.00"
    assert renewed["seats_amount"]["display"] == "$22,572.00"
    assert renewed["true_up"] is None
    assert renewed["term"]["start"]["iso"] == "2027-01-01"

    failed = story.email(NoticeKind.AUTO_RENEWAL_FAILED).context
    assert failed["grace_ends"]["iso"] == "2027-01-16"  # 14 days after the failure on 01-02
    assert failed["amount"]["display"] == "$22,572.00"

    expired = story.email(NoticeKind.SUBSCRIPTION_EXPIRED).context
    assert expired["expired_on"]["iso"] == "2027-01-16"
    assert expired["tier"] == "Ultimate"


def test_managing_users_lists_the_reconciliation_dates() -> None:
    """Sent the day after purchase and after renewal, with the reconciliation dates of the term."""
    story = direct_story()
    sent = [
        email_for(state, n, BRAND, story.numbers).context
        for state, n in story.sent
        if n.kind is NoticeKind.MANAGING_USERS
    ]
    assert [[d["iso"] for d in ctx["reconciliation_dates"]] for ctx in sent] == [
        ["2026-04-01", "2026-07-01", "2026-10-01"],
        ["2027-04-01", "2027-07-01", "2027-10-01"],
    ]
    assert [ctx["seats"] for ctx in sent] == [10, 19]
    assert [ctx["tier"] for ctx in sent] == ["Premium", "Ultimate"]


def test_manual_renewal_shows_the_true_up_line() -> None:
    """Not QSR-eligible, 13 users on 10 seats: renewal 13 × $348 plus true-up 3 × $348."""
    story = start(qsr_enabled=False).usage("2026-06-01", 13)
    story.event(
        Renew(
            subscription_id="S-1",
            key="evt-renew",
            at=at("2026-12-01"),
            term_start=date(2027, 1, 1),
            term_end=date(2028, 1, 1),
            seats=13,
        )
    )
    ctx = story.email(NoticeKind.RENEWAL_CONFIRMATION).context
    assert ctx["automatic"] is False
    assert ctx["seats"] == 13
    assert ctx["seats_amount"]["display"] == "$4,524.00"
    assert ctx["true_up"] == {
        "users": 3,
        "amount": {"display": "$1,044.00", "amount": "1044.00", "currency": "USD"},
    }
    assert ctx["invoice_total"]["display"] == "$5,568.00"


def test_auto_renewal_upcoming_splits_a_true_up() -> None:
    """Auto-renewal of a subscription without QSR: seats line and true-up line add up."""
    story = start(qsr_enabled=False).usage("2026-06-01", 13).until("2026-12-18")
    ctx = story.email(NoticeKind.AUTO_RENEWAL_UPCOMING).context
    assert ctx["seats"] == 13
    assert ctx["seats_amount"]["display"] == "$4,524.00"
    assert ctx["true_up"]["users"] == 3
    assert ctx["true_up"]["amount"]["display"] == "$1,044.00"
    assert ctx["amount"]["display"] == "$5,568.00"


def test_partner_reminders_and_blocked_renewal_name_the_partner() -> None:
    """Partner subscriptions are reminded to renew and told the partner renews them."""
    story = partner_story()
    reminder = story.email(NoticeKind.RENEWAL_REMINDER)
    assert NoticeKind(reminder.kind).is_reminder
    assert reminder.recipients == PARTNER_RECIPIENTS
    assert reminder.context["expires_on"] == {
        "long": "January 1, 2027",
        "medium": "Jan 1, 2027",
        "iso": "2027-01-01",
    }
    assert reminder.context["partner"]["name"] == "Reseller GmbH"
    blocked = story.email(NoticeKind.AUTO_RENEWAL_BLOCKED).context
    assert [r["code"] for r in blocked["reasons"]] == ["partner_channel"]
    assert blocked["reasons"][0]["link"] is None


def test_expiring_card_is_named_by_its_last_digits_and_expiry() -> None:
    """A card valid through November 2026 does not cover the renewal on 2027-01-01."""
    story = expiring_card_story()
    spec = story.email(NoticeKind.PAYMENT_METHOD_EXPIRING)
    assert NoticeKind(spec.kind).is_reminder
    assert spec.context["card"] == {
        "brand": "mastercard",
        "last4": "1111",
        "expiry": "11/2026",
        "expiry_month": "November 2026",
        "valid_through": {
            "long": "November 30, 2026",
            "medium": "Nov 30, 2026",
            "iso": "2026-11-30",
        },
    }
    assert spec.context["renewal_date"]["iso"] == "2027-01-01"
    blocked = story.email(NoticeKind.AUTO_RENEWAL_BLOCKED).context
    assert blocked["reasons"][0]["code"] == "card_expires_before_renewal"
    assert blocked["reasons"][0]["link"] == "payment_methods"


def test_cancellation_states_the_end_date() -> None:
    """A cancelled subscription runs to its term end."""
    story = start().event(
        Cancel(subscription_id="S-1", key="c", at=at("2026-03-01"), reason="budget")
    )
    ctx = story.email(NoticeKind.CANCELLATION_CONFIRMATION).context
    assert ctx["ends_on"]["long"] == "January 1, 2027"
    assert ctx["reason"] == "budget"


# ------------------------------------------------------------------ currencies and locales


def test_euros_for_a_german_self_managed_customer() -> None:
    """QSR in quarter 2: 3 × 1.000,00 € × 2/4 = 1.500,00 €, noticed 6 days after 2026-07-01."""
    customer = Customer(id="C-2", name="Muster AG", email="rechnung@muster.test", locale="de")
    story = start(
        customer=customer,
        deployment=Deployment.SELF_MANAGED,
        namespace_id=None,
        instance_id="inst-2",
        seats=5,
        currency="EUR",
        unit_price=Money.of("1000.00", "EUR"),
    )
    confirmation = story.email(NoticeKind.SUBSCRIPTION_CONFIRMATION).context
    assert confirmation["invoice_total"]["display"] == f"5.000,00{NBSP}€"
    assert confirmation["term"]["start"]["long"] == "1. Januar 2026"
    assert confirmation["locale"] == "de"
    story.usage("2026-05-10", 8).until("2026-07-15")
    ctx = story.email(NoticeKind.QSR_NOTICE).context
    assert (ctx["quarter"], ctx["overage"]) == (2, 3)
    assert ctx["amount"]["display"] == f"1.500,00{NBSP}€"
    assert ctx["reconciliation_date"]["iso"] == "2026-07-01"
    assert ctx["invoice_date"] == {
        "long": "14. Juli 2026",
        "medium": "14.07.2026",
        "iso": "2026-07-14",
    }
    assert story.email(NoticeKind.QSR_NOTICE).recipients == ("rechnung@muster.test",)


def test_dollars_for_a_german_customer_follow_the_locale() -> None:
    """The locale sets the format, the subscription the currency: 1.234,56 $."""
    customer = Customer(id="C-3", name="Muster AG", email="a@muster.test", locale="de-DE")
    story = start(customer=customer, seats=1, unit_price=Money.of("1234.56", "USD"))
    ctx = story.email(NoticeKind.SUBSCRIPTION_CONFIRMATION).context
    assert ctx["invoice_total"]["display"] == f"1.234,56{NBSP}$"
    assert ctx["locale"] == "de_DE"


def test_yen_have_no_decimals() -> None:
    """3 seats × ¥50,000 = ¥150,000; seats added prorated and rounded to whole yen."""
    story = start(seats=3, currency="JPY", unit_price=Money.of("50000", "JPY"))
    ctx = story.email(NoticeKind.SUBSCRIPTION_CONFIRMATION).context
    assert ctx["invoice_total"] == {"display": "¥150,000", "amount": "150000", "currency": "JPY"}
    story.event(
        AddSeats(
            subscription_id="S-1",
            key="evt-seats",
            at=at("2026-07-01"),
            seats=1,
            effective_date=date(2026, 7, 1),
        )
    )
    # 1 × 50000 × 184 / 365 = 25205.47… → ¥25,205
    assert story.email(NoticeKind.SEATS_ADDED).context["amount"]["display"] == "¥25,205"


@pytest.mark.parametrize("locale", ["xx", "", "not a locale", "zz_ZZ", "en-"])
def test_an_unknown_locale_falls_back_to_english(locale: str) -> None:
    """A locale Babel does not know never stops an email: it is written in English."""
    customer = Customer(id="C-4", name="Acme Corp", email="a@acme.test", locale=locale)
    ctx = start(customer=customer).email(NoticeKind.SUBSCRIPTION_CONFIRMATION).context
    assert ctx["invoice_total"]["display"] == "$3,480.00"
    assert ctx["locale"] == "en"
    assert str(resolve_locale(locale)) == "en"


@pytest.mark.parametrize(
    ("locale", "language", "formats"),
    [
        ("de-AT", "de", "de_AT"),
        ("de_XX_YY", "de", "de"),
        ("pt-BR", "pt_BR", "pt_BR"),
        ("pt_br", "pt_BR", "pt_BR"),
        ("pt", "pt_BR", "pt"),
        ("fr-CA", "fr", "fr_CA"),
        ("ja-JP", "ja", "ja_JP"),
        ("es-MX", "es", "es_MX"),
        ("nl", "en", "nl"),
    ],
)
def test_a_region_falls_back_to_its_language(locale: str, language: str, formats: str) -> None:
    """CONTRACT §4: the copy of ``de-AT`` is German, of any Portuguese locale Brazilian, of a
    language without copy English; amounts and dates keep the locale's own formats."""
    customer = Customer(id="C-4", name="Acme Corp", email="a@acme.test", locale=locale)
    ctx = start(customer=customer).email(NoticeKind.SUBSCRIPTION_CONFIRMATION).context
    assert (ctx["language"], ctx["locale"]) == (language, formats)


def test_an_invoice_email_without_its_number_is_refused_clearly() -> None:
    """An email about an invoice the service has not numbered raises, naming the invoice."""
    story = start()
    state, notice = story.last(NoticeKind.SUBSCRIPTION_CONFIRMATION)
    with pytest.raises(LookupError, match="S-1:purchase:2026-01-01"):
        email_for(state, notice, BRAND, {})


def test_handlers_are_pure() -> None:
    """Handlers import billingcore, Babel, the standard library and each other, nothing else."""
    for path in (TEMPLATES.parent / "handlers").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                allowed = (
                    top in sys.stdlib_module_names
                    or top in {"billingcore", "babel"}
                    or module == "notify.handlers"
                    or module.startswith("notify.handlers.")
                )
                assert allowed, f"{path.name} imports {module}"


def test_a_reminder_states_what_renewing_would_cost() -> None:
    """Not reconciled quarterly, 13 users on 10 seats: renewing costs 13 × $348.00 = $4,524.00
    plus the true-up of 3 × $348.00, $5,568.00 in all."""
    story = start(auto_renew=False, qsr_enabled=False).usage("2026-06-01", 13)
    ctx = story.until("2026-10-04").email(NoticeKind.RENEWAL_REMINDER).context
    assert ctx["renewal"]["seats"] == 13
    assert ctx["renewal"]["seats_amount"]["display"] == "$4,524.00"
    assert ctx["renewal"]["true_up"] == {
        "users": 3,
        "amount": {"display": "$1,044.00", "amount": "1044.00", "currency": "USD"},
    }
    assert ctx["renewal"]["total"]["display"] == "$5,568.00"
    assert ctx["credit"] is False


def test_the_partner_reads_its_own_copy_in_its_own_row() -> None:
    """The partner's address gets the copy addressed to the partner; every other recipient the
    customer's; one outbox row each, with the idempotency key and Message-ID of before."""
    from notify.mail.enqueue import Enqueuer, idempotency_key, message_id

    story = partner_story()
    state, notice = story.last(NoticeKind.RENEWAL_REMINDER)
    spec = email_for(state, notice, BRAND, story.numbers)
    assert spec.partner_recipient == "orders@reseller.test"
    audiences = {recipient: context["audience"] for recipient, context in spec.letters()}
    assert audiences == {
        "billing@acme.test": "customer",
        "ops@acme.test": "customer",
        "cfo@acme.test": "customer",
        "orders@reseller.test": "partner",
    }
    assert spec.partner_context == {**spec.context, "audience": "partner"}
    rows = Enqueuer(BRAND, "GitLab <billing@gitlab.test>").rows(
        state, notice, story.numbers, at("2026-10-04")
    )
    assert [row["recipient"] for row in rows] == list(PARTNER_RECIPIENTS)
    for row in rows:
        key = idempotency_key(notice.key, row["recipient"])
        assert row["idempotency_key"] == key == f"{notice.key}:{row['recipient']}"
        assert row["message_id"] == message_id(key, "gitlab.test")
        assert json.loads(row["context"])["audience"] == audiences[row["recipient"]]


def test_a_direct_subscription_has_no_partner_copy() -> None:
    """Without a partner, every recipient reads the customer's copy."""
    spec = start().email(NoticeKind.SUBSCRIPTION_CONFIRMATION)
    assert spec.partner_recipient is None and spec.partner_context is None
    assert {context["audience"] for _, context in spec.letters()} == {"customer"}

"""Notice kinds and keys, typed notices, and the causes every outcome carries."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from billingcore.causes import Cause
from billingcore.commands import AddSeats, cause_of
from billingcore.notices import (
    NOTICE_TYPES,
    REMINDER_KINDS,
    InvoiceNotice,
    Notice,
    NoticeKind,
    SeatsAdded,
    notice_key,
)
from billingcore.occasion import OccasionKind, make_occasion
from billingcore.outcomes import Rejected, reject

from .factories import at, d, usd


def test_there_are_sixteen_kinds_and_three_reminders() -> None:
    """CONTRACT §4 lists 16 kinds; renewal_reminder, auto_renewal_upcoming and
    payment_method_expiring are the reminders."""
    assert len(NoticeKind) == 16
    reminders = {
        NoticeKind.RENEWAL_REMINDER,
        NoticeKind.AUTO_RENEWAL_UPCOMING,
        NoticeKind.PAYMENT_METHOD_EXPIRING,
    }
    assert {k for k in NoticeKind if k.is_reminder} == reminders
    assert reminders == REMINDER_KINDS


def test_every_kind_has_one_notice_type() -> None:
    """Each kind maps to its own Notice class, which names that kind and says if it reminds."""
    assert set(NOTICE_TYPES) == set(NoticeKind)
    assert len(set(NOTICE_TYPES.values())) == 16
    for kind, cls in NOTICE_TYPES.items():
        assert issubclass(cls, Notice)
        assert cls.kind is kind
        assert cls.reminder is kind.is_reminder


def test_invoice_notices_name_their_invoice() -> None:
    """The notices about one invoice carry its key and total; the others do not."""
    about_invoices = {k for k, cls in NOTICE_TYPES.items() if issubclass(cls, InvoiceNotice)}
    assert about_invoices == {
        NoticeKind.SUBSCRIPTION_CONFIRMATION,
        NoticeKind.SEATS_ADDED,
        NoticeKind.UPGRADE_CONFIRMATION,
        NoticeKind.RENEWAL_CONFIRMATION,
        NoticeKind.AUTO_RENEWAL_FAILED,
        NoticeKind.QSR_RECONCILED,
        NoticeKind.QSR_FAILED,
        NoticeKind.PAYMENT_RECEIPT,
    }


def test_notice_key_and_read_only_facts() -> None:
    """Key "{subscription}:{kind}:{occasion}"; a notice's facts cannot be changed."""
    due = SeatsAdded(
        key=notice_key("S-1", NoticeKind.SEATS_ADDED, "evt-1"),
        cause=Cause.event("evt-1"),
        seats_added=5,
        new_seats=15,
        effective_date=d("2026-06-15"),
        remaining_days=200,
        unit_price=usd("348.00"),
        invoice_key="S-1:seats_added:evt-1",
        invoice_total=usd("953.42"),
    )
    assert due.key == "S-1:seats_added:evt-1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        due.seats_added = 6  # type: ignore[misc]


def test_causes_in_the_contract_form() -> None:
    """``{"event_id": …}`` for an event; ``{"occasion": …, "date": …}`` for what fell due."""
    assert Cause.event("evt-1").to_view() == {"event_id": "evt-1"}
    fell_due = Cause.fell_due(OccasionKind.QSR_NOTICE, date(2026, 4, 1))
    assert fell_due.to_view() == {"occasion": "qsr_notice", "date": "2026-04-01"}
    assert fell_due == Cause(occasion=OccasionKind.QSR_NOTICE, date=date(2026, 4, 1))


@pytest.mark.parametrize(
    "fields",
    [
        {},  # nothing
        {"event_id": "e", "occasion": OccasionKind.TERM_END, "date": date(2027, 1, 1)},  # both
        {"occasion": OccasionKind.TERM_END},  # an occasion without its date
        {"date": date(2027, 1, 1)},  # a date without its occasion
        {"event_id": "e", "date": date(2027, 1, 1)},  # an event with a stray date
        {"event_id": "e", "occasion": OccasionKind.TERM_END},  # an event with a stray kind
    ],
)
def test_a_cause_is_exactly_one_of_event_or_occasion(fields: dict[str, object]) -> None:
    """Anything but an event id alone, or an occasion kind with its date, is refused."""
    with pytest.raises(ValueError, match="a cause is an event id"):
        Cause(**fields)  # type: ignore[arg-type]


def test_cause_of_a_command() -> None:
    """An event's outcomes carry its key; an occasion's its kind and date."""
    cmd = AddSeats(
        subscription_id="S-1",
        key="evt-7",
        at=at("2026-06-15"),
        seats=1,
        effective_date=d("2026-06-15"),
    )
    assert cause_of(cmd) == Cause.event("evt-7")
    occasion = make_occasion("S-1", OccasionKind.TERM_END, d("2027-01-01"))
    assert cause_of(occasion) == Cause.fell_due(OccasionKind.TERM_END, d("2027-01-01"))


def test_reject_builds_a_refusal() -> None:
    """A refusal has its stable code and its readable reason."""
    assert reject("not_active", "the subscription is expired") == Rejected(
        reason="the subscription is expired", code="not_active"
    )

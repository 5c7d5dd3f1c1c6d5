"""advance(): a subscription carried through its commands and what falls due (CONTRACT §2, §3).

The examples pin the walk down (time order, occasions before the event that follows them,
holding commands until the subscription exists, the cursor, the guards); the properties run
generated histories of one subscription and check what the contract promises of any of them:
the order of delivery, the batching of deliveries and repeated deliveries change nothing, every
outcome carries its cause, and every invoice line's explanation reproduces its amount.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import billingcore.due as due
import billingcore.timeline as timeline
from billingcore import account
from billingcore.catalog import Tier
from billingcore.causes import Cause
from billingcore.commands import (
    EVENT_COMMANDS,
    AddSeats,
    Cancel,
    ChangeAutoRenew,
    CreateSubscription,
    EventCommand,
    RecordPaymentFailed,
    RecordPaymentSucceeded,
    Renew,
    ReportUsage,
    UpdatePaymentMethod,
    Upgrade,
)
from billingcore.dates import Term, add_months, midnight
from billingcore.due import next_due, occasions
from billingcore.explanations import Rule, money_text
from billingcore.invoices import InvoiceLine
from billingcore.money import Money
from billingcore.notices import (
    Notice,
    QsrNotice,
    RenewalReminder,
    SeatsAdded,
)
from billingcore.occasion import OccasionKind
from billingcore.outcomes import Applied, InvoiceIssued, Rejected
from billingcore.proration import seats_added_line, upgrade_lines
from billingcore.purchase import purchase_line
from billingcore.qsr import qsr_line
from billingcore.qsr import quarter as qsr_quarter
from billingcore.renewal import renewal_line
from billingcore.rules import Family
from billingcore.state import (
    Card,
    Channel,
    Customer,
    Deployment,
    Partner,
    Status,
    Subscription,
    UsageReport,
)
from billingcore.timeline import TICK, Advanced, advance
from billingcore.trueup import true_up_line
from billingcore.usage import with_usage

from .factories import CUSTOMER, SUB, at, create, d, invoices, notices, subscription, usage

# -- examples ------------------------------------------------------------------------------------


def add_seats(when: str, seats: int = 4, key: str = "evt-add") -> AddSeats:
    moment = at(when)
    return AddSeats(
        subscription_id=SUB, key=key, at=moment, seats=seats, effective_date=moment.date()
    )


def auto_renew_off(when: str, key: str = "evt-off") -> ChangeAutoRenew:
    return ChangeAutoRenew(subscription_id=SUB, key=key, at=at(when), auto_renew=False)


def test_advance_creates_and_runs_to_now() -> None:
    """Creation, the occasions due by ``now`` and the later events, each a step, in time order."""
    result = advance(
        None,
        [add_seats("2026-06-15T10:00", seats=5), create()],
        through=None,
        now=at("2026-06-15T12:00"),
    )
    assert result.state is not None and result.state.seats_paid_for == 15
    assert [step.key for step in result.steps] == [
        "evt-create",
        "S-1:managing_users:2026-01-02",
        "evt-add",
    ]
    assert [type(outcome).__name__ for outcome in result.outcomes] == [
        "InvoiceIssued",
        "SubscriptionConfirmation",
        "ManagingUsers",
        "InvoiceIssued",
        "SeatsAdded",
    ]
    assert result.steps[-1].state == result.state
    assert (result.rejected, result.held) == ({}, ())
    assert result.through == at("2026-06-15T12:00") + TICK
    assert result.next_due == at("2026-12-17")  # the 15-day auto-renewal notice


def test_what_fell_due_before_an_event_is_applied_first() -> None:
    """Seats bought at 10:00 on the reconciliation date come after its 00:00 notice; bought at
    00:00 itself, they come first and leave no overage to notify."""
    state = usage(subscription(), "2026-03-01", 14)
    cursor = at("2026-03-02")
    later = advance(state, [add_seats("2026-04-01T10:00")], through=cursor, now=at("2026-04-02"))
    assert [step.key for step in later.steps] == ["S-1:qsr_notice:2026-04-01", "evt-add"]
    (notice, added) = notices(later.outcomes)
    assert isinstance(notice, QsrNotice) and notice.overage == 4
    assert isinstance(added, SeatsAdded)
    tied = advance(state, [add_seats("2026-04-01T00:00")], through=cursor, now=at("2026-04-02"))
    assert [step.key for step in tied.steps] == ["evt-add"]
    assert tied.state is not None and tied.state.pending_qsr is None


def test_commands_before_creation_are_held() -> None:
    """Without its subscription.created a command is held; with it, applied after creation
    though it happened earlier."""
    early = auto_renew_off("2025-12-31T23:00")
    waiting = advance(None, [early], through=None, now=at("2026-01-01"))
    assert waiting.state is None
    assert (waiting.held, waiting.steps, waiting.rejected) == (("evt-off",), (), {})
    assert (waiting.through, waiting.next_due) == (None, None)
    both = advance(
        None, [early, create(at=at("2026-01-01T08:00"))], through=None, now=at("2026-01-01T09:00")
    )
    assert both.held == ()
    assert [step.key for step in both.steps] == ["evt-create", "evt-off"]
    assert both.state is not None and both.state.auto_renew is False
    assert both.through == at("2026-01-01T09:00") + TICK


def test_a_refused_creation_keeps_the_rest_held() -> None:
    """A refused subscription.created is reported; what waited for it keeps waiting."""
    result = advance(
        None, [create(seats=0), auto_renew_off("2026-01-02")], through=None, now=at("2026-01-03")
    )
    assert result.state is None
    assert result.rejected["evt-create"].code == "invalid_seats"
    assert result.held == ("evt-off",)
    assert result.steps == ()


def test_refused_and_repeated_commands_make_no_step() -> None:
    """A refusal is reported by its key; a key already applied is neither a step nor refused."""
    state = subscription()
    refused = add_seats("2026-01-01T06:00", seats=0, key="evt-zero")
    repeated = create()  # evt-create, applied when the state was created
    result = advance(
        state, [refused, repeated], through=at("2026-01-01"), now=at("2026-01-01T12:00")
    )
    assert result.rejected == {
        "evt-zero": Rejected(reason="seats added must be at least 1, got 0", code="invalid_seats")
    }
    assert result.steps == ()
    assert result.state == state


def test_a_command_from_before_the_cursor_is_applied_as_the_state_stands() -> None:
    """An event older than the cursor is applied without running again what fell due since."""
    state = subscription()
    first = advance(state, [], through=at("2026-01-01"), now=at("2026-06-01"))
    assert [step.key for step in first.steps] == ["S-1:managing_users:2026-01-02"]
    assert first.state is not None
    late = ReportUsage(
        subscription_id=SUB,
        key="evt-late",
        at=at("2026-03-01"),
        observed_at=at("2026-03-01"),
        billable_users=14,
    )
    second = advance(first.state, [late], through=first.through, now=at("2026-06-01T00:01"))
    # The 2026-04-01 reconciliation is past: the late report does not bring its notice back.
    assert [step.key for step in second.steps] == ["evt-late"]
    assert second.state is not None and second.state.pending_qsr is None


def test_occasions_due_at_now_are_included() -> None:
    """What falls due at ``now`` itself is applied; a microsecond earlier it is not yet."""
    state = subscription()
    on_time = advance(state, [], through=at("2026-01-01"), now=at("2026-01-02"))
    assert [step.key for step in on_time.steps] == ["S-1:managing_users:2026-01-02"]
    assert on_time.next_due == at("2026-12-17")
    before = advance(state, [], through=at("2026-01-01"), now=at("2026-01-02") - TICK)
    assert before.steps == ()
    assert before.through == at("2026-01-02")
    assert before.next_due == at("2026-01-02")


def test_now_decides_which_reminder_of_a_series_is_sent() -> None:
    """Caught up on 2026-11-20, of the 90- and 45-day reminders only the 45-day one is sent."""
    state = subscription(auto_renew=False)
    result = advance(state, [], through=at("2026-10-01"), now=at("2026-11-20"))
    assert [step.key for step in result.steps] == [
        "S-1:renewal_reminder:2026-10-03",
        "S-1:renewal_reminder:2026-11-17",
    ]
    (reminder,) = notices(result.outcomes)
    assert isinstance(reminder, RenewalReminder) and reminder.days_before == 45


def test_an_expired_subscription_has_nothing_due() -> None:
    """After the term end expires it, nothing is due; next_due says so."""
    result = advance(
        subscription(auto_renew=False), [], through=at("2026-12-20"), now=at("2027-03-01")
    )
    assert result.state is not None and result.state.status is Status.EXPIRED
    assert result.next_due is None
    assert next_due(result.state, at("2027-01-01")) is None


def test_customer_commands_through_advance() -> None:
    """The card of the subscription's customer is replaced; another customer's is refused."""
    card = Card(brand="visa", last4="1111", exp_month=1, exp_year=2031)
    mine = UpdatePaymentMethod(customer_id=CUSTOMER, key="evt-card", at=at("2026-02-01"), card=card)
    theirs = replace(mine, customer_id="C-2", key="evt-other")
    result = advance(subscription(), [theirs, mine], through=at("2026-01-03"), now=at("2026-02-02"))
    assert result.state is not None and result.state.card == card
    assert result.rejected["evt-other"].code == "wrong_customer"
    assert UpdatePaymentMethod in EVENT_COMMANDS and CreateSubscription in EVENT_COMMANDS


def test_advance_needs_utc() -> None:
    """A naive ``now`` is refused."""
    with pytest.raises(ValueError, match="now"):
        advance(None, [], through=None, now=datetime(2026, 1, 1))


def test_occasions_that_keep_falling_due_stop_the_run() -> None:
    """More occasions in a row than ``max_occasions`` is a bug in a rule: RuntimeError."""
    state = subscription(auto_renew=False)  # onboarding, three reminders, the term end: 5
    with pytest.raises(RuntimeError, match="S-1: occasions keep falling due"):
        advance(state, [], through=at("2026-01-01"), now=at("2027-01-01"), max_occasions=3)
    # With room to spare the same run goes through, each occasion once.
    result = advance(state, [], through=at("2026-01-01"), now=at("2027-01-01"), max_occasions=10)
    assert len(result.steps) == 5


def test_exactly_max_occasions_in_a_row_is_not_an_error() -> None:
    """CORE BUG (off by one): "more than ``max_occasions``" raises, so exactly that many
    occasions in a row must go through; today the last one allowed already raises."""
    state = subscription()
    (only_one,) = occasions(state, at("2026-01-01"), at("2026-01-03"))
    result = advance(state, [], through=at("2026-01-01"), now=at("2026-01-02"), max_occasions=1)
    assert [step.key for step in result.steps] == [only_one.key]


def test_a_renewal_replacing_the_term_keeps_what_was_applied_in_it() -> None:
    """CORE BUG: a manual renewal that replaces the current term (same start, as after a failed
    auto-renewal) forgets the keys applied in that term, so a seats_added delivered again is
    billed twice, under the same invoice key; a key applied in the current term must change
    nothing however often it is delivered."""
    added = add_seats("2026-02-01")
    renewed = Renew(
        subscription_id=SUB,
        key="evt-renew",
        at=at("2026-03-01"),
        term_start=d("2026-01-01"),
        term_end=d("2027-01-01"),
        seats=14,
    )
    first = advance(subscription(), [added], through=at("2026-01-03"), now=at("2026-02-02"))
    assert first.state is not None and first.state.seats_paid_for == 14
    second = advance(first.state, [renewed], through=first.through, now=at("2026-03-02"))
    assert second.state is not None and second.state.term == first.state.term  # the same term
    again = advance(second.state, [added], through=second.through, now=at("2026-03-03"))
    assert invoices(again.outcomes) == []
    assert again.state == second.state


@pytest.mark.parametrize(
    "family",
    [
        Family(name="account", commands={CreateSubscription: account.cancel}),
        Family(name="account", occasions={OccasionKind.TERM_END: lambda s, o, n: Applied(state=s)}),
    ],
)
def test_a_family_may_not_redefine_another_familys_rule(family: Family) -> None:
    """Two families claiming one command or one occasion stop the timeline from loading."""
    assert due.gather(due.FAMILIES) == (due.COMMAND_RULES, due.OCCASION_RULES)
    with pytest.raises(RuntimeError, match="the account family redefines rules"):
        due.gather((*due.FAMILIES, family))


# -- generated histories -------------------------------------------------------------------------

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Month ends and Feb 29 of leap years: the clamping cases of every date rule.
SPECIAL_STARTS = (
    date(2026, 1, 31),
    date(2026, 3, 31),
    date(2026, 8, 31),
    date(2026, 11, 30),
    date(2027, 2, 28),
    date(2028, 1, 31),
    date(2028, 2, 29),
    date(2032, 2, 29),
)
# 1.83 USD and 183 JPY put prorated amounts of 366- and 182-day terms exactly on a half minor
# unit (183 × seats × days / 366), 0.05, 333 and 1.001 do so for QSR quarters: half up is tested.
PRICES = {
    "USD": ("348.00", "1188.00", "299.99", "0.05", "1.83"),
    "EUR": ("87.50", "1000.01"),
    "CHF": ("1000.00", "333.33"),
    "JPY": ("40000", "333", "183"),
    "KWD": ("105.125", "1.001"),
}
MINOR_UNITS = {"USD": 2, "EUR": 2, "CHF": 2, "JPY": 0, "KWD": 3}
UPGRADE_PRICES = {
    "USD": ("1188.00", "1000.00", "400.01", "3.66"),
    "EUR": ("300.00", "2000.50"),
    "CHF": ("1500.00",),
    "JPY": ("90000", "1000", "549"),
    "KWD": ("350.250", "2.002"),
}
PARTNER = Partner(name="Reseller", email="r@p.test")
CUSTOMER_OF = Customer(id=CUSTOMER, name="Acme", email="billing@acme.test")
CARD_DIGITS = ("4242", "1111", "0005")
# How often each kind of event is drawn; a cancellation or a card about to expire ends most
# histories before their renewal, so those are rarer.
KINDS = (
    *("seats",) * 2,
    *("upgrade",) * 2,
    *("usage",) * 6,
    "cancel",
    *("auto_renew",) * 2,
    *("card",) * 2,
    *("renew",) * 2,
    *("pay",) * 3,
    *("fail",) * 3,
)


@dataclass(frozen=True, slots=True)
class History:
    """One subscription's events in the order generated, and the moment they are run to."""

    commands: tuple[EventCommand, ...]
    now: datetime

    @property
    def event_keys(self) -> frozenset[str]:
        return frozenset(c.key for c in self.commands)


def ordered(commands: Sequence[EventCommand]) -> list[EventCommand]:
    return sorted(commands, key=lambda c: (c.at, c.key))


@st.composite
def moments(draw: st.DrawFn, start: datetime, days: int) -> datetime:
    """A moment in ``days`` days from ``start``: often a midnight, where occasions fall due."""
    day = draw(st.integers(0, days - 1))
    seconds = draw(st.one_of(st.just(0), st.integers(1, 86_399)))
    return start + timedelta(days=day, seconds=seconds)


@st.composite
def cards(draw: st.DrawFn, year: int) -> Card:
    return Card(
        brand="visa",
        last4=draw(st.sampled_from(CARD_DIGITS)),
        exp_month=draw(st.integers(1, 12)),
        exp_year=draw(st.sampled_from((year, year + 1, year + 2, year + 2, year + 3))),
    )


@st.composite
def histories(draw: st.DrawFn) -> History:
    """Purchase, seats, upgrades, usage in any quarter, cancellations, auto-renew changes, card
    changes, renewals and payments of one subscription, over its term and the weeks after."""
    start = draw(
        st.one_of(st.sampled_from(SPECIAL_STARTS), st.dates(date(2025, 1, 1), date(2030, 12, 31)))
    )
    months = draw(st.sampled_from((12, 12, 12, 12, 12, 6, 13)))
    term = Term(start=start, end=add_months(start, months))
    currency = draw(st.sampled_from(("USD", "USD", "EUR", "CHF", "JPY", "KWD")))
    price = Money.of(draw(st.sampled_from(PRICES[currency])), currency)
    deployment = draw(st.sampled_from(list(Deployment)))
    channel = Channel.PARTNER if draw(st.integers(0, 7)) == 0 else Channel.DIRECT
    begins = midnight(start)
    create_at = begins + timedelta(seconds=draw(st.one_of(st.just(0), st.integers(0, 20 * 86_400))))
    created = CreateSubscription(
        subscription_id=SUB,
        key="evt-create",
        at=create_at,
        customer=CUSTOMER_OF,
        deployment=deployment,
        namespace_id="ns-1" if deployment is Deployment.SAAS else None,
        instance_id="i-1" if deployment is Deployment.SELF_MANAGED else None,
        tier=draw(st.sampled_from((Tier.PREMIUM, Tier.PREMIUM, Tier.ULTIMATE))),
        seats=draw(st.integers(1, 20)),
        unit_price=None if currency == "USD" and draw(st.booleans()) else price,
        currency=currency,
        term=term,
        auto_renew=draw(st.integers(0, 2)) > 0,
        qsr_enabled=draw(st.integers(0, 2)) > 0,
        channel=channel,
        partner=PARTNER if channel is Channel.PARTNER else None,
        purchase_order=draw(st.integers(0, 9)) == 0,
        cloud_licensing=draw(st.integers(0, 5)) > 0,
        card=draw(st.none() | cards(start.year)),
    )
    days = term.days + 45
    earliest = begins - timedelta(days=2)  # a little before the term: held, or refused
    recon = [add_months(start, 3 * k) for k in (1, 2, 3)]
    invoice_keys: list[str | None] = [  # [2] is the automatic renewal's
        None,
        f"{SUB}:purchase:{start.isoformat()}",
        f"{SUB}:renewal:{term.end.isoformat()}",
        *(f"{SUB}:qsr:{on.isoformat()}" for on in recon),
    ]
    commands: list[EventCommand] = [created]
    times: list[datetime] = [create_at]
    for i in range(draw(st.integers(0, 10))):
        key = f"evt-{i}"
        kind = draw(st.sampled_from(KINDS))
        # Payments mostly name an invoice that exists by then: the renewal just after the term
        # end, a QSR invoice after its invoice date, or any other invoice of the history.
        paying = kind in ("pay", "fail")
        target = draw(st.sampled_from(("renewal", "renewal", "qsr", "any"))) if paying else ""
        invoice_key: str | None = None
        if kind == "renew":
            # A renewal comes after its subscription's creation. Held before it, a renewal that
            # replaces the term could fall between a creation and its repeat, which the
            # replacement then no longer knows: see
            # test_a_renewal_replacing_the_term_keeps_what_was_applied_in_it.
            t = max(draw(moments(earliest, days + 2)), create_at + timedelta(seconds=1))
        elif target == "renewal":
            invoice_key = invoice_keys[2]
            t = draw(moments(midnight(term.end), 30))
        elif target == "qsr":
            on = draw(st.sampled_from(recon))
            invoice_key = f"{SUB}:qsr:{on.isoformat()}"
            t = draw(moments(midnight(on) + timedelta(days=13), 20))
        elif draw(st.integers(0, 5)) == 0:
            invoice_key = draw(st.sampled_from(invoice_keys))
            t = draw(st.sampled_from(times))  # at the same moment as another command
        else:
            invoice_key = draw(st.sampled_from(invoice_keys))
            t = draw(moments(earliest, days + 2))
        times.append(t)
        base: dict[str, Any] = {"subscription_id": SUB, "key": key, "at": t}
        command: EventCommand
        if kind == "seats":
            command = AddSeats(**base, seats=draw(st.integers(1, 5)), effective_date=t.date())
            invoice_keys.append(f"{SUB}:seats_added:{key}")
        elif kind == "upgrade":
            given = draw(st.none() | st.sampled_from(UPGRADE_PRICES[currency]))
            command = Upgrade(
                **base,
                tier=Tier.ULTIMATE,
                effective_date=t.date(),
                unit_price=None if given is None else Decimal(given),
            )
            invoice_keys.append(f"{SUB}:upgrade:{key}")
        elif kind == "usage":
            delay = draw(st.sampled_from((0, 0, 3_600, 86_400 * 3, 86_400 * 20)))
            users = draw(st.integers(0, 45))
            extra = draw(st.none() | st.integers(0, 10))
            command = ReportUsage(
                **base,
                observed_at=t - timedelta(seconds=delay),
                billable_users=users,
                max_users=None if extra is None else users + extra,
            )
        elif kind == "cancel":
            command = Cancel(**base, reason=draw(st.none() | st.just("too expensive")))
        elif kind == "auto_renew":
            command = ChangeAutoRenew(**base, auto_renew=draw(st.booleans()))
        elif kind == "card":
            command = UpdatePaymentMethod(
                customer_id=CUSTOMER, key=key, at=t, card=draw(cards(start.year))
            )
        elif kind == "renew":
            begin = term.end if draw(st.booleans()) else t.date()
            command = Renew(
                **base,
                term_start=begin,
                term_end=add_months(begin, 12),
                seats=draw(st.integers(1, 40)),
                tier=draw(st.none() | st.just(Tier.PREMIUM)),
                unit_price=draw(st.none() | st.sampled_from(PRICES[currency]).map(Decimal)),
            )
            invoice_keys.append(f"{SUB}:renewal:{begin.isoformat()}:{key}")
        else:
            number = "INV-000009" if invoice_key is None else f"INV-{i:06d}"
            if kind == "pay":
                command = RecordPaymentSucceeded(
                    **base, invoice_number=number, invoice_key=invoice_key, amount=price
                )
            else:
                command = RecordPaymentFailed(
                    **base, invoice_number=number, invoice_key=invoice_key, reason="card_declined"
                )
        commands.append(command)
    last = max(times)
    horizon = begins + timedelta(days=days + 2)
    now = last + (max(horizon, last) - last) * draw(st.sampled_from((0, 0.25, 1)))
    return History(commands=tuple(draw(st.permutations(commands))), now=now)


def run(commands: Sequence[EventCommand], now: datetime) -> Advanced:
    return advance(None, commands, through=None, now=now)


@given(history=histories(), data=st.data())
@PROPERTY
def test_the_order_of_delivery_changes_nothing(history: History, data: st.DataObject) -> None:
    """Any permutation of the same commands gives the state, invoices and notices of the
    timestamp-sorted list."""
    sorted_run = run(ordered(history.commands), history.now)
    shuffled = run(data.draw(st.permutations(history.commands)), history.now)
    assert shuffled.state == sorted_run.state
    assert invoices(shuffled.outcomes) == invoices(sorted_run.outcomes)
    assert notices(shuffled.outcomes) == notices(sorted_run.outcomes)
    assert shuffled.rejected == sorted_run.rejected
    assert shuffled.held == sorted_run.held == ()
    assert sorted_run.state is not None


def stale_reminder(notice: Notice, now: datetime) -> bool:
    """A renewal reminder whose later sibling of the series was also due by ``now``."""
    if not isinstance(notice, RenewalReminder):
        return False
    later = [days for days in (90, 45, 30) if days < notice.days_before]
    return any(midnight(notice.expires_on - timedelta(days=days)) <= now for days in later)


@given(history=histories(), data=st.data())
@PROPERTY
def test_delivering_in_batches_changes_nothing(history: History, data: st.DataObject) -> None:
    """The sorted commands fed in consecutive batches to successive advance calls give the
    state, invoices and notices of one call with the final ``now``.

    Each call's ``now`` is at or after its batch's last command and before the next batch's
    first; ``through`` and the commands still held carry over. The one thing ``now`` decides is
    which renewal reminder of a series is still worth sending (CONTRACT §3): a batch that ends
    between two reminders sends the earlier one, which a single late call skips.
    """
    commands = ordered(history.commands)
    cuts = [i for i in range(1, len(commands)) if commands[i - 1].at < commands[i].at]
    chosen = sorted(
        data.draw(st.sets(st.sampled_from(cuts), min_size=1, max_size=4)) if cuts else ()
    )
    bounds = [0, *chosen, len(commands)]
    state: Subscription | None = None
    through: datetime | None = None
    held: list[EventCommand] = []
    outcomes: list[Any] = []
    result: Advanced | None = None
    for lo, hi in itertools.pairwise(bounds):
        batch = commands[lo:hi]
        if hi < len(commands):
            span = (commands[hi].at - batch[-1].at) // TICK
            offset = data.draw(st.one_of(st.just(0), st.just(span - 1), st.integers(0, span - 1)))
            now = batch[-1].at + offset * TICK
        else:
            now = history.now
        result = advance(state, [*held, *batch], through=through, now=now)
        outcomes.extend(result.outcomes)
        held = [c for c in [*held, *batch] if c.key in result.held]
        state, through = result.state, result.through
    assert result is not None
    single = run(commands, history.now)
    assert state == single.state
    assert (through, result.next_due, held) == (single.through, single.next_due, [])
    assert invoices(outcomes) == invoices(single.outcomes)
    batched = notices(outcomes)
    assert [n for n in batched if not stale_reminder(n, history.now)] == notices(single.outcomes)
    assert not any(stale_reminder(n, history.now) for n in notices(single.outcomes))


@given(history=histories(), data=st.data())
@PROPERTY
def test_a_command_delivered_twice_changes_nothing_the_second_time(
    history: History, data: st.DataObject
) -> None:
    """A repeat in the same batch, or a repeat in a later call within the same term, changes
    nothing: same state, same steps, nothing refused."""
    commands = list(history.commands)
    once = run(commands, history.now)
    repeats = data.draw(st.lists(st.sampled_from(commands), min_size=1, max_size=3))
    twice = run(data.draw(st.permutations([*commands, *repeats])), history.now)
    assert twice == once
    # Later: a command of the current term delivered again (across terms the inbox's webhook id
    # is what keeps an event from applying twice: docs/billing.md, Idempotence).
    assert once.state is not None
    current = [c for c in commands if c.key in once.state.applied_keys]
    assume(current)
    again = data.draw(st.sampled_from(current))
    later = history.now + timedelta(days=data.draw(st.sampled_from((0, 1, 40))))
    quiet = advance(once.state, [], through=once.through, now=later)
    assert advance(once.state, [again], through=once.through, now=later) == quiet


def expected_cause(key: str, event_keys: frozenset[str]) -> Cause:
    if key in event_keys:
        return Cause.event(key)
    subscription_id, kind, on = key.split(":")
    assert subscription_id == SUB
    return Cause.fell_due(OccasionKind(kind), date.fromisoformat(on))


@given(history=histories())
@PROPERTY
def test_every_outcome_carries_the_cause_of_its_step(history: History) -> None:
    """What an event did carries its id; what fell due carries the occasion and its date."""
    result = run(history.commands, history.now)
    for step in result.steps:
        cause = expected_cause(step.key, history.event_keys)
        assert all(outcome.cause == cause for outcome in step.outcomes)
        for outcome in step.outcomes:
            if isinstance(outcome, InvoiceIssued):
                assert outcome.invoice.subscription_id == SUB


def asking_after_every_step(
    state: Subscription, through: datetime, now: datetime, *, on_time: bool
) -> tuple[Subscription, list[tuple[str, Subscription, tuple[object, ...]]]]:
    """The walk as the contract states it: after each occasion, ask again what falls due in
    the whole window and carry out the first not yet done (by the public ``apply``)."""
    until = now + TICK
    seen: set[str] = set()
    steps: list[tuple[str, Subscription, tuple[object, ...]]] = []
    while pending := [o for o in occasions(state, through, until) if o.key not in seen]:
        occasion = pending[0]
        seen.add(occasion.key)
        result = timeline.apply(state, occasion, occasion.due if on_time else now)
        assert isinstance(result, Applied)
        if result.state is not state or result.outcomes:
            steps.append((occasion.key, result.state, result.outcomes))
        state = result.state
    return state, steps


@given(history=histories(), data=st.data())
@PROPERTY
def test_collecting_once_is_asking_after_every_step(history: History, data: st.DataObject) -> None:
    """The walk collects what falls due once and asks again only after a rule changed the state;
    it applies the same occasions, in the same order, to the same states as asking after each."""
    start = run(history.commands, history.now)
    assert start.state is not None and start.through is not None
    later = history.now + timedelta(days=data.draw(st.sampled_from((1, 40, 200, 400, 800))))
    on_time = data.draw(st.booleans())
    walked = advance(start.state, [], through=start.through, now=later, on_time=on_time)
    state, steps = asking_after_every_step(start.state, start.through, later, on_time=on_time)
    assert walked.state == state
    assert [(s.key, s.state, s.outcomes) for s in walked.steps] == steps
    assert walked.rejected == {}


@given(history=histories(), data=st.data())
@PROPERTY
def test_the_scheduled_walk_is_catching_up_then_running_on_time(
    history: History, data: st.DataObject
) -> None:
    """``scheduled`` (the forecast's walk, outcomes only) gives the outcomes of a scheduler that
    catches up to ``as_of`` and then runs on time to ``until``: two ``advance``s, step by step."""
    start = run(history.commands, history.now)
    assert start.state is not None and start.through is not None
    as_of = history.now + timedelta(days=data.draw(st.sampled_from((0, 1, 40, 200))))
    later = as_of + timedelta(days=data.draw(st.sampled_from((0, 1, 40, 400, 800))))
    caught_up = advance(start.state, [], through=start.through, now=as_of)
    ahead = advance(caught_up.state, [], through=caught_up.through, now=later, on_time=True)
    outcomes = timeline.scheduled(
        start.state, through=start.through, as_of=as_of, until=later + TICK
    )
    assert outcomes == caught_up.outcomes + ahead.outcomes


# -- explanations ---------------------------------------------------------------------------------


def exact(inputs: Mapping[str, Any], *factors: Any, per: int = 1) -> Decimal:
    """unit_price × factors / per, exact for the rounding decision (100 digits)."""
    with localcontext() as ctx:
        ctx.prec = 100
        value = Decimal(inputs["unit_price"])
        for factor in factors:
            value *= Decimal(factor)
        return value / Decimal(per)


def round_half_up(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]), rounding=ROUND_HALF_UP)


# Each rule's amount from its inputs alone: (quantity key, exact positive amount, credit?).
RECOMPUTE: dict[Rule, tuple[str, Callable[[Mapping[str, Any]], Decimal], bool]] = {
    Rule.PURCHASE: ("seats", lambda i: exact(i, i["seats"]), False),
    Rule.RENEWAL: ("seats", lambda i: exact(i, i["seats"]), False),
    Rule.SEATS_ADDED: (
        "seats_added",
        lambda i: exact(i, i["seats_added"], i["remaining_days"], per=i["term_days"]),
        False,
    ),
    Rule.UPGRADE_CREDIT: (
        "seats",
        lambda i: exact(i, i["seats"], i["remaining_days"], per=i["term_days"]),
        True,
    ),
    Rule.UPGRADE_CHARGE: (
        "seats",
        lambda i: exact(i, i["seats"], i["remaining_days"], per=i["term_days"]),
        False,
    ),
    Rule.QSR_OVERAGE: (
        "overage",
        lambda i: exact(i, i["overage"], i["quarters_left"], per=i["quarters"]),
        False,
    ),
    Rule.TRUE_UP: ("users_over", lambda i: exact(i, i["users_over"]), False),
}


def check_max_set_by(inputs: Mapping[str, Any], before: Subscription, period: Term) -> None:
    """``max_users`` is the maximum of the state's reports in ``period``, and ``max_set_by`` are
    exactly the state's reports of that count there."""
    inside = [r for r in before.usage if period.contains(r.observed_at.date())]
    best = max((r.users for r in inside), default=0)
    assert inputs["max_users"] == best
    setting = [
        {"observed_at": r.observed_at.isoformat(), "users": r.users}
        for r in inside
        if best > 0 and r.users == best
    ]
    assert inputs["max_set_by"] == setting
    reports = {(r.observed_at.isoformat(), r.users) for r in before.usage}
    assert all((e["observed_at"], e["users"]) in reports for e in inputs["max_set_by"])


def check_line(line: InvoiceLine, before: Subscription | None) -> None:
    explanation = line.explanation
    inputs = explanation.inputs
    assert json.loads(json.dumps(dict(inputs))) == dict(inputs)  # JSON values only
    assert (inputs["unit_price"], inputs["currency"]) == (
        line.unit_price.to_wire(),
        line.unit_price.currency,
    )
    quantity_key, recompute, credit = RECOMPUTE[explanation.rule]
    assert inputs[quantity_key] == line.quantity
    rounded = round_half_up(recompute(inputs), inputs["currency"])
    assert line.amount == Money(amount=-rounded if credit else rounded, currency=inputs["currency"])
    sign = "−" if credit else ""
    assert explanation.formula.startswith(f"{sign}{line.quantity} ")
    assert f"× {money_text(line.unit_price)}" in explanation.formula
    if "remaining_days" in inputs:
        term_end = date.fromisoformat(inputs["term_end"])
        effective = date.fromisoformat(inputs["effective_date"])
        assert inputs["remaining_days"] == (term_end - effective).days
        assert inputs["term_days"] == (term_end - date.fromisoformat(inputs["term_start"])).days
    if explanation.rule is Rule.QSR_OVERAGE:
        assert before is not None
        assert inputs["quarters"] == 4 and inputs["quarters_left"] == 4 - inputs["quarter"]
        assert inputs["overage"] == inputs["max_users"] - inputs["seats_paid_for"]
        period = Term(
            start=date.fromisoformat(inputs["quarter_start"]),
            end=date.fromisoformat(inputs["quarter_end"]),
        )
        check_max_set_by(inputs, before, period)
    if explanation.rule is Rule.TRUE_UP:
        assert before is not None
        assert inputs["users_over"] == inputs["max_users"] - inputs["seats_paid_for"]
        period = Term(
            start=date.fromisoformat(inputs["term_start"]),
            end=date.fromisoformat(inputs["term_end"]),
        )
        check_max_set_by(inputs, before, period)
    if explanation.rule is Rule.RENEWAL and "seats_paid_for" in inputs:
        assert before is not None
        latest = inputs["latest_billable_users"]
        assert inputs["seats"] == max(inputs["seats_paid_for"], latest or 0)
        observed = inputs["latest_report_observed_at"]
        assert (observed is None) == (latest is None)
        if observed is not None:
            assert any(
                r.observed_at.isoformat() == observed and r.billable_users == latest
                for r in before.usage
            )


@given(history=histories())
@PROPERTY
def test_every_line_is_explained_by_its_inputs(history: History) -> None:
    """Each invoice line's amount follows from its explanation's inputs alone, its formula
    names its quantity and unit price, and the usage it cites is the state's."""
    result = run(history.commands, history.now)
    before: Subscription | None = None
    for step in result.steps:
        for outcome in step.outcomes:
            if isinstance(outcome, InvoiceIssued):
                for line in outcome.invoice.lines:
                    check_line(line, before)
        before = step.state


@st.composite
def explained_lines(draw: st.DrawFn) -> tuple[InvoiceLine, Subscription | None]:
    """A line of any rule over any price, term and date; half the time exactly on a half minor
    unit, where half up and half even part (the whole-year rules, a multiple of the price, have
    no halves)."""
    currency = draw(st.sampled_from(sorted(MINOR_UNITS)))
    start = draw(
        st.one_of(st.sampled_from(SPECIAL_STARTS), st.dates(date(2025, 1, 1), date(2032, 12, 31)))
    )
    rule = draw(st.sampled_from(list(Rule)))
    twelve = rule in (Rule.QSR_OVERAGE, Rule.TRUE_UP)  # QSR quarters need a 12-month term
    months = 12 if twelve else draw(st.sampled_from((1, 6, 12, 13, 24)))
    term = Term(start=start, end=add_months(start, months))
    odd = st.integers(0, 500).map(lambda n: 2 * n + 1)
    tie = draw(st.booleans())
    prorated = rule in (Rule.SEATS_ADDED, Rule.UPGRADE_CREDIT, Rule.UPGRADE_CHARGE)
    if tie and prorated and term.days % 2 == 0:
        # (days / 2) × odd units × odd seats × odd remaining days / days = odd / 2 units.
        units, seats = term.days // 2 * draw(odd), draw(odd)
        remaining = draw(odd.filter(lambda n: n < term.days))
    elif tie and rule is Rule.QSR_OVERAGE:
        units, seats, remaining = draw(odd), draw(st.integers(1, 2_000)), 1
    else:
        units, seats = draw(st.integers(0, 10**7)), draw(st.integers(1, 2_000))
        remaining = draw(st.integers(1, term.days))
    price = Money(amount=Decimal(units).scaleb(-MINOR_UNITS[currency]), currency=currency)
    effective = term.end - timedelta(days=remaining)
    if rule is Rule.PURCHASE:
        return purchase_line(Tier.PREMIUM, seats, price, term), None
    if rule is Rule.RENEWAL:
        return renewal_line(Tier.ULTIMATE, seats, price, term), None
    if rule is Rule.SEATS_ADDED:
        return seats_added_line(Tier.PREMIUM, seats, price, term, effective), None
    if rule in (Rule.UPGRADE_CREDIT, Rule.UPGRADE_CHARGE):
        credit, charge = upgrade_lines(
            seats=seats,
            old_tier=Tier.PREMIUM,
            old_price=price,
            new_tier=Tier.ULTIMATE,
            new_price=price * draw(odd if tie else st.integers(1, 5)),
            term=term,
            effective_date=effective,
        )
        return (credit if rule is Rule.UPGRADE_CREDIT else charge), None
    # QSR overage ×(4 − k)/4 and the true-up: a state whose reports set the maximum.
    over = draw(odd) if tie else draw(st.integers(1, 500))
    k = 2 if tie else draw(st.integers(1, 3))  # odd × odd × 2/4 = odd / 2 units
    state = subscription(term=term, seats_paid_for=seats, unit_price=price, qsr_enabled=twelve)
    period = qsr_quarter(term, k) if rule is Rule.QSR_OVERAGE else term
    reports = draw(
        st.lists(st.tuples(st.integers(0, 400), st.integers(0, seats + over)), max_size=4)
    )
    for offset, users in reports:
        observed = midnight(period.start) + timedelta(days=offset % period.days, hours=7)
        state = with_usage(state, UsageReport(observed_at=observed, billable_users=users))
    # The maximum, set by one report or, as often, by two of the same count.
    for _ in range(draw(st.integers(1, 2))):
        peak = midnight(period.start) + timedelta(days=draw(st.integers(0, period.days - 1)))
        state = with_usage(state, UsageReport(observed_at=peak, billable_users=seats + over))
    if rule is Rule.QSR_OVERAGE:
        return qsr_line(state, k, over), state
    line = true_up_line(replace(state, qsr_enabled=False))
    assert line is not None
    return line, state


@given(case=explained_lines())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_rule_is_reproduced_from_its_inputs(
    case: tuple[InvoiceLine, Subscription | None],
) -> None:
    """Over any price, term, date and quarter, and on exact halves, each rule's line amount
    is the rounding, half up, of its inputs' arithmetic."""
    line, state = case
    check_line(line, state)

"""The forecast: what a subscription will be billed and sent if nothing else arrives.

Rule: CONTRACT §3 Forecast: for any subscription and any moment, the charges it will be billed
if nothing else arrives (no more events; usage stays at its latest report; auto-renewal as it
is eligible now) are computed by the same rules and code path as the real charges. Nothing
here decides a charge: ``forecast`` runs the real timeline on the state with no commands
(``billingcore.timeline.scheduled``: ``advance``'s walk, keeping only the outcomes), waking it
at each occasion's date as the scheduler does, so moving the clock with no other input
produces exactly the forecast invoices. ``preview`` applies one hypothetical command the same
way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from billingcore.commands import EventCommand
from billingcore.dates import add_months, midnight, require_utc
from billingcore.eligibility import REASONS, auto_renew_eligibility
from billingcore.explanations import money_text
from billingcore.invoices import Invoice
from billingcore.notices import Notice, NoticeKind
from billingcore.outcomes import InvoiceIssued, Rejected
from billingcore.state import Subscription
from billingcore.timeline import TICK, advance, scheduled
from billingcore.usage import latest_report

HORIZON_MONTHS = 24


@dataclass(frozen=True, slots=True, kw_only=True)
class Announced:
    """A notification the forecast says will go out: its kind, on the date it falls due."""

    date: date
    kind: NoticeKind


@dataclass(frozen=True, slots=True, kw_only=True)
class Forecast:
    """The invoices (each line explained) and notifications to come, in date order."""

    as_of: datetime
    through: date
    assumptions: tuple[str, ...]
    charges: tuple[Invoice, ...]
    notifications: tuple[Announced, ...]


def horizon(as_of: datetime) -> date:
    """The last date a forecast may reach: 24 months after ``as_of`` (CONTRACT §6)."""
    return add_months(as_of.date(), HORIZON_MONTHS)


def forecast(
    state: Subscription, *, through_cursor: datetime | None, as_of: datetime, through: date
) -> Forecast:
    """The charges and notifications from ``as_of`` to the end of ``through``, if nothing else
    arrives, by the timeline itself (CONTRACT §3 Forecast).

    ``through_cursor`` is the stored state's cursor: occasions before it are applied already;
    those between it and ``as_of`` (a scheduler that is behind) happen first, as they will.
    Each later occasion is applied at its own date, as a scheduler that runs on time applies
    it (which decides which reminders of a series are sent).
    """
    require_utc(as_of, "as_of")
    end = midnight(through + timedelta(days=1)) - TICK  # the last instant of ``through``
    # What is overdue happens as soon as the service gets to it; then the scheduler runs on time.
    outcomes = scheduled(state, through=through_cursor, as_of=as_of, until=max(end, as_of) + TICK)
    charges: list[Invoice] = []
    notifications: list[Announced] = []
    for outcome in outcomes:
        if isinstance(outcome, InvoiceIssued):
            charges.append(outcome.invoice)
        else:  # with no events there are no payments: only invoices and notices
            assert isinstance(outcome, Notice)
            notifications.append(_announced(_date_of(outcome), outcome.kind))
    return Forecast(
        as_of=as_of,
        through=through,
        assumptions=assumptions(state, as_of),
        charges=tuple(charges),
        notifications=tuple(notifications),
    )


@lru_cache(maxsize=4096)
def _announced(on: date, kind: NoticeKind) -> Announced:
    # A value: every forecast that announces this kind on this day shares it.
    return Announced(date=on, kind=kind)


def _date_of(notice: Notice) -> date:
    # With no events, every notice is an occasion's: it goes out on the occasion's date.
    assert notice.cause.date is not None
    return notice.cause.date


def assumptions(state: Subscription, as_of: datetime) -> tuple[str, ...]:
    """What a forecast of ``state`` at ``as_of`` takes for granted, in words (CONTRACT §3)."""
    said = [
        "No more events arrive: no seats added, upgrades, renewals, cancellations, payments or "
        "usage reports.",
    ]
    report = latest_report(state, through=as_of)
    if report is None:
        said.append(
            "No usage has been reported this term: no billable users beyond the seats paid for."
        )
    else:
        said.append(
            f"Usage stays at its latest report: {report.billable_users} billable users "
            f"(observed {report.observed_at.date().isoformat()})."
        )
    said.append(
        f"Prices stay as they are: {money_text(state.unit_price)} per seat per year "
        f"({state.tier.product_name}), {state.seats_paid_for} seats paid for."
    )
    eligibility = auto_renew_eligibility(state)
    renews_on = state.term.end.isoformat()
    if eligibility.eligible:
        said.append(
            f"Automatic renewal on {renews_on} as it is eligible now; a reconciliation invoice "
            "issued before then and left unpaid would block it."
        )
    else:
        why = "; ".join(REASONS.get(code, code) for code in eligibility.reasons)
        said.append(f"No automatic renewal on {renews_on}: {why}.")
    if state.open_invoices:
        said.append(f"Open invoices stay unpaid ({len(state.open_invoices)} now).")
    said.append(
        "The scheduler runs on time: each reminder, reconciliation and renewal happens on its date."
    )
    return tuple(said)


@dataclass(frozen=True, slots=True, kw_only=True)
class Preview:
    """What one command would do now: its invoice, its refusal, the notices it sends."""

    invoice: Invoice | None
    rejected: Rejected | None
    notifications: tuple[NoticeKind, ...]


def preview(
    state: Subscription | None,
    command: EventCommand,
    *,
    through_cursor: datetime | None,
    now: datetime,
) -> Preview:
    """What ``command`` would do to ``state`` now, by the timeline itself, changing nothing
    (CONTRACT §6, preview). Occasions already due are applied first, as they would be."""
    result = advance(state, [command], through=through_cursor, now=now)
    refusal = result.rejected.get(command.key)
    if command.key in result.held:
        refusal = Rejected(
            reason=f"no subscription for command {command.key}", code="unknown_subscription"
        )
    step = next((s for s in result.steps if s.key == command.key), None)
    outcomes = () if step is None else step.outcomes
    invoices = [o.invoice for o in outcomes if isinstance(o, InvoiceIssued)]
    return Preview(
        invoice=invoices[0] if invoices else None,
        rejected=refusal,
        notifications=tuple(o.kind for o in outcomes if isinstance(o, Notice)),
    )

"""Transitions: ``apply(state, command, now)`` → ``Applied(state, outcomes)`` or ``Rejected``.

One table maps each command type to the function that carries it out. Every function is pure:
it reads the state and the command, and returns the new state with the invoices and notices
that follow (CONTRACT §3 for the arithmetic, §4 for which notice each event or occasion
sends). A refused command is returned as ``Rejected``, never raised. A command whose key was
already applied in the current term returns the state unchanged with no outcomes.

Decisions are taken at the command's own time (``command.at``, an occasion's ``due``), so the
result does not depend on when it is processed; ``now`` only decides which reminder of a
series is still worth sending (CONTRACT §3: of a series only the latest due is sent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from billingcore.catalog import InvalidPrice, NoListPrice, Tier, effective_unit_price
from billingcore.commands import (
    AddSeats,
    Cancel,
    ChangeAutoRenew,
    CreateSubscription,
    EventCommand,
    RecordPaymentFailed,
    RecordPaymentSucceeded,
    Renew,
    ReportUsage,
    UpdateCustomer,
    UpdatePaymentMethod,
    Upgrade,
)
from billingcore.currencies import UnknownCurrency, minor_units
from billingcore.dates import Term, midnight
from billingcore.invoices import Invoice, InvoicePurpose, build_invoice, invoice_key
from billingcore.money import Money
from billingcore.occasions import Occasion, OccasionKind, occasions
from billingcore.outcomes import (
    Applied,
    InvoiceIssued,
    InvoicePaid,
    NoticeDue,
    NoticeKind,
    Outcome,
    Rejected,
    notice,
)
from billingcore.proration import purchase_line, seats_added_line, upgrade_lines
from billingcore.qsr import (
    QUARTERS,
    notice_date,
    qsr_line,
    qsr_quote,
    quarter_overage,
    reconciliation_dates,
)
from billingcore.renewal import RenewalPlan, grace_end, plan_auto_renewal, plan_renewal
from billingcore.state import (
    Channel,
    Deployment,
    OpenInvoice,
    PendingQsr,
    ScheduledRenewal,
    Status,
    Subscription,
    UsageReport,
    auto_renew_eligibility,
    find_open_invoice,
    latest_billable_users,
    with_usage,
)

Command = EventCommand | Occasion
Result = Applied | Rejected


def apply(state: Subscription | None, command: Command, now: datetime) -> Result:
    """Apply one command (an event or an occasion) to a subscription's state.

    Rule: CONTRACT §2 (event types), §3 (arithmetic), §4 (notices; each (subscription, kind,
    occasion) once). Rejected: commands for an unknown subscription other than
    CreateSubscription, CreateSubscription for an existing one, and each refusal listed with
    its handler. A key already applied in this term changes nothing.
    """
    if state is not None and command.key in state.applied_keys:
        return Applied(state=state)
    if isinstance(command, CreateSubscription):
        if state is not None:
            return Rejected(reason=f"subscription {state.id} already exists", code="exists")
        return _create(command)
    if state is None:
        return Rejected(
            reason=f"unknown subscription {command.subscription_id}", code="unknown_subscription"
        )
    if command.subscription_id != state.id:
        return Rejected(
            reason=f"command for {command.subscription_id} applied to {state.id}",
            code="wrong_subscription",
        )
    handler = _HANDLERS[type(command)]
    result = handler(state, command, now)
    if isinstance(result, Rejected):
        return result
    return Applied(
        state=replace(result.state, applied_keys=result.state.applied_keys | {command.key}),
        outcomes=result.outcomes,
    )


# ---------------------------------------------------------------- helpers


def _reject(code: str, reason: str) -> Rejected:
    return Rejected(reason=reason, code=code)


def _issue(
    state: Subscription,
    purpose: InvoicePurpose,
    occasion: str,
    lines: tuple[Any, ...],
    issued_on: date,
) -> Invoice:
    return build_invoice(
        key=invoice_key(state.id, purpose, occasion),
        subscription_id=state.id,
        purpose=purpose,
        lines=lines,
        issued_on=issued_on,
    )


def _open(invoice: Invoice, covers_from: date) -> OpenInvoice:
    return OpenInvoice(
        key=invoice.key, purpose=invoice.purpose, total=invoice.total, covers_from=covers_from
    )


def _price(tier: Tier, given: Money | None, currency: str) -> Money | Rejected:
    try:
        return effective_unit_price(tier, given, currency)
    except NoListPrice as exc:
        return _reject("no_list_price", str(exc))
    except InvalidPrice as exc:
        return _reject("invalid_price", str(exc))


def _new_term(
    state: Subscription, plan: RenewalPlan, *, status: Status, **changes: Any
) -> Subscription:
    """The state moved to the plan's term: usage, keys and QSR start again (CONTRACT §3)."""
    fields: dict[str, Any] = {
        "term": plan.term,
        "seats_paid_for": plan.seats,
        "tier": plan.tier,
        "unit_price": plan.unit_price,
        "status": status,
        "grace_ends": None,
        "expired_on": None,
        "usage": tuple(r for r in state.usage if r.observed_at >= midnight(plan.term.start)),
        "pending_qsr": None,
        "renewal": None,
        "applied_keys": frozenset(),
    }
    fields.update(changes)
    return replace(state, **fields)


def _renewal_notice(
    state: Subscription, plan: RenewalPlan, invoice: Invoice, occasion: str, automatic: bool
) -> NoticeDue:
    return notice(
        state.id,
        NoticeKind.RENEWAL_CONFIRMATION,
        occasion,
        term=plan.term,
        tier=plan.tier.value,
        seats=plan.seats,
        unit_price=plan.unit_price,
        invoice_key=invoice.key,
        invoice_total=invoice.total,
        true_up_users=0 if plan.true_up is None else plan.true_up.quantity,
        true_up_amount=None if plan.true_up is None else plan.true_up.amount,
        automatic=automatic,
    )


def _expired_notice(state: Subscription, on: date) -> NoticeDue:
    return notice(
        state.id,
        NoticeKind.SUBSCRIPTION_EXPIRED,
        on.isoformat(),
        expired_on=on,
        tier=state.tier.value,
        seats=state.seats_paid_for,
        term=state.term,
    )


# ---------------------------------------------------------------- events


def _create(cmd: CreateSubscription) -> Result:
    """subscription.created: the state and the purchase invoice (CONTRACT §2, §3 Purchase)."""
    if cmd.seats < 1:
        return _reject("invalid_seats", f"seats must be at least 1, got {cmd.seats}")
    if cmd.channel is Channel.PARTNER and cmd.partner is None:
        return _reject("partner_required", "a partner subscription names its partner")
    audience = cmd.namespace_id if cmd.deployment is Deployment.SAAS else cmd.instance_id
    if not audience:
        wanted = "namespace_id" if cmd.deployment is Deployment.SAAS else "instance_id"
        return _reject("audience_required", f"a {cmd.deployment.value} subscription has {wanted}")
    try:
        minor_units(cmd.currency)
    except UnknownCurrency as exc:
        return _reject("unknown_currency", str(exc))
    price = _price(cmd.tier, cmd.unit_price, cmd.currency)
    if isinstance(price, Rejected):
        return price
    state = Subscription(
        id=cmd.subscription_id,
        customer=cmd.customer,
        deployment=cmd.deployment,
        namespace_id=cmd.namespace_id,
        instance_id=cmd.instance_id,
        tier=cmd.tier,
        unit_price=price,
        seats_paid_for=cmd.seats,
        term=cmd.term,
        auto_renew=cmd.auto_renew,
        qsr_enabled=cmd.qsr_enabled,
        channel=cmd.channel,
        partner=cmd.partner,
        purchase_order=cmd.purchase_order,
        cloud_licensing=cmd.cloud_licensing,
        card=cmd.card,
        applied_keys=frozenset({cmd.key}),
    )
    line = purchase_line(cmd.tier, cmd.seats, price, cmd.term)
    occasion = cmd.term.start.isoformat()
    invoice = _issue(state, InvoicePurpose.PURCHASE, occasion, (line,), cmd.at.date())
    state = replace(state, open_invoices=(_open(invoice, cmd.term.start),))
    confirmation = notice(
        state.id,
        NoticeKind.SUBSCRIPTION_CONFIRMATION,
        occasion,
        tier=cmd.tier.value,
        seats=cmd.seats,
        term=cmd.term,
        unit_price=price,
        invoice_key=invoice.key,
        invoice_total=invoice.total,
    )
    return Applied(state=state, outcomes=(InvoiceIssued(invoice=invoice), confirmation))


def _add_seats(state: Subscription, cmd: AddSeats, now: datetime) -> Result:
    """subscription.seats_added: ``added × unit_price × remaining / term_days`` (CONTRACT §3).

    Refused for cancelled, expired and partner subscriptions and outside the term.
    """
    if state.status in (Status.CANCELLED, Status.EXPIRED):
        return _reject(
            "not_active", f"seats cannot be added: the subscription is {state.status.value}"
        )
    if state.channel is Channel.PARTNER:
        return _reject("partner_channel", "a partner adds the seats of partner subscriptions")
    if cmd.seats < 1:
        return _reject("invalid_seats", f"seats added must be at least 1, got {cmd.seats}")
    if not state.term.contains(cmd.effective_date):
        return _reject("outside_term", f"{cmd.effective_date} is outside the term {state.term}")
    line = seats_added_line(state.tier, cmd.seats, state.unit_price, state.term, cmd.effective_date)
    invoice = _issue(state, InvoicePurpose.SEATS_ADDED, cmd.key, (line,), cmd.at.date())
    seats = state.seats_paid_for + cmd.seats
    new_state = replace(
        state,
        seats_paid_for=seats,
        open_invoices=(*state.open_invoices, _open(invoice, cmd.effective_date)),
    )
    added = notice(
        state.id,
        NoticeKind.SEATS_ADDED,
        cmd.key,
        seats_added=cmd.seats,
        new_seats=seats,
        effective_date=cmd.effective_date,
        amount=invoice.total,
        invoice_key=invoice.key,
        invoice_total=invoice.total,
    )
    return Applied(state=new_state, outcomes=(InvoiceIssued(invoice=invoice), added))


def _upgrade(state: Subscription, cmd: Upgrade, now: datetime) -> Result:
    """subscription.upgraded: a prorated credit and charge (CONTRACT §3 Upgrade).

    Refused to the same or a lower tier, for expired subscriptions and outside the term.
    """
    if cmd.tier.rank <= state.tier.rank:
        return _reject(
            "not_an_upgrade", f"{cmd.tier.value} is not above the current tier {state.tier.value}"
        )
    if state.status is Status.EXPIRED:
        return _reject("not_active", "an expired subscription cannot be upgraded")
    if not state.term.contains(cmd.effective_date):
        return _reject("outside_term", f"{cmd.effective_date} is outside the term {state.term}")
    price = _price(cmd.tier, cmd.unit_price, state.currency)
    if isinstance(price, Rejected):
        return price
    lines = upgrade_lines(
        seats=state.seats_paid_for,
        old_tier=state.tier,
        old_price=state.unit_price,
        new_tier=cmd.tier,
        new_price=price,
        term=state.term,
        effective_date=cmd.effective_date,
    )
    invoice = _issue(state, InvoicePurpose.UPGRADE, cmd.key, lines, cmd.at.date())
    new_state = replace(
        state,
        tier=cmd.tier,
        unit_price=price,
        open_invoices=(*state.open_invoices, _open(invoice, cmd.effective_date)),
    )
    upgraded = notice(
        state.id,
        NoticeKind.UPGRADE_CONFIRMATION,
        cmd.key,
        tier=cmd.tier.value,
        previous_tier=state.tier.value,
        seats=state.seats_paid_for,
        effective_date=cmd.effective_date,
        unit_price=price,
        credit=lines[0].amount,
        charge=lines[1].amount,
        amount=invoice.total,
        invoice_key=invoice.key,
        invoice_total=invoice.total,
    )
    return Applied(state=new_state, outcomes=(InvoiceIssued(invoice=invoice), upgraded))


def _renew(state: Subscription, cmd: Renew, now: datetime) -> Result:
    """subscription.renewed: a manual renewal, the only time seats or tier can go down.

    Rule: CONTRACT §2/§3. Refused with fewer seats than the latest ``billable_users``. A
    renewal starting on or before its event's date takes effect at once (it revives an expired
    subscription and supersedes an unpaid auto-renewal); one starting later must start at the
    current term end and takes effect then. The true-up of the ending term is billed when the
    renewal starts a later term than the current one.
    """
    if cmd.term_end <= cmd.term_start:
        return _reject("invalid_term", f"the term {cmd.term_start}..{cmd.term_end} is empty")
    term = Term(start=cmd.term_start, end=cmd.term_end)
    latest = latest_billable_users(state) or 0
    if cmd.seats < max(1, latest):
        return _reject(
            "seats_below_usage",
            f"{cmd.seats} seats is fewer than the {latest} billable users (or fewer than 1)",
        )
    if state.renewal is not None:
        return _reject("already_renewed", f"a renewal for {state.renewal.term} is scheduled")
    if term.start < state.term.start:
        return _reject("before_current_term", f"{term} starts before the term {state.term}")
    immediate = term.start <= cmd.at.date()
    if not immediate and term.start != state.term.end:
        return _reject(
            "renewal_start_mismatch",
            f"a renewal that starts later must start at the term end {state.term.end}",
        )
    tier = cmd.tier or state.tier
    same_price = cmd.unit_price is None and tier is state.tier
    price = state.unit_price if same_price else _price(tier, cmd.unit_price, state.currency)
    if isinstance(price, Rejected):
        return price
    plan = plan_renewal(
        state,
        term=term,
        seats=cmd.seats,
        tier=tier,
        unit_price=price,
        with_true_up=term.start > state.term.start,
    )
    occasion = f"{term.start.isoformat()}:{cmd.key}"
    invoice = _issue(state, InvoicePurpose.RENEWAL, occasion, plan.lines, cmd.at.date())
    opened = _open(invoice, term.start)
    if immediate:
        kept = tuple(i for i in state.open_invoices if i.purpose is not InvoicePurpose.RENEWAL)
        new_state = _new_term(state, plan, status=Status.ACTIVE, open_invoices=(*kept, opened))
    else:
        scheduled = ScheduledRenewal(term=term, seats=cmd.seats, tier=tier, unit_price=price)
        new_state = replace(state, renewal=scheduled, open_invoices=(*state.open_invoices, opened))
    confirmation = _renewal_notice(state, plan, invoice, cmd.key, automatic=False)
    return Applied(state=new_state, outcomes=(InvoiceIssued(invoice=invoice), confirmation))


def _change_auto_renew(state: Subscription, cmd: ChangeAutoRenew, now: datetime) -> Result:
    """subscription.auto_renew_changed (CONTRACT §2); refused once cancelled or expired."""
    if state.status in (Status.CANCELLED, Status.EXPIRED):
        return _reject("not_active", f"the subscription is {state.status.value}")
    return Applied(state=replace(state, auto_renew=cmd.auto_renew))


def _cancel(state: Subscription, cmd: Cancel, now: datetime) -> Result:
    """subscription.cancelled: runs to its term end and does not renew (CONTRACT §2, §4).

    Refused unless active, and while a manual renewal is scheduled.
    """
    if state.status is not Status.ACTIVE:
        return _reject("not_active", f"the subscription is {state.status.value}")
    if state.renewal is not None:
        return _reject("already_renewed", f"a renewal for {state.renewal.term} is scheduled")
    new_state = replace(state, status=Status.CANCELLED, auto_renew=False)
    cancelled = notice(
        state.id,
        NoticeKind.CANCELLATION_CONFIRMATION,
        state.term.end.isoformat(),
        ends_on=state.term.end,
        tier=state.tier.value,
        reason=cmd.reason,
    )
    return Applied(state=new_state, outcomes=(cancelled,))


def _report_usage(state: Subscription, cmd: ReportUsage, now: datetime) -> Result:
    """usage.reported: kept in observation order; max users start again each term (CONTRACT §3).

    Refused when observed before the current term (it can no longer count) or inconsistent.
    """
    if cmd.billable_users < 0 or (cmd.max_users is not None and cmd.max_users < cmd.billable_users):
        return _reject("invalid_usage", "billable_users ≥ 0 and max_users ≥ billable_users")
    report = UsageReport(
        observed_at=cmd.observed_at, billable_users=cmd.billable_users, max_users=cmd.max_users
    )
    if report.observed_at < midnight(state.term.start):
        return _reject("usage_before_term", f"observed before the term {state.term}")
    return Applied(state=with_usage(state, report))


def _payment_succeeded(state: Subscription, cmd: RecordPaymentSucceeded, now: datetime) -> Result:
    """payment.succeeded: the invoice is paid; a paid renewal ends the grace (CONTRACT §3).

    Refused in another currency than the subscription's, or for an invoice that is not open.
    A renewal paid after its grace ran out revives the subscription.
    """
    if cmd.amount.currency != state.currency:
        return _reject(
            "currency_mismatch", f"payment in {cmd.amount.currency}, invoices in {state.currency}"
        )
    invoice = find_open_invoice(state, cmd.invoice_key)
    if invoice is None:
        return _reject("invoice_not_open", f"no unpaid invoice {cmd.invoice_key}")
    new_state = replace(
        state, open_invoices=tuple(i for i in state.open_invoices if i.key != invoice.key)
    )
    if invoice.purpose is InvoicePurpose.RENEWAL and state.status in (Status.GRACE, Status.EXPIRED):
        new_state = replace(new_state, status=Status.ACTIVE, grace_ends=None, expired_on=None)
    paid = InvoicePaid(invoice_key=invoice.key, amount=cmd.amount)
    return Applied(state=new_state, outcomes=(paid,))


def _payment_failed(state: Subscription, cmd: RecordPaymentFailed, now: datetime) -> Result:
    """payment.failed: a renewal opens 14 days of grace; a QSR invoice sends qsr_failed.

    Rule: CONTRACT §3 (grace) and §4 (auto_renewal_failed, qsr_failed). Other invoices send
    nothing. Refused for an invoice that is not open.
    """
    invoice = find_open_invoice(state, cmd.invoice_key)
    if invoice is None:
        return _reject("invoice_not_open", f"no unpaid invoice {cmd.invoice_key}")
    card_last4 = None if state.card is None else state.card.last4
    if invoice.purpose is InvoicePurpose.QSR:
        failed = notice(
            state.id,
            NoticeKind.QSR_FAILED,
            invoice.key,
            invoice_key=invoice.key,
            amount=invoice.total,
            reason=cmd.reason,
            card_last4=card_last4,
        )
        return Applied(state=state, outcomes=(failed,))
    if invoice.purpose is not InvoicePurpose.RENEWAL or state.status is Status.EXPIRED:
        return Applied(state=state)
    ends = state.grace_ends or grace_end(cmd.at.date(), invoice.covers_from)
    new_state = replace(state, status=Status.GRACE, grace_ends=ends)
    failed = notice(
        state.id,
        NoticeKind.AUTO_RENEWAL_FAILED,
        invoice.key,
        grace_ends=ends,
        invoice_key=invoice.key,
        amount=invoice.total,
        reason=cmd.reason,
        card_last4=card_last4,
    )
    return Applied(state=new_state, outcomes=(failed,))


def _update_payment_method(state: Subscription, cmd: UpdatePaymentMethod, now: datetime) -> Result:
    """payment_method.updated: the card on file is replaced (CONTRACT §2)."""
    return Applied(state=replace(state, card=cmd.card))


def _update_customer(state: Subscription, cmd: UpdateCustomer, now: datetime) -> Result:
    """customer.updated: the given fields replace the customer's (CONTRACT §2)."""
    customer = state.customer
    customer = replace(
        customer,
        name=customer.name if cmd.name is None else cmd.name,
        email=customer.email if cmd.email is None else cmd.email,
        contacts=customer.contacts if cmd.contacts is None else cmd.contacts,
        locale=customer.locale if cmd.locale is None else cmd.locale,
    )
    return Applied(state=replace(state, customer=customer))


# ---------------------------------------------------------------- occasions


def _occasion(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """An occasion is carried out only while the state still makes it due on its date."""
    day = occasion.due
    still_due = any(o.key == occasion.key for o in occasions(state, day, _next_day(day)))
    if not still_due:
        return Applied(state=state)
    return _OCCASIONS[occasion.kind](state, occasion, now)


def _next_day(moment: datetime) -> datetime:
    return midnight(moment.date() + timedelta(days=1))


def _renewal_reminder(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """renewal_reminder 90/45/30 days before term_end; only the latest due one is sent.

    Rule: CONTRACT §3 Scheduling / §4: applied at ``now``, a reminder whose successor in the
    series is already due sends nothing; the latest due one is sent even after a clock jump
    or a scheduler outage carried ``now`` past it.
    """
    end = state.term.end
    days = (end - occasion.due_on).days
    later = [d for d in (45, 30) if d < days]
    if any(now >= midnight(end - timedelta(days=d)) for d in later):
        return Applied(state=state)
    partner = state.partner if state.channel is Channel.PARTNER else None
    reminder = notice(
        state.id,
        NoticeKind.RENEWAL_REMINDER,
        occasion.due_on.isoformat(),
        expires_on=end,
        days_before=days,
        tier=state.tier.value,
        seats=state.seats_paid_for,
        term=state.term,
        channel=state.channel.value,
        partner_name=None if partner is None else partner.name,
        partner_email=None if partner is None else partner.email,
    )
    return Applied(state=state, outcomes=(reminder,))


def _auto_renewal_notice(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """15 days before term_end: auto_renewal_upcoming if eligible, else auto_renewal_blocked.

    Rule: CONTRACT §4; §3 Scheduling: every occasion that fell due is done, in order, also
    when the scheduler catches up past the renewal date.
    """
    end = state.term.end
    eligibility = auto_renew_eligibility(state)
    on = occasion.due_on.isoformat()
    if not eligibility.eligible:
        blocked = notice(
            state.id,
            NoticeKind.AUTO_RENEWAL_BLOCKED,
            on,
            renewal_date=end,
            reasons=eligibility.reasons,
            tier=state.tier.value,
            seats=state.seats_paid_for,
        )
        return Applied(state=state, outcomes=(blocked,))
    plan = plan_auto_renewal(state)
    upcoming = notice(
        state.id,
        NoticeKind.AUTO_RENEWAL_UPCOMING,
        on,
        renewal_date=end,
        new_term=plan.term,
        tier=plan.tier.value,
        seats=plan.seats,
        amount=plan.total,
        true_up_users=0 if plan.true_up is None else plan.true_up.quantity,
        card_last4=None if state.card is None else state.card.last4,
    )
    return Applied(state=state, outcomes=(upcoming,))


def _payment_method_expiring(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """30 days before term_end, the card on file expires before the renewal (CONTRACT §4)."""
    card = state.card
    assert card is not None  # the occasion is only due while a card on file expires too soon
    expiring = notice(
        state.id,
        NoticeKind.PAYMENT_METHOD_EXPIRING,
        occasion.due_on.isoformat(),
        renewal_date=state.term.end,
        card_brand=card.brand,
        card_last4=card.last4,
        card_exp_month=card.exp_month,
        card_exp_year=card.exp_year,
        card_valid_through=card.valid_through,
    )
    return Applied(state=state, outcomes=(expiring,))


def _quarter_of(state: Subscription, occasion: Occasion) -> int:
    dates = reconciliation_dates(state.term.start)
    on = occasion.due_on
    return next(k for k in QUARTERS if notice_date(dates[k - 1], state.deployment) == on)


def _qsr_notice(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """qsr_notice with the overage of the quarter, amount and invoice date (CONTRACT §3 QSR)."""
    quote = qsr_quote(state, _quarter_of(state, occasion))
    pending = PendingQsr(
        quarter=quote.quarter,
        reconciliation_date=quote.reconciliation_date,
        overage_at_notice=quote.overage,
        notice_date=quote.notice_date,
        invoice_date=quote.invoice_date,
    )
    qsr = notice(
        state.id,
        NoticeKind.QSR_NOTICE,
        quote.reconciliation_date.isoformat(),
        quarter=quote.quarter,
        reconciliation_date=quote.reconciliation_date,
        overage=quote.overage,
        seats=state.seats_paid_for,
        unit_price=state.unit_price,
        amount=quote.amount,
        invoice_date=quote.invoice_date,
    )
    return Applied(state=replace(state, pending_qsr=pending), outcomes=(qsr,))


def _qsr_invoice(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """7 days after the notice: the overage measured again is invoiced and added to the seats.

    Rule: CONTRACT §3 QSR (seats bought meanwhile count). With no overage left, nothing is
    billed and no email goes out.
    """
    pending = state.pending_qsr
    assert pending is not None  # listed only while a reconciliation is pending
    cleared = replace(state, pending_qsr=None)
    overage = quarter_overage(state, pending.quarter)
    if overage == 0:
        return Applied(state=cleared)
    line = qsr_line(state, pending.quarter, overage)
    occasion_on = pending.reconciliation_date.isoformat()
    invoice = _issue(state, InvoicePurpose.QSR, occasion_on, (line,), occasion.due_on)
    seats = state.seats_paid_for + overage
    new_state = replace(
        cleared,
        seats_paid_for=seats,
        open_invoices=(*state.open_invoices, _open(invoice, pending.reconciliation_date)),
    )
    reconciled = notice(
        state.id,
        NoticeKind.QSR_RECONCILED,
        occasion_on,
        quarter=pending.quarter,
        reconciliation_date=pending.reconciliation_date,
        overage=overage,
        seats=seats,
        invoice_key=invoice.key,
        invoice_total=invoice.total,
    )
    return Applied(state=new_state, outcomes=(InvoiceIssued(invoice=invoice), reconciled))


def _term_end(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """At 00:00 UTC on term_end: a scheduled renewal starts, or the auto-renewal, or expiry.

    Rule: CONTRACT §3 (Auto-renewal) and §4 (renewal_confirmation, subscription_expired).
    """
    scheduled = state.renewal
    if scheduled is not None:
        plan = RenewalPlan(
            term=scheduled.term,
            seats=scheduled.seats,
            tier=scheduled.tier,
            unit_price=scheduled.unit_price,
            lines=(),
            true_up=None,
        )
        status = Status.GRACE if state.status is Status.GRACE else Status.ACTIVE
        return Applied(state=_new_term(state, plan, status=status, grace_ends=state.grace_ends))
    if state.status is Status.ACTIVE and auto_renew_eligibility(state).eligible:
        plan = plan_auto_renewal(state)
        invoice = _issue(
            state,
            InvoicePurpose.RENEWAL,
            plan.term.start.isoformat(),
            plan.lines,
            occasion.due_on,
        )
        new_state = _new_term(
            state,
            plan,
            status=Status.ACTIVE,
            open_invoices=(*state.open_invoices, _open(invoice, plan.term.start)),
        )
        confirmation = _renewal_notice(
            state, plan, invoice, plan.term.start.isoformat(), automatic=True
        )
        return Applied(state=new_state, outcomes=(InvoiceIssued(invoice=invoice), confirmation))
    end = state.term.end
    expired = replace(state, status=Status.EXPIRED, expired_on=end, grace_ends=None)
    return Applied(state=expired, outcomes=(_expired_notice(state, end),))


def _grace_end(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """The grace period ran out unpaid: the subscription expires (CONTRACT §3, §4)."""
    on = occasion.due_on
    expired = replace(state, status=Status.EXPIRED, expired_on=on, grace_ends=None)
    return Applied(state=expired, outcomes=(_expired_notice(state, on),))


def _managing_users(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """managing_users, 1 day after purchase or renewal, QSR-eligible saas (CONTRACT §4)."""
    managing = notice(
        state.id,
        NoticeKind.MANAGING_USERS,
        state.term.start.isoformat(),
        seats=state.seats_paid_for,
        term=state.term,
        tier=state.tier.value,
        reconciliation_dates=tuple(d.isoformat() for d in reconciliation_dates(state.term.start)),
    )
    return Applied(state=state, outcomes=(managing,))


_OccasionHandler = Callable[[Subscription, Occasion, datetime], Result]

_OCCASIONS: dict[OccasionKind, _OccasionHandler] = {
    OccasionKind.RENEWAL_REMINDER: _renewal_reminder,
    OccasionKind.AUTO_RENEWAL_NOTICE: _auto_renewal_notice,
    OccasionKind.PAYMENT_METHOD_EXPIRING: _payment_method_expiring,
    OccasionKind.QSR_NOTICE: _qsr_notice,
    OccasionKind.QSR_INVOICE: _qsr_invoice,
    OccasionKind.TERM_END: _term_end,
    OccasionKind.GRACE_END: _grace_end,
    OccasionKind.MANAGING_USERS: _managing_users,
}

_HANDLERS: dict[type[Any], Callable[[Subscription, Any, datetime], Result]] = {
    AddSeats: _add_seats,
    Upgrade: _upgrade,
    Renew: _renew,
    ChangeAutoRenew: _change_auto_renew,
    Cancel: _cancel,
    ReportUsage: _report_usage,
    RecordPaymentSucceeded: _payment_succeeded,
    RecordPaymentFailed: _payment_failed,
    UpdatePaymentMethod: _update_payment_method,
    UpdateCustomer: _update_customer,
    Occasion: _occasion,
}

__all__ = ["Command", "Outcome", "Result", "apply"]

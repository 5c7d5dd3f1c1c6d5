"""Purchase: a new subscription and its first invoice.

Rules: CONTRACT §2 (``subscription.created``: its fields and defaults) and §3 (Purchase: one
line, ``seats × unit_price``, rounded once).
"""

from __future__ import annotations

from datetime import datetime

from billingcore.catalog import Tier
from billingcore.commands import CreateSubscription, cause_of
from billingcore.currencies import UnknownCurrency, minor_units
from billingcore.dates import Term
from billingcore.explanations import Explanation, Rule, counted, money_text, price_inputs
from billingcore.invoices import InvoiceLine, InvoicePurpose, issue
from billingcore.money import Money, round_line
from billingcore.notices import NoticeKind, SubscriptionConfirmation, notice_key
from billingcore.outcomes import Applied, InvoiceIssued, Rejected, Result, reject
from billingcore.pricing import unit_price
from billingcore.rules import Family, command_rule
from billingcore.state import Channel, Deployment, OpenInvoice, Subscription


def purchase_line(tier: Tier, seats: int, price: Money, term: Term) -> InvoiceLine:
    """The purchase line ``seats × unit_price`` for the whole term (CONTRACT §3, Purchase)."""
    return InvoiceLine(
        description=f"{tier.product_name}, {seats} seats, {term}",
        quantity=seats,
        unit_price=price,
        service_period=term,
        amount=round_line(seats * price.amount, price.currency),
        explanation=Explanation(
            rule=Rule.PURCHASE,
            formula=f"{counted(seats, 'seat', 'seats')} × {money_text(price)}",
            inputs={
                "seats": seats,
                **price_inputs(price),
                "tier": tier.value,
                "term_start": term.start.isoformat(),
                "term_end": term.end.isoformat(),
            },
        ),
    )


def _refusal(cmd: CreateSubscription) -> Rejected | None:
    if cmd.seats < 1:
        return reject("invalid_seats", f"seats must be at least 1, got {cmd.seats}")
    if cmd.channel is Channel.PARTNER and cmd.partner is None:
        return reject("partner_required", "a partner subscription names its partner")
    audience = cmd.namespace_id if cmd.deployment is Deployment.SAAS else cmd.instance_id
    if not audience:
        wanted = "namespace_id" if cmd.deployment is Deployment.SAAS else "instance_id"
        return reject("audience_required", f"a {cmd.deployment.value} subscription has {wanted}")
    try:
        minor_units(cmd.currency)
    except UnknownCurrency as exc:
        return reject("unknown_currency", str(exc))
    return None


def create(cmd: CreateSubscription) -> Result:
    """subscription.created: the state and the purchase invoice (CONTRACT §2, §3 Purchase)."""
    refusal = _refusal(cmd)
    if refusal is not None:
        return refusal
    price = unit_price(cmd.tier, cmd.unit_price, cmd.currency)
    if isinstance(price, Rejected):
        return price
    line = purchase_line(cmd.tier, cmd.seats, price, cmd.term)
    occasion = cmd.term.start.isoformat()
    invoice = issue(cmd.subscription_id, InvoicePurpose.PURCHASE, occasion, (line,), cmd.at.date())
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
        open_invoices=(OpenInvoice.of(invoice, cmd.term.start),),
        applied_keys=frozenset({cmd.key}),
    )
    cause = cause_of(cmd)
    confirmation = SubscriptionConfirmation(
        key=notice_key(state.id, NoticeKind.SUBSCRIPTION_CONFIRMATION, occasion),
        cause=cause,
        tier=cmd.tier,
        seats=cmd.seats,
        term=cmd.term,
        unit_price=price,
        invoice_key=invoice.key,
        invoice_total=invoice.total,
    )
    return Applied(
        state=state, outcomes=(InvoiceIssued(invoice=invoice, cause=cause), confirmation)
    )


def _create_rule(state: Subscription, cmd: CreateSubscription, now: datetime) -> Result:
    # Reached only for a subscription that exists already (the timeline creates new ones).
    return reject("exists", f"subscription {state.id} already exists")


FAMILY = Family(name="purchase", commands=dict([command_rule(CreateSubscription, _create_rule)]))

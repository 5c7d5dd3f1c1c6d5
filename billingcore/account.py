"""The account: automatic renewal on or off, cancellation, the customer and the card on file.

Rules: CONTRACT §2 (``subscription.auto_renew_changed``, ``subscription.cancelled``,
``customer.updated``, ``payment_method.updated``) and §4 (``cancellation_confirmation``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from billingcore.commands import (
    Cancel,
    ChangeAutoRenew,
    UpdateCustomer,
    UpdatePaymentMethod,
    cause_of,
)
from billingcore.notices import CancellationConfirmation, NoticeKind, notice_key
from billingcore.outcomes import Applied, Result, reject
from billingcore.rules import Family, command_rule
from billingcore.state import Status, Subscription


def change_auto_renew(state: Subscription, cmd: ChangeAutoRenew, now: datetime) -> Result:
    """subscription.auto_renew_changed (CONTRACT §2); refused once cancelled or expired."""
    if state.status in (Status.CANCELLED, Status.EXPIRED):
        return reject("not_active", f"the subscription is {state.status.value}")
    return Applied(state=replace(state, auto_renew=cmd.auto_renew))


def cancel(state: Subscription, cmd: Cancel, now: datetime) -> Result:
    """subscription.cancelled: runs to its term end and does not renew (CONTRACT §2, §4).

    Refused unless active, and while a manual renewal is scheduled.
    """
    if state.status is not Status.ACTIVE:
        return reject("not_active", f"the subscription is {state.status.value}")
    if state.renewal is not None:
        return reject("already_renewed", f"a renewal for {state.renewal.term} is scheduled")
    new_state = replace(state, status=Status.CANCELLED, auto_renew=False)
    cancelled = CancellationConfirmation(
        key=notice_key(state.id, NoticeKind.CANCELLATION_CONFIRMATION, state.term.end.isoformat()),
        cause=cause_of(cmd),
        ends_on=state.term.end,
        tier=state.tier,
        reason=cmd.reason,
    )
    return Applied(state=new_state, outcomes=(cancelled,))


def update_payment_method(state: Subscription, cmd: UpdatePaymentMethod, now: datetime) -> Result:
    """payment_method.updated: the card on file is replaced (CONTRACT §2)."""
    return Applied(state=replace(state, card=cmd.card))


def update_customer(state: Subscription, cmd: UpdateCustomer, now: datetime) -> Result:
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


FAMILY = Family(
    name="account",
    commands=dict(
        [
            command_rule(ChangeAutoRenew, change_auto_renew),
            command_rule(Cancel, cancel),
            command_rule(UpdatePaymentMethod, update_payment_method),
            command_rule(UpdateCustomer, update_customer),
        ]
    ),
)

"""Payments: an invoice paid, or a charge that failed.

Rules (CONTRACT §2 payment events, §3 grace, §4 ``payment_receipt``, ``auto_renewal_failed`` and
``qsr_failed``): a paid invoice is closed, a paid renewal ends the grace, and every payment
sends a receipt; a failed renewal payment opens 14 days of grace; a failed QSR payment sends
``qsr_failed``; other failures send nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from billingcore.commands import RecordPaymentFailed, RecordPaymentSucceeded, cause_of
from billingcore.dates import Term
from billingcore.expiry import grace_end
from billingcore.invoices import InvoicePurpose
from billingcore.notices import (
    AutoRenewalFailed,
    NoticeKind,
    PaymentReceipt,
    QsrFailed,
    notice_key,
)
from billingcore.outcomes import (
    Applied,
    InvoicePaid,
    InvoicePaymentFailed,
    Outcome,
    Rejected,
    Result,
    reject,
)
from billingcore.rules import Family, command_rule
from billingcore.state import OpenInvoice, Status, Subscription


def find_open_invoice(state: Subscription, key: str | None) -> OpenInvoice | None:
    """The unpaid invoice named ``key``, if any (CONTRACT §2, payment events name invoices)."""
    for invoice in state.open_invoices:
        if invoice.key == key:
            return invoice
    return None


def _open_invoice(
    state: Subscription, cmd: RecordPaymentSucceeded | RecordPaymentFailed
) -> OpenInvoice | Rejected:
    invoice = find_open_invoice(state, cmd.invoice_key)
    if invoice is None:
        return reject("invoice_not_open", f"no unpaid invoice {cmd.invoice_number}")
    return invoice


def paid_period(state: Subscription, invoice: OpenInvoice) -> Term | None:
    """What ``invoice`` pays for: from its first day to the end of the term that day falls
    in, the current one or the renewal scheduled after it (CONTRACT §4, payment_receipt);
    None when neither holds that day."""
    start = invoice.covers_from
    for term in (state.term, None if state.renewal is None else state.renewal.term):
        if term is not None and term.start <= start < term.end:
            return Term(start=start, end=term.end)
    return None


def payment_succeeded(state: Subscription, cmd: RecordPaymentSucceeded, now: datetime) -> Result:
    """payment.succeeded: the invoice is paid, a receipt goes out, and a paid renewal ends the
    grace (CONTRACT §3, §4 payment_receipt).

    Refused in another currency than the subscription's, or for an invoice that is not open.
    A renewal paid after its grace ran out revives the subscription.
    """
    if cmd.amount.currency != state.currency:
        return reject(
            "currency_mismatch", f"payment in {cmd.amount.currency}, invoices in {state.currency}"
        )
    invoice = _open_invoice(state, cmd)
    if isinstance(invoice, Rejected):
        return invoice
    new_state = replace(
        state, open_invoices=tuple(i for i in state.open_invoices if i.key != invoice.key)
    )
    if invoice.purpose is InvoicePurpose.RENEWAL and state.status in (Status.GRACE, Status.EXPIRED):
        new_state = replace(new_state, status=Status.ACTIVE, grace_ends=None, expired_on=None)
    cause = cause_of(cmd)
    paid = InvoicePaid(invoice_key=invoice.key, amount=cmd.amount, cause=cause)
    receipt = PaymentReceipt(
        key=notice_key(state.id, NoticeKind.PAYMENT_RECEIPT, invoice.key),
        cause=cause,
        invoice_key=invoice.key,
        invoice_total=invoice.total,
        amount_paid=cmd.amount,
        paid_on=cmd.at.date(),
        purpose=invoice.purpose,
        period=paid_period(state, invoice),
    )
    return Applied(state=new_state, outcomes=(paid, receipt))


def payment_failed(state: Subscription, cmd: RecordPaymentFailed, now: datetime) -> Result:
    """payment.failed: a renewal opens 14 days of grace; a QSR invoice sends qsr_failed.

    Rule: CONTRACT §3 (grace) and §4 (auto_renewal_failed, qsr_failed). Other invoices send
    nothing. Refused for an invoice that is not open.
    """
    invoice = _open_invoice(state, cmd)
    if isinstance(invoice, Rejected):
        return invoice
    cause = cause_of(cmd)
    failed: list[Outcome] = [InvoicePaymentFailed(invoice_key=invoice.key, at=cmd.at, cause=cause)]
    card_last4 = None if state.card is None else state.card.last4
    if invoice.purpose is InvoicePurpose.QSR:
        failed.append(
            QsrFailed(
                key=notice_key(state.id, NoticeKind.QSR_FAILED, invoice.key),
                cause=cause,
                invoice_key=invoice.key,
                invoice_total=invoice.total,
                reason=cmd.reason,
                card_last4=card_last4,
            )
        )
        return Applied(state=state, outcomes=tuple(failed))
    if invoice.purpose is not InvoicePurpose.RENEWAL or state.status is Status.EXPIRED:
        return Applied(state=state, outcomes=tuple(failed))
    ends = state.grace_ends or grace_end(cmd.at.date(), invoice.covers_from)
    failed.append(
        AutoRenewalFailed(
            key=notice_key(state.id, NoticeKind.AUTO_RENEWAL_FAILED, invoice.key),
            cause=cause,
            grace_ends=ends,
            invoice_key=invoice.key,
            invoice_total=invoice.total,
            reason=cmd.reason,
            card_last4=card_last4,
        )
    )
    new_state = replace(state, status=Status.GRACE, grace_ends=ends)
    return Applied(state=new_state, outcomes=tuple(failed))


FAMILY = Family(
    name="payments",
    commands=dict(
        [
            command_rule(RecordPaymentSucceeded, payment_succeeded),
            command_rule(RecordPaymentFailed, payment_failed),
        ]
    ),
)

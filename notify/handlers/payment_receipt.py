"""payment_receipt: on payment.succeeded, the receipt of an invoice's payment."""

from __future__ import annotations

from typing import Any

from billingcore.notices import PaymentReceipt
from notify.handlers.common import Formatter


def build(notice: PaymentReceipt, fmt: Formatter) -> dict[str, Any]:
    """The amount paid and when, the invoice's total, and what it paid for: the invoice's
    purpose and the period it covers."""
    return {
        "amount_paid": fmt.money(notice.amount_paid),
        "paid_on": fmt.day(notice.paid_on),
        "invoice_total": fmt.money(notice.invoice_total),
        "purpose": notice.purpose.value,
        "period": None if notice.period is None else fmt.term(notice.period),
    }

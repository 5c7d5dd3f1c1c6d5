"""Eligibility: whether a subscription takes part in QSR and renews by itself, and why not.

Rules: CONTRACT §3 (QSR eligibility; auto-renewal eligibility), after GitLab's documented
policies. Each answer lists one reason code per failed criterion; ``REASONS`` gives each code
its English explanation (the codes are stable for templates and the admin API).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from billingcore.invoices import InvoicePurpose
from billingcore.state import Channel, Deployment, Status, Subscription


@dataclass(frozen=True, slots=True, kw_only=True)
class Eligibility:
    """A yes/no answer with one reason code per failed criterion (see ``REASONS``)."""

    reasons: tuple[str, ...]

    @property
    def eligible(self) -> bool:
        """True when no criterion failed."""
        return not self.reasons


REASONS: dict[str, str] = {
    "qsr_disabled": "quarterly reconciliation is turned off for this subscription",
    "partner_channel": "the subscription was bought through a partner",
    "purchase_order": "the subscription is paid by purchase order",
    "term_not_twelve_months": "the term is not twelve months long",
    "no_cloud_licensing": "the self-managed instance does not use cloud licensing",
    "auto_renew_off": "automatic renewal is turned off",
    "cancelled": "the subscription was cancelled",
    "expired": "the subscription has expired",
    "card_expires_before_renewal": "the card on file expires before the renewal date",
    "unpaid_qsr_invoice": "a quarterly reconciliation invoice is unpaid",
}

# Blocks the customer can lift before the renewal date. While they are the only ones, the
# subscription is still set to renew: it gets payment_method_expiring and auto_renewal_blocked,
# not the renewal reminders meant for subscriptions that will not renew.
FIXABLE_BLOCKS = frozenset({"card_expires_before_renewal", "unpaid_qsr_invoice"})


def _channel_reasons(state: Subscription) -> list[str]:
    # The criteria QSR and auto-renewal share: how it was sold, paid, and licensed.
    reasons: list[str] = []
    if state.channel is Channel.PARTNER:
        reasons.append("partner_channel")
    if state.purchase_order:
        reasons.append("purchase_order")
    if not state.term.is_twelve_months:
        reasons.append("term_not_twelve_months")
    if state.deployment is Deployment.SELF_MANAGED and not state.cloud_licensing:
        reasons.append("no_cloud_licensing")
    return reasons


class _LastAnswer:
    """The answer for the state asked last: a scheduler pass asks the same state several times
    (each rule family, then once per occasion), and states never change, so the identity of
    the state is enough to know the answer is still right. One entry: nothing piles up."""

    def __init__(self) -> None:
        self.state: object = None
        self.at: object = None
        self.answer: Eligibility | None = None

    def get(self, state: Subscription, at: object) -> Eligibility | None:
        if state is self.state and at == self.at:
            return self.answer
        return None

    def keep(self, state: Subscription, at: object, answer: Eligibility) -> Eligibility:
        self.state, self.at, self.answer = state, at, answer
        return answer


_QSR = _LastAnswer()
_AUTO_RENEW = _LastAnswer()


def qsr_eligibility(state: Subscription) -> Eligibility:
    """Whether the subscription takes part in quarterly reconciliation, and why not.

    Rule: CONTRACT §3 (QSR: ``qsr_enabled``, channel direct, no purchase order, a 12-month term,
    cloud licensing for self_managed), after GitLab's documented QSR policy.
    """
    known = _QSR.get(state, None)
    if known is not None:
        return known
    reasons = [] if state.qsr_enabled else ["qsr_disabled"]
    return _QSR.keep(state, None, Eligibility(reasons=tuple(reasons + _channel_reasons(state))))


def auto_renew_eligibility(state: Subscription, at: date | None = None) -> Eligibility:
    """Whether the subscription will renew automatically on ``at`` (default: its term end).

    Rule: CONTRACT §3 (auto-renewal: ``auto_renew``, channel direct, no purchase order, a
    12-month term, cloud licensing for self_managed, no card on file that expires before the
    renewal date, no QSR overage left unpaid). A card is valid through the last day of its
    expiry month; no card on file is not a block (the invoice is then paid another way).
    Cancelled and expired subscriptions do not renew either.
    """
    known = _AUTO_RENEW.get(state, at)
    if known is not None:
        return known
    renews_on = state.term.end if at is None else at
    reasons: list[str] = []
    if not state.auto_renew:
        reasons.append("auto_renew_off")
    if state.status is Status.CANCELLED:
        reasons.append("cancelled")
    if state.status is Status.EXPIRED:
        reasons.append("expired")
    reasons += _channel_reasons(state)
    if state.card is not None and state.card.expires_before(renews_on):
        reasons.append("card_expires_before_renewal")
    if any(invoice.purpose is InvoicePurpose.QSR for invoice in state.open_invoices):
        reasons.append("unpaid_qsr_invoice")
    return _AUTO_RENEW.keep(state, at, Eligibility(reasons=tuple(reasons)))

"""Eligibility: whether a subscription takes part in QSR and renews by itself, and why not.

Rules: CONTRACT §3 (QSR eligibility; auto-renewal eligibility), after GitLab's documented
policies. Each answer lists one reason code per failed criterion; ``REASONS`` gives each code
its English explanation (the codes are stable for templates and the admin API).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

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


def qsr_eligibility(state: Subscription) -> Eligibility:
    """Whether the subscription takes part in quarterly reconciliation, and why not.

    Rule: CONTRACT §3 (QSR: ``qsr_enabled``, channel direct, no purchase order, a 12-month term,
    cloud licensing for self_managed), after GitLab's documented QSR policy.
    """
    return _qsr_answer(state.qsr_enabled, _sale(state))


def auto_renew_eligibility(state: Subscription, at: date | None = None) -> Eligibility:
    """Whether the subscription will renew automatically on ``at`` (default: its term end).

    Rule: CONTRACT §3 (auto-renewal: ``auto_renew``, channel direct, no purchase order, a
    12-month term, cloud licensing for self_managed, no card on file that expires before the
    renewal date, no QSR overage left unpaid). A card is valid through the last day of its
    expiry month; no card on file is not a block (the invoice is then paid another way).
    Cancelled and expired subscriptions do not renew either.
    """
    renews_on = state.term.end if at is None else at
    card = state.card
    return _auto_renew_answer(
        state.auto_renew,
        state.status,
        card is not None and card.expires_before(renews_on),
        any(invoice.purpose is InvoicePurpose.QSR for invoice in state.open_invoices),
        _sale(state),
    )


# Both answers are asked many times of each state (by each rule family, then by the rule of each
# occasion) and of states that differ only in what they applied. Each is a function of a few
# yes/no facts and enums, so it is worked out once per combination of them and shared: the
# caches hold every combination there is.
_Sale = tuple[Channel, bool, bool, Deployment, bool]


def _sale(state: Subscription) -> _Sale:
    # The criteria QSR and auto-renewal share: how it was sold, paid, and licensed.
    return (
        state.channel,
        state.purchase_order,
        state.term.is_twelve_months,
        state.deployment,
        state.cloud_licensing,
    )


def _sale_reasons(sale: _Sale) -> list[str]:
    channel, purchase_order, twelve_months, deployment, cloud_licensing = sale
    reasons: list[str] = []
    if channel is Channel.PARTNER:
        reasons.append("partner_channel")
    if purchase_order:
        reasons.append("purchase_order")
    if not twelve_months:
        reasons.append("term_not_twelve_months")
    if deployment is Deployment.SELF_MANAGED and not cloud_licensing:
        reasons.append("no_cloud_licensing")
    return reasons


@lru_cache(maxsize=64)
def _qsr_answer(qsr_enabled: bool, sale: _Sale) -> Eligibility:
    reasons = [] if qsr_enabled else ["qsr_disabled"]
    return Eligibility(reasons=tuple(reasons + _sale_reasons(sale)))


@lru_cache(maxsize=1024)
def _auto_renew_answer(
    auto_renew: bool, status: Status, card_expires: bool, unpaid_qsr: bool, sale: _Sale
) -> Eligibility:
    reasons: list[str] = []
    if not auto_renew:
        reasons.append("auto_renew_off")
    if status is Status.CANCELLED:
        reasons.append("cancelled")
    if status is Status.EXPIRED:
        reasons.append("expired")
    reasons += _sale_reasons(sale)
    if card_expires:
        reasons.append("card_expires_before_renewal")
    if unpaid_qsr:
        reasons.append("unpaid_qsr_invoice")
    return Eligibility(reasons=tuple(reasons))

"""Announcements of future charges state the amount the same rules will bill (CONTRACT §3).

The renewal reminders say what renewing for the seats in use would cost, the renewal_upcoming
feed item of a subscription that will auto-renew its amount; a net credit asks for no payment.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from billingcore.catalog import Tier
from billingcore.commands import Upgrade
from billingcore.feed import RenewalUpcoming, feed_items
from billingcore.notices import RenewalReminder, SubscriptionConfirmation, UpgradeConfirmation
from billingcore.renewal import plan_auto_renewal
from billingcore.state import Card

from .factories import (
    SUB,
    applied,
    at,
    create,
    invoices,
    only,
    run_until,
    subscription,
    usage,
    usd,
)


def test_a_reminder_states_what_renewing_for_the_seats_in_use_costs() -> None:
    """Not reconciled quarterly, 13 users on 10 seats: 13 × $348.00 plus a true-up of 3 ×
    $348.00, $5,568.00 in all, the same plan the renewal would bill."""
    state = usage(subscription(auto_renew=False, qsr_enabled=False), "2026-06-01", 13)
    state, outcomes, _ = run_until(state, at("2026-06-02"), at("2026-10-04"))
    reminder = only(outcomes, RenewalReminder)
    cost = reminder.renewal
    assert (cost.seats, cost.unit_price, cost.seats_amount) == (13, usd("348.00"), usd("4524.00"))
    assert (cost.true_up_users, cost.true_up_amount) == (3, usd("1044.00"))
    assert cost.total == usd("5568.00") == plan_auto_renewal(state).total


def test_a_reminder_without_overage_has_no_true_up() -> None:
    """Within its seats, renewing costs the seats paid for: 10 × $348.00."""
    _, outcomes, _ = run_until(subscription(auto_renew=False), at("2026-01-03"), at("2026-10-04"))
    cost = only(outcomes, RenewalReminder).renewal
    assert (cost.seats, cost.total, cost.true_up_amount) == (10, usd("3480.00"), None)


def test_renewal_upcoming_states_the_amount_only_when_it_will_auto_renew() -> None:
    """Eligible: the auto-renewal's total; a card that expires first blocks it: no amount."""
    state = subscription()
    [item] = [i for i in feed_items(state, at("2026-12-10")) if isinstance(i, RenewalUpcoming)]
    assert (item.auto_renew, item.amount) == (True, usd("3480.00"))
    blocked = replace(state, card=Card(brand="visa", last4="4242", exp_month=11, exp_year=2026))
    [item] = [i for i in feed_items(blocked, at("2026-12-10")) if isinstance(i, RenewalUpcoming)]
    assert (item.auto_renew, item.amount) == (False, None)


def test_an_upgrade_to_a_lower_effective_price_is_a_credit_asking_for_nothing() -> None:
    """Premium at $348.00 to Ultimate at $200.00 over 200 of 365 days: −1,906.85 + 1,095.89 =
    −810.96, a credit; it is not an open invoice waiting for payment."""
    upgrade = Upgrade(
        subscription_id=SUB,
        key="evt-up",
        at=at("2026-06-15"),
        tier=Tier.ULTIMATE,
        effective_date=at("2026-06-15").date(),
        unit_price=Decimal("200.00"),
    )
    state = subscription()
    result = applied(state, upgrade)
    [invoice] = invoices(result.outcomes)
    assert invoice.total == usd("-810.96") and invoice.is_credit
    confirmation = only(result.outcomes, UpgradeConfirmation)
    assert confirmation.is_credit
    assert result.state.open_invoices == state.open_invoices
    assert not only(applied(None, create()).outcomes, SubscriptionConfirmation).is_credit

"""The billing domain of notify: pure, standard library only, time always an argument.

The service calls ``apply(state, command, now)`` for every event and occasion, stores the new
state, numbers and stores the ``InvoiceIssued`` invoices, and queues one email per
``NoticeDue``; ``occasions``/``next_due`` drive its scheduler and ``feed_items`` its feed.
"""

from billingcore.catalog import Tier, effective_unit_price, list_price
from billingcore.commands import (
    AddSeats,
    Cancel,
    ChangeAutoRenew,
    CreateSubscription,
    RecordPaymentFailed,
    RecordPaymentSucceeded,
    Renew,
    ReportUsage,
    UpdateCustomer,
    UpdatePaymentMethod,
    Upgrade,
)
from billingcore.dates import Term, add_months
from billingcore.feed import FeedItemState, FeedKind, Severity, feed_items
from billingcore.invoices import Invoice, InvoiceLine, InvoicePurpose
from billingcore.money import Money, parse_amount, round_line
from billingcore.occasions import Occasion, OccasionKind, next_due, occasions
from billingcore.outcomes import (
    Applied,
    InvoiceIssued,
    InvoicePaid,
    NoticeDue,
    NoticeKind,
    Rejected,
)
from billingcore.state import (
    Card,
    Channel,
    Customer,
    Deployment,
    Eligibility,
    Partner,
    Status,
    Subscription,
    auto_renew_eligibility,
    latest_billable_users,
    max_users,
    qsr_eligibility,
)
from billingcore.transitions import Command, apply

__all__ = [
    "AddSeats",
    "Applied",
    "Cancel",
    "Card",
    "ChangeAutoRenew",
    "Channel",
    "Command",
    "CreateSubscription",
    "Customer",
    "Deployment",
    "Eligibility",
    "FeedItemState",
    "FeedKind",
    "Invoice",
    "InvoiceIssued",
    "InvoiceLine",
    "InvoicePaid",
    "InvoicePurpose",
    "Money",
    "NoticeDue",
    "NoticeKind",
    "Occasion",
    "OccasionKind",
    "Partner",
    "RecordPaymentFailed",
    "RecordPaymentSucceeded",
    "Rejected",
    "Renew",
    "ReportUsage",
    "Severity",
    "Status",
    "Subscription",
    "Term",
    "Tier",
    "UpdateCustomer",
    "UpdatePaymentMethod",
    "Upgrade",
    "add_months",
    "apply",
    "auto_renew_eligibility",
    "effective_unit_price",
    "feed_items",
    "latest_billable_users",
    "list_price",
    "max_users",
    "next_due",
    "occasions",
    "parse_amount",
    "qsr_eligibility",
    "round_line",
]

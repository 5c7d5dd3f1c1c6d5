"""The billing domain of notify: pure, standard library only, time always an argument.

The service calls ``advance(state, commands, through=…, now=…)`` for every subscription with
work: it stores the new state, numbers and stores the ``InvoiceIssued`` invoices, and queues
one email per notice (``billingcore.notices``); ``feed_items`` drives its feed. The rules live
in one module per family (``purchase``, ``proration``, ``renewal``, ``expiry``, ``reminders``,
``qsr``, ``onboarding``, ``payments``, ``usage``, ``account``), gathered by ``timeline``.
"""

from billingcore.catalog import Tier, effective_unit_price, list_price
from billingcore.causes import Cause
from billingcore.commands import (
    AddSeats,
    Cancel,
    ChangeAutoRenew,
    Command,
    CreateSubscription,
    CustomerCommand,
    EventCommand,
    RecordPaymentFailed,
    RecordPaymentSucceeded,
    Renew,
    ReportUsage,
    SubscriptionCommand,
    UpdateCustomer,
    UpdatePaymentMethod,
    Upgrade,
)
from billingcore.dates import Term, add_months
from billingcore.due import next_due, occasions
from billingcore.eligibility import Eligibility, auto_renew_eligibility, qsr_eligibility
from billingcore.explanations import Explanation, Rule
from billingcore.feed import FeedItem, FeedKind, Severity, feed_items
from billingcore.invoices import Invoice, InvoiceLine, InvoicePurpose
from billingcore.money import Money, parse_amount, round_line
from billingcore.notices import NOTICE_TYPES, REMINDER_KINDS, InvoiceNotice, Notice, NoticeKind
from billingcore.occasion import Occasion, OccasionKind
from billingcore.outcomes import (
    Applied,
    InvoiceIssued,
    InvoicePaid,
    InvoicePaymentFailed,
    Outcome,
    Rejected,
)
from billingcore.state import (
    Card,
    Channel,
    Customer,
    Deployment,
    Partner,
    Status,
    Subscription,
)
from billingcore.timeline import Advanced, Step, advance, apply
from billingcore.usage import latest_billable_users, max_users

__all__ = [
    "NOTICE_TYPES",
    "REMINDER_KINDS",
    "AddSeats",
    "Advanced",
    "Applied",
    "Cancel",
    "Card",
    "Cause",
    "ChangeAutoRenew",
    "Channel",
    "Command",
    "CreateSubscription",
    "Customer",
    "CustomerCommand",
    "Deployment",
    "Eligibility",
    "EventCommand",
    "Explanation",
    "FeedItem",
    "FeedKind",
    "Invoice",
    "InvoiceIssued",
    "InvoiceLine",
    "InvoiceNotice",
    "InvoicePaid",
    "InvoicePaymentFailed",
    "InvoicePurpose",
    "Money",
    "Notice",
    "NoticeKind",
    "Occasion",
    "OccasionKind",
    "Outcome",
    "Partner",
    "RecordPaymentFailed",
    "RecordPaymentSucceeded",
    "Rejected",
    "Renew",
    "ReportUsage",
    "Rule",
    "Severity",
    "Status",
    "Step",
    "Subscription",
    "SubscriptionCommand",
    "Term",
    "Tier",
    "UpdateCustomer",
    "UpdatePaymentMethod",
    "Upgrade",
    "add_months",
    "advance",
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

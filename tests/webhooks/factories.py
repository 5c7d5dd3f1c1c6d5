"""Valid wire bodies of every event type, built with overrides."""

from __future__ import annotations

import copy
import json
from typing import Any

DROP: Any = object()
"""An override value that removes the key instead of setting it."""

VALID_DATA: dict[str, dict[str, Any]] = {
    "subscription.created": {
        "subscription_id": "sub_8c1f2a",
        "customer": {"id": "cus_42", "name": "Acme Corp", "email": "billing@acme.com"},
        "deployment": "saas",
        "namespace_id": "ns_9",
        "tier": "premium",
        "seats": 25,
        "term_start": "2025-01-15",
        "term_end": "2026-01-15",
    },
    "subscription.seats_added": {
        "subscription_id": "sub_8c1f2a",
        "seats": 5,
        "effective_date": "2025-03-01",
    },
    "subscription.upgraded": {
        "subscription_id": "sub_8c1f2a",
        "tier": "ultimate",
        "effective_date": "2025-03-01",
    },
    "subscription.renewed": {
        "subscription_id": "sub_8c1f2a",
        "term_start": "2026-01-15",
        "term_end": "2027-01-15",
        "seats": 30,
    },
    "subscription.auto_renew_changed": {"subscription_id": "sub_8c1f2a", "auto_renew": False},
    "subscription.cancelled": {"subscription_id": "sub_8c1f2a"},
    "usage.reported": {
        "subscription_id": "sub_8c1f2a",
        "observed_at": "2025-02-01T06:00:00Z",
        "billable_users": 27,
    },
    "payment.succeeded": {
        "subscription_id": "sub_8c1f2a",
        "invoice_number": "INV-000001",
        "amount": "8700.00",
        "currency": "USD",
    },
    "payment.failed": {
        "subscription_id": "sub_8c1f2a",
        "invoice_number": "INV-000002",
        "reason": "card_declined",
    },
    "payment_method.updated": {
        "customer_id": "cus_42",
        "card": {"brand": "visa", "last4": "4242", "exp_month": 8, "exp_year": 2028},
    },
    "customer.updated": {"customer_id": "cus_42", "email": "ap@acme.com"},
}


def data(event_type: str, **overrides: Any) -> dict[str, Any]:
    """A valid ``data`` object of ``event_type``; ``field=DROP`` removes a field.

    A key with a double underscore reaches into a nested object: ``customer__email``.
    """
    result = copy.deepcopy(VALID_DATA[event_type])
    for key, value in overrides.items():
        *parents, leaf = key.split("__")
        target = result
        for parent in parents:
            target = target[parent]
        if value is DROP:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return result


def body(event_type: str, data_object: Any = None, **envelope: Any) -> bytes:
    """A JSON body with a valid envelope around ``data_object`` (default: the valid data)."""
    document: dict[str, Any] = {
        "type": event_type,
        "timestamp": "2025-01-15T10:00:00Z",
        "data": VALID_DATA.get(event_type, {}) if data_object is None else data_object,
    }
    for key, value in envelope.items():
        if value is DROP:
            document.pop(key)
        else:
            document[key] = value
    return json.dumps(document).encode()

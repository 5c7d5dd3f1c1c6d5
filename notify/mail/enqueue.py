"""Notices into outbox rows: one row per email and recipient, each with its Message-ID.

The idempotency key ``{notice key}:{recipient}`` is unique in the outbox, so a notice queued
twice is one email; the Message-ID is derived from that key, so every retry of a message
carries the same one (CONTRACT §4). The context is the handler's, stored as JSON; the row also
keeps the notice's cause.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from billingcore.notices import Notice
from billingcore.state import Subscription
from notify.codec import json_text
from notify.db.models import OutboxStatus
from notify.handlers import Branding, email_for


def idempotency_key(notice_key: str, recipient: str) -> str:
    """``{notice key}:{recipient}``, the recipient lower-cased: one email per address."""
    return f"{notice_key}:{recipient.lower()}"


def message_id(key: str, domain: str) -> str:
    """``<{32 hex digits}@{domain}>``, the same for every attempt of the message ``key``."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def mail_domain(mail_from: str) -> str:
    """The domain of ``NOTIFY_MAIL_FROM``, which Message-IDs are made under."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"


class Enqueuer:
    """Builds the outbox rows of notices for one brand and sender."""

    def __init__(self, branding: Branding, mail_from: str) -> None:
        self.branding = branding
        self._domain = mail_domain(mail_from)

    def rows(
        self,
        state: Subscription,
        notice: Notice,
        numbers: Mapping[str, str],
        at: datetime,
    ) -> list[dict[str, Any]]:
        """One outbox row per recipient of ``notice``'s email, pending from ``at``."""
        spec = email_for(state, notice, self.branding, numbers)
        cause = json_text(notice.cause.to_view())
        encoded: dict[int, str] = {}  # each audience's context is encoded once
        rows = []
        for recipient, copy in spec.letters():
            context = encoded.get(id(copy))
            if context is None:
                context = encoded[id(copy)] = json_text(copy)
            key = idempotency_key(notice.key, recipient)
            rows.append(
                {
                    "idempotency_key": key,
                    "kind": spec.kind,
                    "subscription_id": state.id,
                    "recipient": recipient,
                    "context": context,
                    "cause": cause,
                    "message_id": message_id(key, self._domain),
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": at,
                    "created_at": at,
                }
            )
        return rows

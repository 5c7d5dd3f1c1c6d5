"""Turn one outbox row into the email that goes out: render its kind, then set the headers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol

from notify.delivery.tokens import sign_token

# The kinds a recipient may opt out of (contract, section 4); every other kind is a
# confirmation, invoice or failure and carries no List-Unsubscribe.
REMINDER_KINDS = frozenset({"renewal_reminder", "auto_renewal_upcoming", "payment_method_expiring"})


_CTE = "quoted-printable"


class RenderedLike(Protocol):
    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def html(self) -> str: ...


class Renders(Protocol):
    def render(self, kind: str, context: Mapping[str, Any]) -> RenderedLike: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Letter:
    """What compose needs of an outbox row."""

    kind: str
    subscription_id: str
    recipient: str
    context: str
    message_id: str
    idempotency_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Composer:
    """Builds messages with one renderer, sender and key; cheap to call per email."""

    renderer: Renders
    mail_from: str
    public_url: str
    unsubscribe_key: bytes

    def unsubscribe_url(self, subscription_id: str, recipient: str) -> str:
        token = sign_token(self.unsubscribe_key, subscription_id, recipient)
        return f"{self.public_url.rstrip('/')}/unsubscribe/{token}"

    def compose(self, letter: Letter, now: datetime) -> EmailMessage:
        """The complete message for ``letter``; rendering errors propagate unchanged."""
        context: dict[str, Any] = json.loads(letter.context)
        reminder = letter.kind in REMINDER_KINDS
        unsubscribe = self.unsubscribe_url(letter.subscription_id, letter.recipient)
        if reminder:
            context["unsubscribe_url"] = unsubscribe
        rendered = self.renderer.render(letter.kind, context)
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = letter.recipient
        message["Subject"] = rendered.subject
        message["Date"] = format_datetime(now)
        message["Message-ID"] = letter.message_id
        message["X-Notify-Kind"] = letter.kind
        message["X-Notify-Subscription"] = letter.subscription_id
        message["X-Notify-Idempotency-Key"] = letter.idempotency_key
        if reminder:
            message["List-Unsubscribe"] = f"<{unsubscribe}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        # Quoted-printable: readable in an .eml file and safe for servers without 8BITMIME.
        message.set_content(rendered.text, subtype="plain", charset="utf-8", cte=_CTE)
        message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte=_CTE)
        return message

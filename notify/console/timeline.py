"""One timeline of a subscription's story: what arrived, and under each thing that happened
what it computed and sent.

The admin view (``notify.web.admin.story``) gives events, invoices, notifications and
opt-outs as lists; here each invoice and notification goes under its cause: the event that
made it, or the occasion (a reminder, a reconciliation, a renewal) that fell due on its date.
Entries are in time order: an event at its timestamp, an occasion at 00:00 UTC of its date,
an opt-out when it was made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True, kw_only=True)
class Entry:
    kind: str  # "event", "occasion", "opt-out" or "computed" (a cause not in this story)
    at: str  # RFC 3339, for ordering and display
    title: str
    event: dict[str, Any] | None = None
    opt_out: dict[str, Any] | None = None
    invoices: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)


def _midnight(day: str) -> str:
    return f"{day}T00:00:00+00:00"


def timeline(story: dict[str, Any]) -> list[Entry]:
    """The story's entries, oldest first."""
    events = {
        e["id"]: Entry(kind="event", at=e["timestamp"], title=e["type"], event=e)
        for e in story["events"]
    }
    entries: list[Entry] = list(events.values())
    occasions: dict[tuple[str, str], Entry] = {}
    unknown = Entry(kind="computed", at="", title="Computed before causes were recorded")

    def entry_of(cause: dict[str, Any] | None) -> Entry:
        if cause and "event_id" in cause and cause["event_id"] in events:
            return events[cause["event_id"]]
        if cause and "occasion" in cause:
            key = (cause["occasion"], cause["date"])
            if key not in occasions:
                title = cause["occasion"].replace("_", " ")
                occasions[key] = Entry(kind="occasion", at=_midnight(cause["date"]), title=title)
                entries.append(occasions[key])
            return occasions[key]
        return unknown

    for invoice in story["invoices"]:
        entry_of(invoice["cause"]).invoices.append(invoice)
    for notification in story["notifications"]:
        entry_of(notification["cause"]).notifications.append(notification)
    for opt_out in story["opt_outs"]:
        entries.append(
            Entry(
                kind="opt-out",
                at=opt_out["created_at"],
                title=f"{opt_out['address']} opted out of the reminders",
                opt_out=opt_out,
            )
        )
    if unknown.invoices or unknown.notifications:
        first = [*unknown.invoices, *unknown.notifications]
        unknown.at = min(str(item.get("created_at") or item.get("issued_on")) for item in first)
        entries.append(unknown)
    return sorted(entries, key=lambda e: e.at)

"""Every dispatch table is complete: a forgotten entry fails here, not on a live event.

Event type → wire model → command (the edge), command → rule (the timeline), occasion kind →
rule, notice type → handler → templates (the email path), feed item type → text (the feed).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from billingcore.commands import EVENT_COMMANDS, cause_of
from billingcore.due import COMMAND_RULES, OCCASION_RULES
from billingcore.feed import FEED_TYPES, FeedKind
from billingcore.notices import NOTICE_TYPES, REMINDER_KINDS, NoticeKind
from billingcore.occasion import OccasionKind
from notify import codec
from notify.feed.texts import RENDERERS
from notify.handlers import HANDLERS
from notify.mail.render import KIND_FILES, TEMPLATES_DIR, Renderer
from tests.webhooks.factories import VALID_DATA, body
from webhooks.schemas import EVENT_TYPES, parse_event
from webhooks.translate import _TABLE, COMMAND_TYPES, Origin, to_command


def test_every_event_type_has_a_model_a_translation_and_a_command() -> None:
    """The edge's three tables name the same event types and wire models."""
    assert set(EVENT_TYPES) == set(COMMAND_TYPES) == set(VALID_DATA)
    assert set(_TABLE) == set(EVENT_TYPES.values())
    assert set(COMMAND_TYPES.values()) == set(EVENT_COMMANDS)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_becomes_its_command_and_survives_storage(event_type: str) -> None:
    """A valid body of each type translates into its command class, which the inbox's JSON
    brings back unchanged; the command's key is the webhook id."""
    parsed = parse_event(body(event_type))
    assert not isinstance(parsed.data, dict)
    at = datetime(2025, 1, 15, 10, tzinfo=UTC)
    command = to_command(parsed.data, Origin(key="msg_1", at=at))
    assert type(command) is COMMAND_TYPES[event_type]
    stored = codec.dumps(command)
    assert codec.from_jsonable(COMMAND_TYPES[event_type], json.loads(stored)) == command
    assert cause_of(command).to_view() == {"event_id": "msg_1"}


def test_every_command_and_occasion_has_one_rule() -> None:
    """The timeline has a rule for each event command and for each occasion kind."""
    assert set(COMMAND_RULES) == set(EVENT_COMMANDS)
    assert set(OCCASION_RULES) == set(OccasionKind)


def test_every_notice_has_a_handler_and_templates() -> None:
    """Each notice kind has one class, each class a handler, each kind its template folder with
    subject, MJML and text; the reminder flag is the classes' own."""
    assert set(NOTICE_TYPES) == set(NoticeKind)
    assert set(HANDLERS) == set(NOTICE_TYPES.values())
    for kind in NoticeKind:
        for name in KIND_FILES:
            assert (TEMPLATES_DIR / kind.value / name).is_file(), f"{kind.value}/{name}"
    assert Renderer.load().kinds >= {kind.value for kind in NoticeKind}
    assert {k for k, cls in NOTICE_TYPES.items() if cls.reminder} == REMINDER_KINDS
    assert {k for k in NoticeKind if k.is_reminder} == REMINDER_KINDS


def test_every_feed_kind_has_an_item_type_and_a_text() -> None:
    """Each feed kind has one item class, and each item class its text."""
    assert set(FEED_TYPES) == set(FeedKind)
    assert set(RENDERERS) == set(FEED_TYPES.values())

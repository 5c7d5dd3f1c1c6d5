"""Notice kinds and keys."""

from __future__ import annotations

import pytest

from billingcore.outcomes import NoticeKind, notice


def test_there_are_fifteen_kinds_and_three_reminders() -> None:
    """CONTRACT §4 lists 15 kinds; renewal_reminder, auto_renewal_upcoming and
    payment_method_expiring are the reminders."""
    assert len(NoticeKind) == 15
    assert {k for k in NoticeKind if k.is_reminder} == {
        NoticeKind.RENEWAL_REMINDER,
        NoticeKind.AUTO_RENEWAL_UPCOMING,
        NoticeKind.PAYMENT_METHOD_EXPIRING,
    }


def test_notice_key_and_read_only_facts() -> None:
    """Key "{subscription}:{kind}:{occasion}"; facts cannot be changed."""
    due = notice("S-1", NoticeKind.SEATS_ADDED, "evt-1", seats_added=5)
    assert due.key == "S-1:seats_added:evt-1"
    with pytest.raises(TypeError):
        due.facts["seats_added"] = 6  # type: ignore[index]

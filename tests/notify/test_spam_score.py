"""Deliverability: SpamAssassin scores every kind's English email below 2.0.

Debian's ``spamassassin``, rules as shipped, network tests off (``-L``). ``.ci/run`` installs
it when it is missing; elsewhere the tests are skipped without it, and under ``CI=true`` a
missing scanner fails them. ``pytest -s`` prints each kind's score and rules.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from billingcore.notices import NoticeKind
from notify.config import load_settings
from notify.mail.preview import write_previews

pytestmark = pytest.mark.slow
SPAMASSASSIN = shutil.which("spamassassin")
LIMIT = 2.0
_SCORE = re.compile(r"Content analysis details:\s+\((-?[\d.]+) points")
_RULE = re.compile(r"^\s*(-?\d+\.\d+)\s+([A-Z0-9_]+)\s", re.MULTILINE)


@pytest.fixture(autouse=True)
def _scanner() -> None:
    if SPAMASSASSIN is None:
        message = "spamassassin is not installed (apt-get install spamassassin)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def score(message: bytes) -> tuple[float, list[str]]:
    """SpamAssassin's score of ``message`` and the rules that scored."""
    assert SPAMASSASSIN is not None
    done = subprocess.run(
        [SPAMASSASSIN, "-L", "-t"], input=message, capture_output=True, timeout=120, check=True
    )
    report = done.stdout.decode(errors="replace")
    found = _SCORE.search(report)
    assert found, report[-2000:]
    tail = report[found.end() :]
    rules = [f"{name} {points}" for points, name in _RULE.findall(tail) if float(points) != 0]
    return float(found.group(1)), rules


def test_every_kind_in_english_scores_below_two(tmp_path: Path) -> None:
    """One email of every kind, composed as sent (a real sender domain, Reply-To), scores
    below 2.0."""
    settings = load_settings(
        {
            "NOTIFY_MAIL_FROM": "GitLab Billing <billing@gitlab.example.com>",
            "NOTIFY_REPLY_TO": "GitLab Support <support@gitlab.example.com>",
            "NOTIFY_PUBLIC_URL": "https://notify.gitlab.example.com",
        }
    )
    written = write_previews(tmp_path, settings, languages=["en"])
    chosen = {}
    for w in written:
        if w.kind not in chosen or w.name == w.kind:
            chosen[w.kind] = tmp_path / "en" / f"{w.name}.eml"
    assert set(chosen) == {k.value for k in NoticeKind}
    with ThreadPoolExecutor(max_workers=2) as pool:
        scores = dict(
            zip(chosen, pool.map(lambda p: score(p.read_bytes()), chosen.values()), strict=True)
        )
    for kind, (points, rules) in sorted(scores.items()):
        print(f"{kind:28} {points:5.1f}  {' '.join(rules)}")
    assert {kind: s for kind, (s, _) in scores.items() if s >= LIMIT} == {}


def test_the_scanner_is_awake() -> None:
    """The same scanner scores a spammer's message above the limit, so a low score means
    something."""
    spam = (
        b"From: Winner Notification <winner@lottery.example>\r\nTo: you@example.com\r\n"
        b"Subject: =?utf-8?q?FREE_MONEY!!!_Claim_your_$1,000,000_PRIZE_NOW?=\r\n"
        b"Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@lottery.example>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><body><font color='#ffffff'>viagra cialis</font><b>100% FREE!!! Act now, "
        b"limited time offer! Click here to claim your prize, no credit check, "
        b"guaranteed winner, send your bank account details today!!!</b></body></html>\r\n"
    )
    points, rules = score(spam)
    assert points >= LIMIT, rules

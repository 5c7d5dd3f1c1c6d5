"""The feed's parts on their own: texts, tags, buckets, the token cache and the version reader."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError

from billingcore.catalog import Tier
from billingcore.dates import Term
from billingcore.feed import FEED_TYPES, FeedItem, FeedKind, Severity
from billingcore.money import Money
from billingcore.state import Channel, Partner
from notify.db.engine import create_engine
from notify.feed.ratelimit import RateLimit, TokenBuckets
from notify.feed.sync import ITEMS, VERSIONS, audience_of, bump_versions, etag, item_id
from notify.feed.texts import RENDERERS, render
from notify.feed.tokens import InvalidAudience, TokenCache, audience_key, create_token, hash_token
from notify.feed.versions import VersionReader
from notify.handlers import Branding
from tests.billingcore.factories import subscription

BRAND = Branding(brand="Acme Cloud", portal_url="https://portal.example")


def item(kind: FeedKind, **values: Any) -> FeedItem:
    build: Any = FEED_TYPES[kind]  # each item class takes these four fields and its own
    made: FeedItem = build(
        key=f"S-1:{kind.value}:x",
        severity=Severity.INFO,
        expires_at=None,
        dismissible=True,
        **values,
    )
    return made


def test_every_kind_has_its_text() -> None:
    """Each feed kind has one item class, and each item class its text."""
    assert set(FEED_TYPES) == set(FeedKind)
    assert set(RENDERERS) == set(FEED_TYPES.values())


@pytest.mark.parametrize(
    ("kind", "values", "title", "body_part", "cta"),
    [
        (
            FeedKind.RENEWAL_UPCOMING,
            {
                "term_end": date(2027, 1, 1),
                "days_left": 1,
                "auto_renew": True,
                "channel": Channel.DIRECT,
                "amount": Money.of("3480.00", "USD"),
            },
            "Your Acme Cloud subscription renews in 1 day",
            "renews automatically on January 1, 2027 for $3,480.00",
            ("Review subscription", "https://portal.example/subscriptions/S-1"),
        ),
        (
            FeedKind.RENEWAL_UPCOMING,
            {
                "term_end": date(2027, 1, 1),
                "days_left": 7,
                "auto_renew": False,
                "channel": Channel.DIRECT,
                "amount": None,
            },
            "Your Acme Cloud subscription expires in 7 days",
            "will not renew automatically",
            ("Renew subscription", "https://portal.example/subscriptions/S-1/renew"),
        ),
        (
            FeedKind.AUTO_RENEWAL_FAILED,
            {
                "grace_ends": date(2027, 1, 15),
                "term": Term(start=date(2026, 1, 1), end=date(2027, 1, 1)),
            },
            "We could not renew your Acme Cloud subscription",
            "before January 15, 2027",
            ("Update payment method", "https://portal.example/payment_methods"),
        ),
        (
            FeedKind.SUBSCRIPTION_EXPIRED,
            {"expired_on": date(2027, 1, 1), "tier": Tier.ULTIMATE},
            "Your Acme Cloud subscription has expired",
            "Acme Cloud Ultimate subscription expired on January 1, 2027",
            ("Renew subscription", "https://portal.example/subscriptions/S-1/renew"),
        ),
        (
            FeedKind.SEAT_OVERAGE,
            {"billable_users": 15, "seats_paid_for": 10, "overage": 5, "billed_by_qsr": True},
            "You are 5 users over your 10 seats",
            "the overage will be billed at the next quarterly reconciliation",
            ("Add seats", "https://portal.example/subscriptions/S-1/seats"),
        ),
        (
            FeedKind.SEAT_OVERAGE,
            {"billable_users": 2, "seats_paid_for": 1, "overage": 1, "billed_by_qsr": False},
            "You are 1 user over your 1 seat",
            "billed at renewal, in the annual true-up",
            ("Add seats", "https://portal.example/subscriptions/S-1/seats"),
        ),
        (
            FeedKind.SEATS_REMAINING,
            {"billable_users": 10, "seats_paid_for": 10, "seats_left": 0},
            "You have used all 10 of your seats",
            "10 billable users on 10 seats",
            ("Add seats", "https://portal.example/subscriptions/S-1/seats"),
        ),
        (
            FeedKind.QSR_UPCOMING,
            {
                "quarter": 1,
                "reconciliation_date": date(2026, 4, 1),
                "overage": 2,
                "amount": Money.of("522.00", "USD"),
            },
            "Quarterly reconciliation on April 1, 2026",
            "$522.00",
            ("Review seats", "https://portal.example/subscriptions/S-1/seats"),
        ),
    ],
)
def test_texts(
    kind: FeedKind, values: dict[str, Any], title: str, body_part: str, cta: tuple[str, str]
) -> None:
    text = render(subscription(), item(kind, **values), BRAND)
    assert text.title == title
    assert body_part in text.body
    assert text.cta is not None and (text.cta.label, text.cta.url) == cta


def test_partner_subscriptions_are_sent_to_their_partner() -> None:
    """A partner handles renewals: the text names them; an expired one has no portal link."""
    sold = subscription(
        channel=Channel.PARTNER, partner=Partner(name="Reseller Ltd", email="p@reseller.test")
    )
    upcoming = item(
        FeedKind.RENEWAL_UPCOMING,
        term_end=date(2027, 1, 1),
        days_left=3,
        auto_renew=False,
        channel=Channel.PARTNER,
        amount=None,
    )
    assert "Contact Reseller Ltd to renew it" in render(sold, upcoming, BRAND).body
    expired = render(
        sold,
        item(FeedKind.SUBSCRIPTION_EXPIRED, expired_on=date(2027, 1, 1), tier=Tier.PREMIUM),
        BRAND,
    )
    assert "Contact Reseller Ltd" in expired.body and expired.cta is None


def test_dates_and_money_follow_the_customer_locale() -> None:
    german = subscription()
    german = replace(german, customer=replace(german.customer, locale="de"))
    text = render(
        german,
        item(
            FeedKind.QSR_UPCOMING,
            quarter=1,
            reconciliation_date=date(2026, 4, 1),
            overage=2,
            amount=Money.of("1522.00", "EUR"),
        ),
        BRAND,
    )
    assert "1. April 2026" in text.title
    assert "1.522,00\xa0€" in text.body


def test_audiences_and_ids() -> None:
    saas = subscription()
    assert audience_of(saas) == "namespace:ns-1"
    assert audience_of(replace(saas, namespace_id=None)) is None
    from billingcore.state import Deployment

    managed = replace(saas, deployment=Deployment.SELF_MANAGED, namespace_id=None)
    assert audience_of(managed) is None
    assert audience_of(replace(managed, instance_id="i-1")) == "instance:i-1"
    assert item_id("S-1", "S-1:seat_overage:2026-01-01") == item_id(
        "S-1", "S-1:seat_overage:2026-01-01"
    )
    assert item_id("S-1", "k").startswith("fi_") and len(item_id("S-1", "k")) == 27
    assert item_id("S-1", "k") != item_id("S-2", "k")


@pytest.mark.parametrize(
    ("namespace", "instance"),
    [(None, None), ("a", "b"), ("", None), (None, " x"), ("x" * 129, None), ("a\nb", None)],
)
def test_bad_audiences_are_refused(namespace: str | None, instance: str | None) -> None:
    with pytest.raises(InvalidAudience):
        audience_key(namespace, instance)


def test_etag_counts_the_expiries_passed() -> None:
    """Same version, an expiry passed: another tag; nothing recorded: the version alone."""
    at = datetime(2027, 1, 1, tzinfo=UTC)
    micros = int(at.timestamp()) * 1_000_000
    expiries = f"{micros} {micros + 86_400_000_000}"
    before = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert etag(3, expiries, before) == '"3.0"'
    assert etag(3, expiries, at) == '"3.1"'
    assert etag(3, expiries, datetime(2027, 1, 2, tzinfo=UTC)) == '"3.2"'
    assert etag(3, "", at) == '"3.0"'


def test_buckets_refill_and_say_how_long_to_wait() -> None:
    moment = [0.0]
    buckets = TokenBuckets(RateLimit(per_second=2.0, burst=3), monotonic=lambda: moment[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0.0  # independent
    moment[0] = 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(0.5)
    moment[0] = 100.0
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]  # capped at the burst


def test_buckets_drop_idle_entries_when_full() -> None:
    moment = [0.0]
    buckets = TokenBuckets(
        RateLimit(per_second=1.0, burst=2), monotonic=lambda: moment[0], max_entries=3
    )
    for key in "abc":
        buckets.take(key)
    moment[0] = 10.0  # a, b, c are full again: as good as absent
    buckets.take("a")
    buckets.take("d")
    assert len(buckets) == 2
    busy = TokenBuckets(RateLimit(per_second=1.0, burst=2), monotonic=lambda: 0.0, max_entries=2)
    for key in "abc":
        assert busy.take(key) == 0.0
    assert len(busy) == 1  # nothing idle to drop: start over


def count_queries(engine: Any) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    return seen


class CountingReader(VersionReader):
    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self.batches: list[list[str]] = []

    async def _fetch(self, audiences: list[str]) -> dict[str, tuple[int, str]]:
        self.batches.append(audiences)
        return await super()._fetch(audiences)


async def test_concurrent_version_reads_share_one_query(db_url: str) -> None:
    engine = create_engine(db_url)
    reader = CountingReader(engine)
    try:
        async with engine.begin() as conn:
            await bump_versions(conn, ["namespace:a"], datetime(2026, 1, 1, tzinfo=UTC))
        assert await reader.read("namespace:a") == (1, "")
        answers = await asyncio.gather(
            *(reader.read(a) for a in ["namespace:a", "namespace:b", "namespace:a"] * 10)
        )
        assert reader.batches[1:] == [["namespace:a", "namespace:b"]]
        assert answers[:3] == [(1, ""), (0, ""), (1, "")]
        async with engine.begin() as conn:
            await bump_versions(conn, ["namespace:a"], datetime(2026, 1, 2, tzinfo=UTC))
        assert await reader.read("namespace:a") == (2, "")  # never cached
    finally:
        await reader.close()
        await engine.dispose()


async def test_a_broken_reader_connection_is_replaced(db_url: str) -> None:
    engine = create_engine(db_url)
    reader = VersionReader(engine)
    try:
        assert await reader.read("namespace:a") == (0, "")
        await reader._driver.close()  # the connection dies under the reader
        with pytest.raises(Exception):  # noqa: B017  (each driver raises its own error)
            await reader.read("namespace:a")
        assert await reader.read("namespace:a") == (0, "")
    finally:
        await reader.close()
        await engine.dispose()


async def test_token_lookups_are_cached(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        token = await create_token(engine, instance_id="i-1")
        cache = TokenCache(engine, ttl=60)
        queries = count_queries(engine)
        for _ in range(3):
            assert await cache.audience(hash_token(token)) == "instance:i-1"
            assert await cache.audience(hash_token("nft_unknown")) is None
        assert len(queries) == 2
        expired = TokenCache(engine, ttl=0)
        await expired.audience(hash_token(token))
        await expired.audience(hash_token(token))
        assert len(queries) == 4
    finally:
        await engine.dispose()


async def test_a_failed_version_read_reaches_every_waiting_request() -> None:
    # A refused port, not an unopenable SQLite path: aiosqlite's failed connect leaves a thread
    # that later posts to the closed event loop.
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    try:
        reader = VersionReader(engine)
        results = await asyncio.gather(
            reader.read("namespace:a"), reader.read("namespace:b"), return_exceptions=True
        )
        assert len(results) == 2
        assert all(isinstance(r, DBAPIError | OSError) for r in results), results
    finally:
        await engine.dispose()


async def test_one_bump_of_several_audiences_keeps_each_ones_expiries(db_url: str) -> None:
    """Versions are bumped for a whole batch at once: each audience counts one change and records
    only its own expiries still ahead, in order."""
    engine = create_engine(db_url)
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def item(id_: str, audience: str, day: int | None) -> dict[str, Any]:
        return {
            "id": id_,
            "key": id_,
            "audience": audience,
            "subscription_id": "sub_1",
            "kind": "renewal_upcoming",
            "severity": "info",
            "title": "t",
            "body": "b",
            "dismissible": True,
            "expires_at": None if day is None else datetime(2026, 1, day, tzinfo=UTC),
            "created_at": now,
            "updated_at": now,
        }

    try:
        async with engine.begin() as conn:
            await conn.execute(
                ITEMS.insert(),
                [
                    item("a2", "namespace:a", 9),
                    item("a1", "namespace:a", 5),
                    item("b1", "namespace:b", 7),
                    item("b0", "namespace:b", None),
                    item("gone", "namespace:b", 1),  # expired before now is not ahead
                ],
            )
            await bump_versions(conn, ["namespace:b", "namespace:a", "namespace:b"], now)
            await bump_versions(conn, ["namespace:a"], now)
            rows = await conn.execute(select(VERSIONS).order_by(VERSIONS.c.audience))
            versions = {r.audience: (r.version, r.expiries) for r in rows}
    finally:
        await engine.dispose()
    day = 86_400_000_000
    epoch_days = (datetime(2026, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).days
    assert versions == {
        "namespace:a": (2, f"{(epoch_days + 4) * day} {(epoch_days + 8) * day}"),
        "namespace:b": (1, f"{(epoch_days + 6) * day}"),
    }


@pytest.mark.parametrize(
    ("locale", "title", "body_part", "cta"),
    [
        (
            "de",
            "Ihr Acme Cloud-Abonnement läuft in 3 Tagen ab",
            "Es endet am",
            "Abonnement verlängern",
        ),
        (
            "fr",
            "Votre abonnement Acme Cloud expire dans 3 jours",
            "Il prend fin le",
            "Renouveler l’abonnement",
        ),
        ("es", "Su suscripción a Acme Cloud vence en 3 días", "Termina el", "Renovar suscripción"),
        (
            "ja",
            "Acme Cloudサブスクリプションはあと3日で終了します",
            "に終了し",
            "サブスクリプションを更新",
        ),
        (
            "pt-BR",
            "Sua assinatura do Acme Cloud vence em 3 dias",
            "Ela termina em",
            "Renovar assinatura",
        ),
        (
            "de-AT",
            "Ihr Acme Cloud-Abonnement läuft in 3 Tagen ab",
            "Jänner",
            "Abonnement verlängern",
        ),
    ],
)
def test_items_are_written_in_the_customers_language(
    locale: str, title: str, body_part: str, cta: str
) -> None:
    """CONTRACT §4: every feed item in the customer's language, a region reading its
    language's words in its own date format."""
    state = subscription()
    state = replace(state, customer=replace(state.customer, locale=locale))
    upcoming = item(
        FeedKind.RENEWAL_UPCOMING,
        term_end=date(2027, 1, 1),
        days_left=3,
        auto_renew=False,
        channel=Channel.DIRECT,
        amount=None,
    )
    text = render(state, upcoming, BRAND)
    assert text.title == title
    assert body_part in text.body
    assert text.cta is not None and text.cta.label == cta

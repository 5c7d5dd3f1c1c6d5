"""The console in a real browser, as a support person uses it, on each database.

Playwright drives Debian's chromium-headless-shell against a real ``notify serve`` seeded by
``tests.console.story`` (signed webhooks, the test clock, a real SMTP server).
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import pytest

from tests.console import story
from tests.console.conftest import AXE, Console, sign_in, text_of
from tests.processes import http

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]


def received(console: Console, kind: str, recipient: str | None = None) -> EmailMessage:
    for item in console.smtp.received:
        message = item.message
        if message["X-Notify-Kind"] == kind and recipient in (None, item.recipient):
            return message
    raise AssertionError(f"no {kind} email was received")


async def test_sign_in_cookie_flags_and_sign_out(browser: Any, console: Console) -> None:
    """The admin token signs in; the cookie is HttpOnly, SameSite=Strict, on /admin/, not
    Secure over http; signing out ends the session and its pages ask to sign in again."""
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, console)
    assert await page.get_by_role("heading", name="Find a subscription").is_visible()
    [cookie] = [c for c in await context.cookies() if c["name"] == "notify_console"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/admin/")
    assert cookie["secure"] is False and cookie["expires"] == -1  # a browser-session cookie
    await page.get_by_role("button", name="Sign out").click()
    assert "Signed out." in await text_of(page)
    await page.goto(f"{console.url}/admin/outbox")
    assert page.url.startswith(f"{console.url}/admin/sign-in")
    await context.close()


async def test_a_wrong_token_is_refused(browser: Any, console: Console) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, console, token="not-the-token-at-all")
    assert "That is not the admin token." in await text_of(page)
    await page.goto(f"{console.url}/admin/")
    assert await page.get_by_label("Admin token").is_visible()
    await context.close()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("acme corp", "sub_acme"),
        ("ap@acme.example", "sub_acme"),
        ("globex", "sub_globex"),
        ("initech-eu", "sub_initech"),
        ("acme-group", "sub_acme"),
    ],
)
async def test_search_by_name_email_and_namespace(page: Any, query: str, expected: str) -> None:
    await page.get_by_label(re.compile("Customer name")).fill(query)
    await page.get_by_role("button", name="Search").click()
    rows = page.locator("main table tbody tr")
    assert (await rows.count()) == 1
    assert expected in (await rows.first.inner_text())


async def test_the_subscription_page_shows_the_numbers_of_the_emails(
    page: Any, console: Console
) -> None:
    """The amounts, dates and invoice numbers of Acme's confirmation and reconciliation emails
    are on its page, with the eligibility in words and the chart."""
    await page.get_by_label(re.compile("Customer name")).fill("Acme Corp")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name="sub_acme").click()
    shown = await text_of(page)
    confirmation = received(console, "subscription_confirmation", "billing@acme.example")
    reconciled = received(console, "qsr_reconciled", "billing@acme.example")
    for message in (confirmation, reconciled):
        text = message.get_body(preferencelist=("plain",)).get_content()
        number = re.search(r"INV-\d{6}", text)
        assert number is not None and number.group(0) in shown
        for amount in re.findall(r"\$[0-9][0-9,]*\.\d{2}", text):
            assert amount in shown, amount
        for day in re.findall(r"\((\d{4}-\d{2}-\d{2})", text):
            assert day in shown, day
    assert "Quarterly reconciliation: yes" in shown
    assert (await page.locator("svg[role=img] path.users").count()) == 1
    assert (await page.locator("svg[role=img] line.quarter").count()) == 3
    assert "4 users over × $348.00 × 3/4 quarters left" in shown


async def test_an_email_opens_as_sent(page: Any, console: Console) -> None:
    """The notification page frames the HTML part the server received, sandboxed without
    scripts, and shows its text part as received."""
    await page.goto(f"{console.url}/admin/subscriptions/sub_acme")
    await page.get_by_role("link", name=re.compile("reconciled")).first.click()
    assert "As sent" in await text_of(page)
    sent = received(console, "qsr_reconciled", (await page.locator("dd").nth(1).inner_text()))
    frame = page.locator("iframe.email")
    assert (await frame.get_attribute("sandbox")) == ""  # no scripts, no same origin
    framed = await page.request.get(f"{console.url}{(await frame.get_attribute('src'))}")
    assert "sandbox" in framed.headers["content-security-policy"]
    html = sent.get_body(preferencelist=("html",)).get_content()
    assert lines(await framed.text()) == lines(html)
    reconciled = await page.frame_locator("iframe.email").locator("body").inner_text()
    assert "INV-" in reconciled
    text = sent.get_body(preferencelist=("plain",)).get_content()
    assert lines(await page.locator("pre.text-part").inner_text()) == lines(text)


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n")]


async def test_requeue_and_lift_through_the_forms(page: Any, console: Console) -> None:
    """Globex's refused email is failed: requeued from the outbox it is pending again (and,
    its address still suppressed, recorded suppressed); the suppression and Initech's opt-out
    are lifted from their page."""
    await page.goto(f"{console.url}/admin/outbox?status=failed")
    row = page.locator("tr", has_text=story.REFUSED).first
    await row.get_by_role("button", name=re.compile("Requeue")).click()
    assert "is pending again" in await text_of(page)
    await page.goto(f"{console.url}/admin/suppressions")
    await page.get_by_role("button", name=f"Lift the suppression of {story.REFUSED}").click()
    assert f"{story.REFUSED} is mailed again." in await text_of(page)
    await page.get_by_role("button", name=re.compile("Lift the opt-out of billing@initech")).click()
    assert "gets the reminders of sub_initech again" in await text_of(page)
    _status, view = http(
        "GET", f"{console.url}/admin/api/v1/subscriptions/sub_initech", headers=story.ADMIN
    )
    assert view["opt_outs"] == []
    _status, listed = http("GET", f"{console.url}/admin/api/v1/suppressions", headers=story.ADMIN)
    assert listed["items"] == []


async def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(
    page: Any, console: Console
) -> None:
    before = http("GET", f"{console.url}/admin/api/v1/outbox?status=failed", headers=story.ADMIN)
    answer = await page.request.post(
        f"{console.url}/admin/opt-outs/lift",
        form={"subscription_id": "sub_initech", "address": "billing@initech.example"},
        max_redirects=0,
    )
    assert answer.status == 403
    assert answer.headers["content-type"].startswith("application/problem+json")
    after = http("GET", f"{console.url}/admin/api/v1/outbox?status=failed", headers=story.ADMIN)
    assert after == before


async def test_the_pages_work_with_javascript_disabled(browser: Any, console: Console) -> None:
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await sign_in(page, console)
    await page.get_by_label(re.compile("Customer name")).fill("globex")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name="sub_globex").click()
    assert "Timeline" in await text_of(page)
    await page.goto(f"{console.url}/admin/emails/en/qsr_notice")
    assert "a billing contact of Acme Corp." in (await page.locator("pre.text-part").inner_text())
    assert (await page.locator("iframe.email").count()) == 1
    await context.close()


PAGES = [
    "/admin/sign-in",
    "/admin/",
    "/admin/?q=acme",
    "/admin/subscriptions/sub_acme",
    "/admin/subscriptions/sub_initech",
    "/admin/outbox?status=failed",
    "/admin/outbox?status=pending",
    "/admin/suppressions",
    "/admin/emails",
    "/admin/emails/de/qsr_notice",
    "/admin/notifications/1",
]


async def test_axe_finds_no_serious_or_critical_violation_on_any_page(
    browser: Any, console: Console
) -> None:
    """axe-core 4.14 (vendored, tests/console/vendor) on every page of the console."""
    context = await browser.new_context(bypass_csp=True)  # to inject axe into pages without scripts
    page = await context.new_page()
    await sign_in(page, console)
    found = {}
    for path in PAGES:
        await page.goto(f"{console.url}{path}")
        await page.add_script_tag(path=str(AXE))
        result = await page.evaluate("async () => await axe.run(document)")
        bad = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])})"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if bad:
            found[path] = bad
    assert found == {}
    await context.close()

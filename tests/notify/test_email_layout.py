"""The emails in a real browser: readable on a phone (375 px) and on a desktop (600 px).

Chromium (Debian's chromium-headless-shell, driven by Playwright) renders every sample of
every kind in English and German, the longest words of the six languages. No page scrolls
sideways, no element is wider than its box, and no word is split over two lines (what a
cell squeezed narrower than its longest word does). Without the browser these tests are
skipped, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notify.handlers import Branding
from notify.mail.render import Renderer
from notify.mail.samples import samples

BROWSER = Path(os.environ.get("NOTIFY_TEST_CHROMIUM", "/usr/bin/chromium-headless-shell"))
IN_CI = os.environ.get("CI", "").lower() == "true"
BRAND = Branding(brand="GitLab", portal_url="https://customers.example.com")
WIDTHS = (375, 600)

# Each visible word (split at spaces and hyphens, where a line may break) must sit on one
# line; every text container must hold its content; the page must not scroll sideways.
MEASURE = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const words = /[^\\s\\-\\u2010]+/g;
    for (let m = words.exec(node.textContent); m; m = words.exec(node.textContent)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
                           .map(r => Math.round(r.top)));
      if (tops.size > 1) broken.push(m[0]);
    }
  }
  const overflowing = [...document.querySelectorAll("td, div, p, li, a")]
    .filter(el => el.getClientRects().length && el.scrollWidth > el.clientWidth + 1
                  && getComputedStyle(el).overflow !== "hidden")
    .map(el => el.tagName + ": " + el.textContent.trim().slice(0, 60));
  return {scroll: document.documentElement.scrollWidth, width: window.innerWidth,
          broken, overflowing};
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for this module's tests (the only ones that use it): Playwright's sync API
    keeps an event loop running in the thread while it is open, which the asyncio tests of
    other modules in the same process could not run beside."""
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        problem = f"Playwright is not installed: {exc}"
    if problem is None and not BROWSER.exists():
        problem = f"no browser at {BROWSER} (apt-get install chromium-headless-shell)"
    if problem is not None:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(BROWSER))
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def pages(browser: Any) -> Iterator[dict[int, Any]]:
    """One page per width, reused for every email."""
    opened = {width: browser.new_page(viewport={"width": width, "height": 900}) for width in WIDTHS}
    yield opened
    for page in opened.values():
        page.close()


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_email_fits_a_phone_and_a_desktop(pages: dict[int, Any], language: str) -> None:
    """At 375 and 600 px: no sideways scroll, nothing overflowing, no word split."""
    renderer = Renderer.shipped()
    failures = []
    for sample in samples(language):
        context = {**sample.context(BRAND), "unsubscribe_url": "https://n.test/unsubscribe/t"}
        html = renderer.render(sample.kind.value, context).html
        for width, page in pages.items():
            page.set_content(html, wait_until="load")
            seen = page.evaluate(MEASURE)
            if seen["scroll"] > seen["width"] or seen["broken"] or seen["overflowing"]:
                failures.append((sample.name, width, seen))
    assert not failures, failures[:5]


def test_a_squeezed_cell_is_caught(pages: dict[int, Any]) -> None:
    """The measure sees what the issue saw: a no-wrap label squeezing its value at 375 px."""
    page = pages[375]
    label = "True-up, 30 users over your seats last term and more words still " * 2
    page.set_content(
        '<table style="width:100%"><tr><td style="white-space:nowrap">' + label + "</td>"
        '<td style="word-break:break-word">$10,440.00</td></tr></table>'
    )
    seen = page.evaluate(MEASURE)
    assert seen["scroll"] > seen["width"] or seen["broken"]

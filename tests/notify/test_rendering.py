"""Rendering: every kind renders from its handler's context, compiled once, escaped right."""

from __future__ import annotations

import html as htmllib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest

from billingcore.money import Money
from billingcore.notices import NoticeKind
from billingcore.state import Customer
from notify.handlers import EmailSpec, email_for
from notify.mail.render import (
    TEMPLATES_DIR,
    Rendered,
    Renderer,
    SubjectError,
    TemplateLoadError,
    UnknownKind,
    compile_mjml,
)
from tests.notify.test_handlers import (
    BRAND,
    NBSP,
    NOTICES,
    PORTAL,
    direct_story,
    partner_story,
    start,
)
from tests.pages import page_language

UNSUBSCRIBE = "http://127.0.0.1:8080/unsubscribe/tok-123"
FIXED_SUBJECTS = {
    NoticeKind.QSR_NOTICE: "Important information about your GitLab subscription",
    NoticeKind.QSR_RECONCILED: "Your GitLab subscription has been reconciled",
    NoticeKind.QSR_FAILED: "Action required: Your GitLab subscription failed to reconcile",
    NoticeKind.MANAGING_USERS: "Managing users in your subscription",
}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer.shipped()


def send_context(spec: EmailSpec) -> dict[str, Any]:
    """The context as the delivery worker completes it: reminders get an unsubscribe URL."""
    reminder = NoticeKind(spec.kind).is_reminder
    return {**spec.context, "unsubscribe_url": UNSUBSCRIBE} if reminder else spec.context


def rendered(renderer: Renderer, spec: EmailSpec) -> Rendered:
    return renderer.render(spec.kind, send_context(spec))


def visible(html: str) -> str:
    """The HTML's text as a reader sees it: tags dropped, entities decoded, spaces folded."""
    body = html[html.index("<body") :]
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", body))
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def specs() -> Iterator[tuple[str, EmailSpec]]:
    for name, state, notice, numbers in NOTICES:
        yield name, email_for(state, notice, BRAND, numbers)


SPECS = list(specs())


@pytest.mark.parametrize(("name", "spec"), SPECS, ids=[name for name, _ in SPECS])
def test_every_kind_renders_completely(renderer: Renderer, name: str, spec: EmailSpec) -> None:
    """No Jinja2 or MJML is left; both parts name the customer; the subject is one line."""
    out = rendered(renderer, spec)
    for leftover in ("{{", "{%", "}}", "%}", "<mj-", "jinjaplaceholder"):
        assert leftover not in out.html
        assert leftover not in out.text
    assert out.html.startswith("<!doctype html>")
    assert "Acme Corp" in out.text and "Acme Corp" in visible(out.html)
    assert out.subject and "\n" not in out.subject and out.subject == out.subject.strip()
    assert f"<title>{htmllib.escape(out.subject, quote=False)}</title>" in out.html
    reminder = NoticeKind(spec.kind).is_reminder
    assert (UNSUBSCRIBE in out.text) is reminder
    assert (UNSUBSCRIBE in out.html) is reminder


def test_the_fixed_subjects_are_exact(renderer: Renderer) -> None:
    """CONTRACT §4 fixes four subjects word for word."""
    seen = {kind: "" for kind in FIXED_SUBJECTS}
    for _, spec in SPECS:
        kind = NoticeKind(spec.kind)
        if kind in FIXED_SUBJECTS:
            seen[kind] = rendered(renderer, spec).subject
    assert seen == FIXED_SUBJECTS


def test_amounts_and_dates_appear_in_both_parts(renderer: Renderer) -> None:
    """The contract's figures are in the text part and in the HTML a reader sees."""
    story = direct_story()
    expected = {
        NoticeKind.SEATS_ADDED: ["$877.15", "184 days", "July 1, 2026", "19 seats"],
        NoticeKind.UPGRADE_CONFIRMATION: ["-$1,666.59", "$5,689.38", "$4,022.79", "Ultimate"],
        NoticeKind.QSR_NOTICE: ["$1,044.00", "April 8, 2026", "3 quarters", "14 users"],
        NoticeKind.QSR_RECONCILED: ["$1,044.00", "14 seats", "April 1, 2026"],
        NoticeKind.QSR_FAILED: ["$1,044.00", "4242", f"{PORTAL}/payment_methods"],
        NoticeKind.AUTO_RENEWAL_UPCOMING: ["$22,572.00", "January 1, 2027", "19", "4242"],
        NoticeKind.RENEWAL_CONFIRMATION: ["$22,572.00", "January 1, 2028", "renewed automatically"],
        NoticeKind.AUTO_RENEWAL_FAILED: ["$22,572.00", "January 16, 2027"],
        NoticeKind.SUBSCRIPTION_EXPIRED: ["January 16, 2027", "Ultimate", f"{PORTAL}/"],
        NoticeKind.MANAGING_USERS: ["April 1, 2027", "July 1, 2027", "October 1, 2027"],
    }
    for kind, figures in expected.items():
        out = rendered(renderer, story.email(kind))
        for figure in figures:
            assert figure in out.text, (kind, figure)
            assert figure in visible(out.html) or figure in out.html, (kind, figure)
    confirmation = rendered(renderer, start().email(NoticeKind.SUBSCRIPTION_CONFIRMATION))
    for figure in ("$3,480.00", "10 × $348.00", "January 1, 2026", "2027-01-01", "Premium"):
        assert figure in confirmation.text
    for figure in ("$3,480.00", "10 × $348.00", "January 1, 2026", "Premium"):
        assert figure in visible(confirmation.html)


def test_iso_dates_stay_in_the_text_part(renderer: Renderer) -> None:
    """Key dates carry their ISO form next to the spelled-out one."""
    out = rendered(renderer, direct_story().email(NoticeKind.QSR_NOTICE))
    assert "April 8, 2026 (2026-04-08)" in out.text


def test_a_german_customer_reads_euros_and_german_dates(renderer: Renderer) -> None:
    """Locale ``de``: 5.000,00 € and 1. Januar 2026 in both parts."""
    customer = Customer(id="C-2", name="Muster AG", email="r@muster.test", locale="de")
    story = start(customer=customer, seats=5, currency="EUR", unit_price=Money.of("1000.00", "EUR"))
    out = rendered(renderer, story.email(NoticeKind.SUBSCRIPTION_CONFIRMATION))
    for figure in (f"5.000,00{NBSP}€", "1. Januar 2026", "Muster AG"):
        assert figure in out.text
        assert figure in visible(out.html)
    assert page_language(out.html) == "de"


def test_html_in_the_customer_name_is_escaped_in_html_and_plain_in_text(
    renderer: Renderer,
) -> None:
    """A name like ``<script>alert(1)</script> & Co`` is text in HTML, verbatim in text."""
    name = "<script>alert(1)</script> & Co"
    customer = Customer(id="C-5", name=name, email="x@co.test")
    for spec in (
        start(customer=customer).email(NoticeKind.SUBSCRIPTION_CONFIRMATION),
        partner_story().email(NoticeKind.RENEWAL_REMINDER),
    ):
        spec = EmailSpec(
            kind=spec.kind,
            recipients=spec.recipients,
            context={**spec.context, "customer_name": name},
        )
        out = rendered(renderer, spec)
        assert "<script>" not in out.html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in out.html
        assert name in out.text
        assert name in visible(out.html)


def test_quotes_in_values_cannot_leave_an_attribute(renderer: Renderer) -> None:
    """A portal URL with a quote is escaped inside href, so no attribute can be injected."""
    story = start()
    base = story.email(NoticeKind.SUBSCRIPTION_CONFIRMATION)
    links = {**base.context["links"], "subscription": 'https://x.test/" onclick="evil()'}
    out = renderer.render(base.kind, {**base.context, "links": links})
    assert 'onclick="evil()' not in out.html
    assert "https://x.test/&#34; onclick=&#34;evil()" in out.html


def test_partner_variant_names_the_partner_and_has_no_self_service_links(
    renderer: Renderer,
) -> None:
    """Partner subscriptions are told to contact the partner; no portal link is offered."""
    partner_specs = [(n, s) for n, s in SPECS if n.startswith("partner:")]
    assert {s.kind for _, s in partner_specs} >= {"subscription_confirmation", "renewal_reminder"}
    for _, spec in partner_specs:
        out = rendered(renderer, spec)
        for part in (out.text, out.html):
            assert PORTAL not in part, spec.kind
            assert "Reseller GmbH" in part, spec.kind
            assert "orders@reseller.test" in part, spec.kind
    reminder = rendered(renderer, partner_story().email(NoticeKind.RENEWAL_REMINDER))
    assert "contact Reseller GmbH at orders@reseller.test" in reminder.text


def test_direct_variant_links_to_the_portal(renderer: Renderer) -> None:
    """Direct customers get the portal links that let them act at once."""
    story = direct_story()
    assert f'href="{PORTAL}/subscriptions/S-1/seats"' in (
        rendered(renderer, story.email(NoticeKind.QSR_NOTICE)).html
    )
    reminder = start(auto_renew=False).until("2026-10-04").email(NoticeKind.RENEWAL_REMINDER)
    out = rendered(renderer, reminder)
    assert f"{PORTAL}/subscriptions/S-1/renew" in out.text
    assert f'href="{PORTAL}/subscriptions/S-1/renew"' in out.html


def test_a_missing_variable_raises(renderer: Renderer) -> None:
    """StrictUndefined: a context without a variable the templates use is an error."""
    spec = start().email(NoticeKind.SUBSCRIPTION_CONFIRMATION)
    for key in ("customer_name", "invoice_total", "brand"):
        context = {k: v for k, v in spec.context.items() if k != key}
        with pytest.raises(jinja2.UndefinedError):
            renderer.render(spec.kind, context)


def test_a_subject_over_two_lines_is_refused(renderer: Renderer) -> None:
    """A value with a line break cannot split the Subject header."""
    spec = start().email(NoticeKind.SUBSCRIPTION_CONFIRMATION)
    with pytest.raises(SubjectError):
        renderer.render(spec.kind, {**spec.context, "brand": "GitLab\r\nBcc: x@evil.test"})


def test_an_unknown_kind_is_refused(renderer: Renderer) -> None:
    with pytest.raises(UnknownKind):
        renderer.render("no_such_kind", {})


def test_every_kind_has_its_template_folder() -> None:
    """Each kind ships subject.txt, body.mjml and body.txt beside the shared layout."""
    for kind in NoticeKind:
        for name in ("subject.txt", "body.mjml", "body.txt"):
            assert (TEMPLATES_DIR / kind.value / name).is_file(), f"{kind.value}/{name}"
    assert (TEMPLATES_DIR / "_layout" / "layout.mjml").is_file()
    assert (TEMPLATES_DIR / "_layout" / "layout.txt").is_file()


def test_a_missing_template_folder_fails_at_load(tmp_path: Path) -> None:
    """The renderer refuses to start without every kind's templates."""
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, copy)
    shutil.rmtree(copy / "qsr_notice")
    with pytest.raises(TemplateLoadError, match="qsr_notice"):
        Renderer.load(copy)
    shutil.copytree(TEMPLATES_DIR / "qsr_notice", copy / "qsr_notice")
    (copy / "qsr_notice" / "body.txt").unlink()
    with pytest.raises(TemplateLoadError, match=r"body\.txt"):
        Renderer.load(copy)


def test_rendering_neither_compiles_mjml_nor_parses_templates(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once loaded, an email is Jinja2 rendering only (DESIGN: templates are compiled once)."""
    import notify.mail.render

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled on the per-email path")

    monkeypatch.setattr(notify.mail.render, "mjml2html", refuse)
    monkeypatch.setattr(jinja2.Environment, "_parse", refuse)
    for _, spec in SPECS:
        rendered(renderer, spec)


def test_placeholders_survive_the_mjml_compile() -> None:
    """Expressions in text and in attributes, and statements between components, survive."""
    source = """<mjml><mj-body><mj-section><mj-column>
<mj-text>Hi {{ name }}, {% if a < b %}less{% endif %} <a href="{{ links["x"] }}">go</a></mj-text>
<mj-raw>{% if show %}</mj-raw><mj-button href="{{ url }}">Go</mj-button><mj-raw>{% endif %}</mj-raw>
</mj-column></mj-section></mj-body></mjml>"""
    html = compile_mjml(source)
    for placeholder in (
        "{{ name }}",
        "{% if a < b %}",
        '{{ links["x"] }}',
        'href="{{ url }}"',
        "{% if show %}<tr>",
    ):
        assert placeholder in html
    assert "<mj-" not in html


def test_a_placeholder_the_mjml_compile_drops_fails_at_load() -> None:
    """A placeholder MJML does not carry into the HTML (here, in a comment) is refused."""
    source = """<mjml><mj-body><mj-section><mj-column>
<!-- {% if show %} --><mj-text>x</mj-text>
</mj-column></mj-section></mj-body></mjml>"""
    with pytest.raises(TemplateLoadError, match="dropped"):
        compile_mjml(source)


def test_a_reminder_says_what_renewing_would_cost(renderer: Renderer) -> None:
    """Both parts state the cost of renewing for the seats in use."""
    reminder = start(auto_renew=False).until("2026-10-04").email(NoticeKind.RENEWAL_REMINDER)
    out = rendered(renderer, reminder)
    phrase = "Renewing for the 10 seats in use would cost"
    assert f"{phrase} $3,480.00 for a year" in out.text
    assert f"{phrase} $3,480.00 for a year" in visible(out.html)


def test_the_partners_copy_is_addressed_to_the_partner(renderer: Renderer) -> None:
    """For every kind a partner receives, its copy differs from the customer's: it speaks of
    "your customer", its subject names the customer, and it never tells the partner to contact
    itself or offers the customer's portal."""
    from notify.mail.samples import samples

    branding = BRAND
    by_name = {s.name: s for s in samples("en")}
    partner_names = [n for n in by_name if n.endswith("-partner") and "-via-" not in n]
    assert len(partner_names) >= 9
    for name in partner_names:
        partner = by_name[name]
        customer = by_name[name.removesuffix("-partner") + "-via-partner"]
        ours = renderer.render(partner.kind.value, partner.context(branding))
        theirs = renderer.render(customer.kind.value, customer.context(branding))
        assert ours.text != theirs.text, name
        assert "Acme Corp" in ours.subject, name
        assert "as the partner of record of Acme Corp" in ours.text, name
        assert "contact Reseller Partners Ltd" not in ours.text, name
        assert PORTAL not in ours.text.split("\n--\n")[0], name
        assert "as a billing contact of Acme Corp" in theirs.text, name


def test_the_three_reminders_count_down_with_rising_urgency(renderer: Renderer) -> None:
    """90, 45 and 30 days before: three different subjects and bodies, each with its days
    left; the last one asks for action."""
    from notify.mail.samples import samples

    by_name = {s.name: s for s in samples("en")}
    outs = {
        days: renderer.render(
            "renewal_reminder", by_name[f"renewal_reminder-{days}"].context(BRAND)
        )
        for days in (90, 45, 30)
    }
    assert len({o.subject for o in outs.values()}) == 3
    assert len({o.text for o in outs.values()}) == 3
    for days, out in outs.items():
        assert f"in {days} days" in out.text
    assert outs[30].subject.startswith("Action needed")
    assert "45 days left" in outs[45].subject
    assert "Only 30 days are left: renew now" in outs[30].text

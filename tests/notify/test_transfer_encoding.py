"""How an email's two parts are encoded: as they are (7bit) when SMTP allows it, else
quoted-printable; either way the reader gets exactly the rendered text and HTML."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import pytest

from notify.handlers import Branding
from notify.mail import render as rendering
from notify.mail import sevenbit
from notify.mail.compose import MAX_LINE, Composer, Letter, assemble
from notify.mail.render import Renderer
from notify.mail.samples import samples
from notify.translations import LANGUAGES

BRAND = Branding(brand="GitLab", portal_url="https://customers.example.com")
SENT_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def composer() -> Composer:
    return Composer(
        renderer=Renderer.shipped(),
        mail_from="GitLab <billing@gitlab.test>",
        public_url="https://notify.test",
        unsubscribe_key=b"k" * 32,
    )


def parsed(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def encodings(message: EmailMessage) -> list[str]:
    return [str(part["Content-Transfer-Encoding"]) for part in message.iter_parts()]


def lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def composed(composer: Composer, language: str) -> Iterator[tuple[str, Any, EmailMessage]]:
    for n, sample in enumerate(samples(language)):
        context = sample.context(BRAND)
        letter = Letter(
            kind=sample.kind.value,
            subscription_id="S-1",
            recipient="billing@acme.test",
            context=json.dumps(context),
            message_id=f"<{language}.{n}@notify.test>",
            idempotency_key=f"S-1:{sample.name}",
        )
        data = composer.compose(letter, SENT_AT).data
        expected = dict(context)
        if sample.kind.is_reminder:
            expected["unsubscribe_url"] = composer.unsubscribe_url("S-1", letter.recipient)
        rendered = composer.renderer.render(sample.kind.value, expected)
        yield sample.name, rendered, parsed(data)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_email_reads_as_rendered_in_lines_smtp_accepts(
    composer: Composer, language: str
) -> None:
    """In every language and kind, each part decodes to exactly what was rendered and no line
    of the message is longer than SMTP allows; the HTML, ASCII with character references in
    short lines, goes out as it is, and so does a text part that is ASCII."""
    for name, rendered, message in composed(composer, language):
        text, html = message.iter_parts()
        assert lf(text.get_content()).rstrip("\n") == lf(rendered.text).rstrip("\n"), name
        assert lf(html.get_content()).rstrip("\n") == lf(rendered.html).rstrip("\n"), name
        raw = message.as_bytes(policy=policy.SMTP)
        assert max(len(line) for line in raw.split(b"\r\n")) <= MAX_LINE, name
        assert rendered.html.isascii(), name
        assert encodings(message) == [expected(rendered.text), expected(rendered.html)], name


def expected(part: str) -> str:
    short = max(len(line) for line in part.splitlines()) <= MAX_LINE
    return "7bit" if part.isascii() and short else "quoted-printable"


def test_english_and_german_pages_go_out_as_they_are(composer: Composer) -> None:
    """The HTML part is 7bit for every kind in English and German (Japanese in character
    references can make a paragraph's line too long; that part is quoted-printable)."""
    for language in ("en", "de"):
        for name, _, message in composed(composer, language):
            assert encodings(message)[1] == "7bit", (language, name)


class _Events(HTMLParser):
    """What a browser's parser is told, in order: tags with their attributes, text, comments
    (whitespace inside a conditional comment's tags folded, as Outlook reads them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[Any, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, tuple(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("empty", tag, tuple(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))

    def handle_data(self, data: str) -> None:
        self.events.append(("data", data))

    def handle_comment(self, data: str) -> None:
        self.events.append(("comment", " ".join(data.split())))

    def handle_decl(self, decl: str) -> None:
        self.events.append(("decl", decl))


def events(html: str) -> list[tuple[Any, ...]]:
    parser = _Events()
    parser.feed(html)
    parser.close()
    return parser.events


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_ascii_page_is_the_page(monkeypatch: pytest.MonkeyPatch, language: str) -> None:
    """Every kind's HTML, rendered with and without the line breaks inside its tags and the
    character references, parses to the same tags, attributes and text; without them some
    line is too long for SMTP (with them none is, in English), and in Japanese the page is
    not ASCII."""
    short_ascii = Renderer.load(languages=[language])
    monkeypatch.setattr(rendering, "attributes_on_new_lines", lambda html: html)
    monkeypatch.setattr(rendering, "references_can_stand_in", lambda html: False)
    as_written = Renderer.load(languages=[language])
    longest = 0
    for sample in samples(language):
        context = {**sample.context(BRAND), "unsubscribe_url": "https://n.test/u"}
        before = as_written.render(sample.kind.value, context).html
        after = short_ascii.render(sample.kind.value, context).html
        assert events(after) == events(before), sample.name
        assert after.isascii(), sample.name
        if language == "en":
            assert max(len(line) for line in after.split("\n")) <= MAX_LINE, sample.name
        longest = max(longest, *(len(line) for line in before.split("\n")))
        if language == "ja":
            assert not before.isascii(), sample.name
    assert longest > MAX_LINE


def test_only_the_space_after_a_tags_name_becomes_a_line_break() -> None:
    html = (
        '<p class="a b">x < y, <b>bold</b> and <i title="<i q>">it</i></p>'
        '<!--[if mso]><table role="x"><![endif]--><br/><img src="i.png" alt="">'
    )
    assert sevenbit.attributes_on_new_lines(html) == (
        '<p\nclass="a b">x < y, <b>bold</b> and <i\ntitle="<i q>">it</i></p>'
        '<!--[if mso]><table role="x"><![endif]--><br/><img\nsrc="i.png" alt="">'
    )


@pytest.mark.parametrize(
    ("page", "stands_in"),
    [
        ('<p title="Größe">5 × 3 “quoted” {{ name }}</p><title>Ü</title>', True),
        ("<style>p { font-family: 'メイリオ'; }</style><p>x</p>", False),
        ("<style>p { color: {{ colour }}; }</style>", False),
        ("<script>let s = '×';</script>", False),
        ("<!--[if mso]><p>×</p><![endif]--><p>x</p>", False),
        ("<!-- {{ note }} --><p>x</p>", False),
        ("<style>p { color: red; }</style><!--[if mso]><br><![endif]--><p>ç</p>", True),
    ],
)
def test_references_stand_in_only_where_the_parser_reads_them(page: str, stands_in: bool) -> None:
    """Text, attribute values and titles decode character references; style, script and
    comments do not, so a template with non-ASCII or a placeholder there is left alone."""
    assert sevenbit.references_can_stand_in(page) is stands_in


HEADERS = [("Message-ID", "<m1@notify.test>"), ("Subject", "s")]
BOUNDARY = "=_" + hashlib.sha256(b"<m1@notify.test>").hexdigest()[:24]


@pytest.mark.parametrize(
    ("why", "text"),
    [
        ("not ASCII", "5.000,00 €"),
        ("a line over 998 octets", "x" * (MAX_LINE + 1)),
        ("a NUL", "a\0b"),
        ("the boundary", f"--{BOUNDARY}\nafter"),
    ],
)
def test_a_part_smtp_would_not_carry_as_it_is_is_quoted_printable(why: str, text: str) -> None:
    message = parsed(assemble(HEADERS, text, "<p>ok</p>"))
    assert encodings(message) == ["quoted-printable", "7bit"], why
    plain, html = message.iter_parts()
    assert lf(plain.get_content()) == text
    assert html.get_content().rstrip("\r\n") == "<p>ok</p>"


def test_a_line_of_998_octets_goes_as_it_is() -> None:
    message = parsed(assemble(HEADERS, "x" * MAX_LINE, "<p>ok</p>"))
    assert encodings(message) == ["7bit", "7bit"]

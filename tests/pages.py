"""What an HTML page declares, read by an HTML parser rather than matched as text (an
email's HTML breaks its tags across lines: ``notify.mail.render.attributes_on_new_lines``)."""

from __future__ import annotations

from html.parser import HTMLParser


class _Root(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html" and self.lang is None:
            self.lang = dict(attrs).get("lang")


def page_language(html: str) -> str | None:
    """The ``lang`` attribute of the page's ``<html>`` element."""
    parser = _Root()
    parser.feed(html)
    parser.close()
    return parser.lang

"""An email's HTML part in a form SMTP carries as it is: short lines, ASCII only.

Quoted-printable encoding of the HTML part was a fifth of composing an email
(``notify.mail.compose`` sends a part as 7bit whenever it can). Two things stand in the way,
and both are changed without changing the page a reader sees:

- MJML writes a whole body on one line of several thousand characters, and SMTP allows 998.
  The whitespace between a tag's name and its attributes may be a line break: at load, each
  start tag's attributes begin on a new line (``attributes_on_new_lines``).
- Copy in most languages, and many English emails (a "×", a curly quote, a euro amount), is
  not ASCII. In text and attribute values a character reference (``&#215;``) is the
  character; inside ``<style>``, ``<script>`` and comments it is not. Where those hold only
  ASCII the template wrote (``references_can_stand_in``, at load), the rendered page is
  written with character references for every non-ASCII character.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose content is not parsed for character references (raw text).
_RAW_TEXT = frozenset({"style", "script"})


class _StartTags(HTMLParser):
    """Where each start tag with attributes begins, as an HTML parser reads the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.tags: list[tuple[int, int, str]] = []  # (line from 1, column from 0, name)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if attrs:
            line, column = self.getpos()  # of the tag's "<"
            self.tags.append((line, column, tag))


def attributes_on_new_lines(html: str) -> str:
    """The same page with a line break between each start tag's name and its attributes."""
    parser = _StartTags()
    parser.feed(html)
    parser.close()
    line_starts = [0, *(match.end() for match in re.finditer("\n", html))]
    chars = list(html)
    for line, column, tag in parser.tags:
        start = line_starts[line - 1] + column
        after_name = start + 1 + len(tag)
        if html[start + 1 : after_name].lower() == tag and html[after_name] == " ":
            chars[after_name] = "\n"
    return "".join(chars)


class _Verbatim(HTMLParser):
    """Whether every part of a page template that character references cannot stand in for
    (raw text, comments, declarations) is ASCII and fixed (no Jinja2 placeholder in it)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.raw_text: str | None = None
        self.fixed_ascii = True

    def _check(self, text: str) -> None:
        if not text.isascii() or "{{" in text or "{%" in text:
            self.fixed_ascii = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _RAW_TEXT:
            self.raw_text = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self.raw_text:
            self.raw_text = None

    def handle_data(self, data: str) -> None:
        if self.raw_text is not None:
            self._check(data)

    def handle_comment(self, data: str) -> None:
        self._check(data)

    def handle_decl(self, decl: str) -> None:
        self._check(decl)

    def handle_pi(self, data: str) -> None:
        self._check(data)

    def unknown_decl(self, data: str) -> None:
        self._check(data)


def references_can_stand_in(template: str) -> bool:
    """Whether a page rendered from ``template`` (HTML with Jinja2 placeholders) may have its
    non-ASCII characters written as character references and read the same."""
    parser = _Verbatim()
    parser.feed(template)
    parser.close()
    return parser.fixed_ascii

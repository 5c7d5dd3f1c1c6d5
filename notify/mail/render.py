"""Email rendering: every template is compiled once, at load; an email only runs Jinja2.

Each kind has a folder under ``notify/templates/`` with ``subject.txt``, ``preheader.txt``,
``body.mjml`` and ``body.txt``; ``_layout/`` holds the shared frame. At load, each kind's
``body.mjml`` takes the place of ``<mj-include path="./body.mjml" />`` in
``_layout/layout.mjml`` and the whole is compiled from MJML to HTML with its Jinja2
placeholders inside; then the subject, the preheader, the text and the HTML are compiled as
Jinja2 templates (``StrictUndefined``; autoescape on for the HTML only). ``body.txt``
extends ``_layout/layout.txt`` the ordinary Jinja2 way. The compiled HTML is made ready to
travel as 7bit (``notify.mail.sevenbit``): its tags' attributes start on new lines, and a
page whose styles and comments are fixed ASCII renders its other characters as references.

The copy is translated at load, not per email: the MJML is compiled once per kind, then the
Jinja2 templates once per language, each with its catalog's words compiled in
(``notify.mail.translated``); an email renders with the set of its language
(``context["language"]``, else its ``locale``). A ``{% trans %}`` block is one placeholder
through the MJML compile, so MJML never touches the words that are looked up in the
catalogs.

The placeholders are swapped for inert tokens during the MJML compile, so that no tag, quote
or ``<`` inside ``{% … %}`` can confuse the MJML parser, and put back afterwards; a
placeholder the compile dropped (in a comment, or in an attribute MJML does not carry over)
is an error at load, not a silently broken email. A statement between MJML components belongs
in ``<mj-raw>``, so that it wraps the whole component.

Errors::

    ValueError
    ├── TemplateLoadError   a kind's folder or file is missing, or its MJML does not compile
    └── SubjectError        a rendered subject is empty or not one line
    KeyError
    └── UnknownKind         render() of a kind that was not loaded
    jinja2.UndefinedError   the context lacks a variable the templates use
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from mjml import mjml2html

from billingcore.notices import NoticeKind
from notify.handlers.formatting import FALLBACK_LOCALE as FALLBACK_LANGUAGE
from notify.mail.sevenbit import attributes_on_new_lines, references_can_stand_in
from notify.mail.translated import environment
from notify.translations import LANGUAGES, copy_language

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
LAYOUT_DIR = "_layout"
KIND_FILES = ("subject.txt", "preheader.txt", "body.mjml", "body.txt")

_BODY_SLOT = re.compile(r'<mj-include\s+path="\./body\.mjml"\s*/>')
_JINJA_TAG = re.compile(
    r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}|\{\{.*?\}\}|\{%.*?%\}", re.DOTALL
)
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_TOKEN = "jinjaplaceholder{:05d}x"
_TOKEN_PATTERN = re.compile(r"jinjaplaceholder(\d{5})x")


class TemplateLoadError(ValueError):
    """The templates cannot be loaded: a missing folder or file, or MJML that fails."""


class SubjectError(ValueError):
    """A subject rendered empty or over more than one line (a header must be one line)."""


class UnknownKind(KeyError):
    """No templates were loaded for this kind."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    """One email's three parts: the subject line, the text/plain and the text/html body."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _Compiled:
    subject: jinja2.Template
    preheader: jinja2.Template
    text: jinja2.Template
    html: jinja2.Template
    # Every non-ASCII character of the rendered page may be written as a character reference
    # (notify.mail.sevenbit): its HTML part then goes out as it is.
    ascii_html: bool


def compile_mjml(source: str, *, name: str = "<mjml>") -> str:
    """MJML with Jinja2 placeholders → HTML with the same placeholders, unchanged.

    Raises TemplateLoadError when the MJML does not compile or a placeholder does not survive.
    """
    source = _JINJA_COMMENT.sub("", source)
    if _TOKEN_PATTERN.search(source):
        raise TemplateLoadError(f"{name}: contains the reserved text 'jinjaplaceholder'")
    placeholders: list[str] = []

    def protect(match: re.Match[str]) -> str:
        placeholders.append(match.group(0))
        return _TOKEN.format(len(placeholders) - 1)

    try:
        html = mjml2html(_JINJA_TAG.sub(protect, source), disable_comments=True)
    except Exception as exc:  # mrml raises plain ValueErrors (and others) on bad MJML
        raise TemplateLoadError(f"{name}: MJML does not compile: {exc}") from exc
    survived = {int(index) for index in _TOKEN_PATTERN.findall(html)}
    lost = [placeholders[i] for i in range(len(placeholders)) if i not in survived]
    if lost:
        raise TemplateLoadError(f"{name}: the MJML compile dropped {lost[0]!r}")
    if "<mj-" in html:
        raise TemplateLoadError(f"{name}: an MJML tag was left in the HTML")
    html = attributes_on_new_lines(html)
    return _TOKEN_PATTERN.sub(lambda match: placeholders[int(match.group(1))], html)


class Renderer:
    """Renders every email kind from templates compiled once per language; build it with
    ``load``."""

    def __init__(self, compiled: Mapping[str, Mapping[str, _Compiled]]) -> None:
        self._compiled = {language: dict(kinds) for language, kinds in compiled.items()}
        self._kinds = frozenset(self._compiled[FALLBACK_LANGUAGE])

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds this renderer can render."""
        return self._kinds

    @classmethod
    def load(
        cls,
        templates_dir: Path | None = None,
        kinds: Iterable[str] | None = None,
        languages: Iterable[str] = LANGUAGES,
    ) -> Renderer:
        """Compile the templates of ``kinds`` (default: every ``NoticeKind``) and the layout,
        once for each of ``languages`` (the MJML once for all).

        Every other folder not starting with ``_`` is loaded as well. A missing folder or file
        of a required kind raises TemplateLoadError here, not when the first email is due.
        """
        root = TEMPLATES_DIR if templates_dir is None else Path(templates_dir)
        required = [kind.value for kind in NoticeKind] if kinds is None else list(kinds)
        found = [p.name for p in sorted(root.iterdir()) if p.is_dir()] if root.is_dir() else []
        extra = [name for name in found if not name.startswith("_") and name not in required]
        layout = _read(root / LAYOUT_DIR / "layout.mjml")
        if not _BODY_SLOT.search(layout):
            raise TemplateLoadError(f"{LAYOUT_DIR}/layout.mjml has no slot for the body")
        _read(root / LAYOUT_DIR / "layout.txt")
        html = {kind: _compile_html(root, kind, layout) for kind in [*required, *extra]}
        ascii_html = {kind: references_can_stand_in(source) for kind, source in html.items()}
        compiled = {}
        for language in dict.fromkeys([FALLBACK_LANGUAGE, *languages]):
            text_env = environment(language, html=False, loader=jinja2.FileSystemLoader(root))
            html_env = environment(language, html=True, loader=None)
            try:
                text_env.get_template(f"{LAYOUT_DIR}/layout.txt")
            except jinja2.TemplateError as exc:
                raise TemplateLoadError(f"{LAYOUT_DIR}/layout.txt: {exc}") from exc
            compiled[language] = {
                kind: _compile_kind(kind, source, text_env, html_env, ascii_html[kind])
                for kind, source in html.items()
            }
        return cls(compiled)

    @staticmethod
    @functools.cache
    def shipped() -> Renderer:
        """The package's own templates, loaded once per process (they never change while it
        runs; a load compiles every kind in every language, about two seconds of CPU)."""
        return Renderer.load()

    def subject(self, kind: str, context: Mapping[str, Any]) -> str:
        """The subject line alone, as ``render`` would write it."""
        return _one_line(kind, self._templates(kind, context).subject.render(context))

    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        """Render ``kind`` with ``context`` in its language; the HTML also sees ``subject``
        and ``preheader``, as rendered."""
        compiled = self._templates(kind, context)
        subject = _one_line(kind, compiled.subject.render(context))
        preheader = _one_line(kind, compiled.preheader.render(context))
        text = compiled.text.render(context)
        html = compiled.html.render({**context, "subject": subject, "preheader": preheader})
        if compiled.ascii_html and not html.isascii():
            html = html.encode("ascii", "xmlcharrefreplace").decode("ascii")
        return Rendered(subject=subject, text=text, html=html)

    def _templates(self, kind: str, context: Mapping[str, Any]) -> _Compiled:
        # Rows queued before the copy was translated carry only ``locale``.
        language = copy_language(context.get("language") or context.get("locale"))
        kinds = self._compiled.get(language) or self._compiled[FALLBACK_LANGUAGE]
        try:
            return kinds[kind]
        except KeyError:
            raise UnknownKind(kind) from None


def _one_line(kind: str, rendered: str) -> str:
    subject = rendered.strip()
    if not subject or subject.splitlines() != [subject]:
        raise SubjectError(f"{kind}: the subject must be one line, got {subject!r}")
    return subject


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateLoadError(f"cannot read template {path}: {exc.strerror}") from exc


def _compile_html(root: Path, kind: str, layout: str) -> str:
    folder = root / kind
    if not folder.is_dir():
        raise TemplateLoadError(f"no template folder for email kind {kind!r} in {root}")
    for name in KIND_FILES:
        if not (folder / name).is_file():
            raise TemplateLoadError(f"{kind}/{name} is missing")
    body = _read(folder / "body.mjml")
    mjml = _BODY_SLOT.sub(lambda _: body, layout, count=1)
    return compile_mjml(mjml, name=f"{kind}/body.mjml")


def _compile_kind(
    kind: str,
    html: str,
    text_env: jinja2.Environment,
    html_env: jinja2.Environment,
    ascii_html: bool,
) -> _Compiled:
    try:
        compiled = _Compiled(
            subject=text_env.get_template(f"{kind}/subject.txt"),
            preheader=text_env.get_template(f"{kind}/preheader.txt"),
            text=text_env.get_template(f"{kind}/body.txt"),
            html=html_env.from_string(html),
            ascii_html=ascii_html,
        )
    except jinja2.TemplateError as exc:
        raise TemplateLoadError(f"{kind}: {exc}") from exc
    for template in (compiled.subject, compiled.preheader, compiled.text, compiled.html):
        # A template's globals are a ChainMap over the environment's, which every render copies
        # key by key into its context (a third of a render's time); the environments never
        # change after load, so a plain dict of the same names renders the same, faster.
        template.globals = dict(template.globals)
    return compiled

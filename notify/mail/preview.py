"""``notify emails preview --out DIR [--kind K] [--lang L]``: every email, as a reader gets it.

For copywriters and reviewers: each sample of ``notify.mail.samples`` (made by the billing
core) in each language is rendered and composed exactly as the delivery worker would, with
the configured sender, Reply-To and DKIM key, and written as ``DIR/<lang>/<sample>.eml`` and
``.html``, with ``DIR/index.html`` linking them all.
"""

from __future__ import annotations

import argparse
import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from billingcore.notices import NoticeKind
from notify.config import Settings
from notify.handlers import Branding
from notify.handlers.formatting import LANGUAGES, copy_language
from notify.mail.compose import Composer
from notify.mail.enqueue import mail_domain
from notify.mail.render import Renderer
from notify.mail.samples import samples
from notify.mail.signing import Signer

COMMAND = "emails"
# Preview links are never followed by a real recipient: a fixed key keeps them stable.
_PREVIEW_KEY = b"notify-preview-unsubscribe-key"


@dataclass(frozen=True, slots=True, kw_only=True)
class Written:
    language: str
    name: str
    kind: str
    subject: str


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``emails preview`` on the ``notify`` parser's subcommands."""
    emails = commands.add_parser(COMMAND, help="the emails this service sends")
    actions = emails.add_subparsers(dest="emails_action", required=True, metavar="ACTION")
    preview = actions.add_parser(
        "preview", help="write every kind in every language from sample data (.eml and .html)"
    )
    preview.add_argument("--out", required=True, type=Path, metavar="DIR", help="where to write")
    preview.add_argument(
        "--kind", choices=[k.value for k in NoticeKind], metavar="KIND", help="one kind only"
    )
    preview.add_argument(
        "--lang", type=_language, metavar="LANG", help=f"one language only ({', '.join(LANGUAGES)})"
    )


def _language(value: str) -> str:
    language = copy_language(value)
    if language == "en" and not value.lower().startswith("en"):
        raise argparse.ArgumentTypeError(f"no copy in {value!r}; one of {', '.join(LANGUAGES)}")
    return language


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Write the previews; print where the index is."""
    languages = [args.lang] if args.lang else list(LANGUAGES)
    written = write_previews(args.out, settings, languages=languages, kind=args.kind)
    print(f"notify: {len(written)} emails written; open {args.out / 'index.html'}", flush=True)
    return 0


def write_previews(
    out: Path, settings: Settings, *, languages: Iterable[str], kind: str | None = None
) -> list[Written]:
    """Render and compose every sample of ``languages`` (of ``kind`` only, if given) into
    ``out``; return what was written, in order."""
    branding = Branding(brand=settings.brand, portal_url=settings.portal_url)
    composer = Composer(
        renderer=Renderer.shipped(),
        mail_from=settings.mail_from,
        public_url=settings.public_url,
        unsubscribe_key=_PREVIEW_KEY,
        reply_to=settings.reply_to,
        signer=None if settings.dkim is None else Signer(settings.dkim),
    )
    domain = mail_domain(settings.mail_from)
    now = datetime.now(UTC)
    written: list[Written] = []
    for language in languages:
        folder = out / language
        folder.mkdir(parents=True, exist_ok=True)
        for sample in samples(language):
            if kind is not None and sample.kind.value != kind:
                continue
            letter = sample.letter(branding, domain)
            message = composer.compose(letter, now)
            (folder / f"{sample.name}.eml").write_bytes(message.data)
            rendered = composer.renderer.render(letter.kind, composer.context(letter))
            (folder / f"{sample.name}.html").write_text(rendered.html, encoding="utf-8")
            written.append(
                Written(
                    language=language, name=sample.name, kind=letter.kind, subject=rendered.subject
                )
            )
    (out / "index.html").write_text(_index(written), encoding="utf-8")
    return written


def _index(written: list[Written]) -> str:
    languages = list(dict.fromkeys(w.language for w in written))
    names = sorted({w.name for w in written})
    cells = {(w.language, w.name): w for w in written}
    head = "".join(f"<th>{html.escape(lang)}</th>" for lang in languages)
    rows = []
    for name in names:
        row = [f"<th>{html.escape(name)}</th>"]
        for language in languages:
            w = cells.get((language, name))
            if w is None:
                row.append("<td></td>")
                continue
            base = f"{language}/{name}"
            row.append(
                f'<td><a href="{html.escape(base)}.html">{html.escape(w.subject)}</a>'
                f' <a class="eml" href="{html.escape(base)}.eml">.eml</a></td>'
            )
        rows.append("<tr>" + "".join(row) + "</tr>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Email previews</title><style>"
        "body{font-family:sans-serif;margin:24px}table{border-collapse:collapse}"
        "th,td{border:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top;"
        "font-size:13px}.eml{color:#888}</style></head><body><h1>Email previews</h1>"
        f"<p>{len(written)} emails from the billing core's sample subscriptions.</p>"
        f"<table><tr><th>sample</th>{head}</tr>{''.join(rows)}</table></body></html>\n"
    )

"""``notify emails preview``: every kind in every language, as .eml and .html, with an index."""

from __future__ import annotations

import subprocess
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from billingcore.notices import NoticeKind
from notify.config import Settings
from notify.mail.preview import write_previews
from notify.mail.samples import samples
from notify.translations import LANGUAGES
from tests.pages import page_language


def test_every_kind_in_every_language_is_written_and_indexed(tmp_path: Path) -> None:
    """One .eml and one .html per sample and language, each linked from index.html; each .eml
    is a complete message in its language."""
    written = write_previews(tmp_path, Settings(), languages=LANGUAGES)
    assert {w.language for w in written} == set(LANGUAGES)
    for language in LANGUAGES:
        kinds = {w.kind for w in written if w.language == language}
        assert kinds == {k.value for k in NoticeKind}
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    for w in written:
        eml = tmp_path / w.language / f"{w.name}.eml"
        page = tmp_path / w.language / f"{w.name}.html"
        assert f'href="{w.language}/{w.name}.html"' in index
        assert f'href="{w.language}/{w.name}.eml"' in index
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        assert message["X-Notify-Kind"] == w.kind
        assert message["Subject"] == w.subject
        assert page_language(page.read_text(encoding="utf-8")) == w.language.replace("_", "-")
    assert len(written) == sum(len(samples(language)) for language in LANGUAGES)


def test_the_command_takes_one_kind_and_one_language(tmp_path: Path) -> None:
    """``--kind qsr_failed --lang pt-BR`` writes that kind in Brazilian Portuguese only; an
    unknown language is refused by name."""
    run = [sys.executable, "-m", "notify.cli", "emails", "preview", "--out", str(tmp_path)]
    done = subprocess.run(
        [*run, "--kind", "qsr_failed", "--lang", "pt-BR"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "1 emails written" in done.stdout
    assert sorted(p.name for p in (tmp_path / "pt_BR").iterdir()) == [
        "qsr_failed.eml",
        "qsr_failed.html",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "pt_BR"]
    refused = subprocess.run([*run, "--lang", "xx"], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "no copy in 'xx'" in refused.stderr

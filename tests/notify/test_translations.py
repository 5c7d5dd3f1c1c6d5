"""The copy's catalogs: complete in every language, compiled as committed, and used.

Every kind renders in every language from the billing core's samples, and a rendered email
in a language other than English holds none of the English source sentences.
"""

from __future__ import annotations

import gettext
import html as htmllib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from billingcore.notices import NoticeKind
from notify.handlers import Branding
from notify.mail.render import Renderer
from notify.mail.samples import samples
from notify.translations import LANGUAGES, LOCALE_DIR
from tests.pages import page_language

ROOT = Path(__file__).resolve().parents[2]
BRAND = Branding(brand="GitLab", portal_url="https://customers.example.com")


def po(language: str):  # type: ignore[no-untyped-def]
    with open(LOCALE_DIR / language / "LC_MESSAGES" / "notify.po", "rb") as f:
        return read_po(f, locale=language)


def template_ids() -> set[str]:
    with open(LOCALE_DIR / "notify.pot", "rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_translates_every_message(language: str) -> None:
    """No message is missing, empty or fuzzy, and every form of a plural is there."""
    catalog = po(language)
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert ids == template_ids()
    for message in catalog:
        if not message.id:
            continue
        assert "fuzzy" not in message.flags, message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(forms) >= (catalog.num_plurals if isinstance(message.id, tuple) else 1)
        assert all(forms), message.id


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_files_are_the_po_files_compiled(language: str) -> None:
    """What the package reads is what the catalog says."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "notify.mo"
    with open(path, "rb") as f:
        compiled = gettext.GNUTranslations(f)
    catalog = po(language)
    assert compiled.info()["plural-forms"] == catalog.plural_forms
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            for n, form in enumerate(message.string):
                plural = compiled._catalog[(message.id[0], n)]  # type: ignore[attr-defined]
                assert plural == form
        else:
            assert compiled.gettext(message.id) == message.string


def test_the_template_catalog_holds_every_message_of_the_sources(tmp_path: Path) -> None:
    """Extracting again finds exactly the messages the catalogs hold (run scripts/catalogs
    after changing the copy)."""
    out = tmp_path / "notify.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "babel.cfg",
            "-k", "N_", "-k", "n_:1,2", "--ignore-dirs=.* .venv", "--omit-header",
            "-o", str(out), ".",
        ],
        cwd=ROOT,
        check=True,
    )  # fmt: skip
    with open(out, "rb") as f:
        fresh = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert fresh == template_ids()


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer.shipped()


def visible(markup: str) -> str:
    body = markup[markup.index("<body") :]
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", body)))


def english_sentences() -> list[str]:
    """The English source's runs of words between placeholders, three words or more."""
    runs: set[str] = set()
    for message in po("en"):
        if not message.id:
            continue
        for text in message.id if isinstance(message.id, tuple) else (message.id,):
            for run in re.split(r"%\(\w+\)s", text):
                run = run.strip(" .,:;()")
                if len(run.split()) >= 3:
                    runs.add(run)
    return sorted(runs)


# The greeting of each language (docs/decisions.md): person-neutral, as a native writes it.
GREETINGS = {
    "en": "Hello,",
    "de": "Guten Tag,",
    "fr": "Bonjour,",
    "es": "Hola:",
    "ja": "ご担当者様",
    "pt_BR": "Olá,",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_renders_in_every_language(renderer: Renderer, language: str) -> None:
    """Each sample renders in the language, greeting as that language does; the HTML says
    so; outside English no English sentence of the source is left in the subject, the text
    or the HTML."""
    english = english_sentences() if language != "en" else []
    found = set()
    for sample in samples(language):
        context = {**sample.context(BRAND), "unsubscribe_url": "https://n.test/u/x"}
        out = renderer.render(sample.kind.value, context)
        found.add(sample.kind)
        assert page_language(out.html) == language.replace("_", "-")
        assert out.text.startswith(GREETINGS[language] + "\n\n"), sample.name
        for part in (out.subject, out.text, visible(out.html)):
            for run in english:
                assert run not in part, (sample.name, run)
    assert found == set(NoticeKind)


def test_plural_forms_follow_each_languages_rule(renderer: Renderer) -> None:
    """One seat and many seats read differently, by each catalog's own rule."""
    for language, one, many in (
        ("en", "1 seat added", "5 seats added"),
        ("de", "1 Platz zu Ihrem", "5 Plätze zu Ihrem"),
        ("fr", "1 siège ajouté", "5 sièges ajoutés"),
        ("es", "1 puesto añadido", "5 puestos añadidos"),
        ("pt_BR", "1 licença adicionada", "5 licenças adicionadas"),
        ("ja", "シートを1件追加しました", "シートを5件追加しました"),
    ):
        [sample] = [s for s in samples(language) if s.name == "seats_added"]
        context = sample.context(BRAND)
        assert one in renderer.subject("seats_added", {**context, "seats_added": 1})
        assert many in renderer.subject("seats_added", {**context, "seats_added": 5})


def test_a_name_that_ends_a_sentence_with_its_own_stop_gets_one(renderer: Renderer) -> None:
    """ "… of Ejemplo S.L." ends once, in both parts; other stops are untouched."""
    [sample] = [s for s in samples("es") if s.name == "payment_receipt-partner"]
    out = renderer.render("payment_receipt", sample.context(BRAND))
    name = sample.state.customer.name
    assert name.endswith(".")
    for part in (out.text, visible(out.html)):
        assert f"{name}." not in part
        assert f"de su cliente {name}" in part


def test_rows_queued_with_only_a_locale_render_in_its_language(renderer: Renderer) -> None:
    """A context without ``language`` (queued before there were translations) is read by its
    ``locale``; an unknown one in English."""
    [sample] = [s for s in samples("de") if s.name == "subscription_expired"]
    context = {k: v for k, v in sample.context(BRAND).items() if k != "language"}
    assert renderer.subject("subscription_expired", context).startswith("Ihr GitLab")
    context["locale"] = "xx"
    assert renderer.subject("subscription_expired", context).startswith("Your GitLab")

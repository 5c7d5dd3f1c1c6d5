"""The catalogs of the copy: one gettext catalog per language, shipped in the package.

``notify/locale/<language>/LC_MESSAGES/notify.po`` holds each language's translations and
``notify.mo`` their compiled form, which is what is read here (``scripts/catalogs`` extracts
the messages from the templates and the Python sources, updates the catalogs and compiles
them). English is the source language: its catalog maps every message to itself, so that
copy can be edited there too. A language without a compiled catalog reads the English source.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from notify.handlers.formatting import LANGUAGES, copy_language

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "notify"

__all__ = ["DOMAIN", "LANGUAGES", "LOCALE_DIR", "catalog", "copy_language", "html_lang"]


@lru_cache(maxsize=len(LANGUAGES))
def catalog(language: str) -> NullTranslations:
    """The compiled catalog of ``language`` (one of ``LANGUAGES``), read once per process."""
    return Translations.load(str(LOCALE_DIR), [language], DOMAIN)


def html_lang(language: str) -> str:
    """The BCP 47 tag of ``language`` for an HTML ``lang`` attribute (``pt_BR`` → ``pt-BR``)."""
    return language.replace("_", "-")

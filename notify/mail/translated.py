"""Jinja2 environments whose templates are compiled with one language's copy in them.

The templates hold the English source in ``{% trans %}`` blocks (Jinja2's i18n extension,
trimmed, newstyle: ``%(name)s`` placeholders). Rather than looking each message up in the
catalog on every render, ``CompiledCopy`` replaces each block at compile time by its
translation, with the block's variables formatted in (``msgstr % {…}``), so an email in any
language renders at the cost of plain Jinja2 output. A plural block picks its form at render
time by the catalog's plural rule. ``gettext`` and ``_`` stay available, bound to the
language, for messages that arrive in the context (a blocking reason marked with ``N_``).

In the HTML a translation is markup-safe and every value put into it is escaped (as Jinja2's
newstyle gettext does); ``strong(value)`` and ``mailto(address)`` mark a value up in the HTML
and leave it as it is in the text, so that both parts share one message.

A value that ends with a full stop where its message puts one ("… of Acme, Inc.") is written
with one stop, not two.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.ext import InternationalizationExtension
from markupsafe import Markup

from notify.translations import catalog, html_lang

_PLACEHOLDER_BEFORE_STOP = re.compile(r"%\((\w+)\)s\.")


class CompiledCopy(InternationalizationExtension):
    """``{% trans %}`` compiled into the translation of the environment's language."""

    def _make_node(
        self,
        singular: str,
        plural: str | None,
        context: str | None,
        variables: dict[str, nodes.Expr],
        plural_expr: nodes.Expr | None,
        vars_referenced: bool,
        num_called_num: bool,
    ) -> nodes.Output:
        translations = catalog(self.environment.copy_language)  # type: ignore[attr-defined]
        if plural is None or plural_expr is None:
            forms = [translations.gettext(singular)]
        else:
            # Every form of the catalog, in the order of its plural rule's indices; without
            # a catalog, the English source's two.
            found = getattr(translations, "_catalog", {})
            forms = []
            while (singular, len(forms)) in found:
                forms.append(str(found[(singular, len(forms))]))
            if not forms:
                forms = [singular, plural]
            variables = {"num": plural_expr, **variables} if num_called_num else variables
        stops = {name for form in forms for name in _PLACEHOLDER_BEFORE_STOP.findall(form)}
        values = [
            nodes.Pair(
                nodes.Const(name),
                nodes.Filter(value, "end_stop", [], [], None, None) if name in stops else value,
            )
            for name, value in variables.items()
        ]
        if len(forms) == 1:
            message: nodes.Expr = nodes.Const(forms[0])
        else:
            index = nodes.Filter(plural_expr, "plural_form", [], [], None, None)
            message = nodes.Getitem(nodes.Const(tuple(forms)), index, "load")
        node: nodes.Expr = nodes.MarkSafeIfAutoescape(message)
        if values:
            node = nodes.Mod(node, nodes.Dict(values))
        elif len(forms) == 1:
            node = nodes.MarkSafeIfAutoescape(nodes.Const(forms[0].replace("%%", "%")))
        return nodes.Output([node])


def _end_stop(value: Any) -> Any:
    if isinstance(value, str) and value.endswith("."):
        return value[:-1]
    return value


def _html_strong(value: Any) -> Markup:
    return Markup("<strong>{}</strong>").format(value)


def _html_mailto(address: Any) -> Markup:
    return Markup('<a href="mailto:{0}">{0}</a>').format(address)


def _plain(value: Any) -> Any:
    return value


def _gettext(language: str, html: bool) -> Callable[..., str]:
    """Newstyle gettext of ``language``, for messages that arrive in the context."""
    translations = catalog(language)

    def gettext(message: str, **variables: Any) -> str:
        translated = translations.gettext(message)
        return (Markup(translated) if html else translated) % variables

    return gettext


def environment(
    language: str, *, html: bool, loader: jinja2.BaseLoader | None
) -> jinja2.Environment:
    """An environment for the templates of one part (HTML or text) in ``language``."""
    env = jinja2.Environment(
        loader=loader,
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # templates never change while the process runs
        cache_size=-1,
        keep_trailing_newline=not html,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[CompiledCopy],
    )
    env.policies["ext.i18n.trimmed"] = True
    # The messages were extracted with newstyle placeholders; the blocks must read the same.
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.copy_language = language  # type: ignore[attr-defined]
    translations = catalog(language)
    plural = getattr(translations, "plural", lambda n: int(n != 1))
    env.filters["plural_form"] = plural
    env.filters["end_stop"] = _end_stop
    gettext = _gettext(language, html)
    env.globals.update(
        gettext=gettext,
        _=gettext,
        lang=html_lang(language),
        strong=_html_strong if html else _plain,
        mailto=_html_mailto if html else _plain,
    )
    return env

"""The console at ``/admin/``: server-rendered pages for the teams who answer customers'
questions (docs/console.md).

``install(app)`` adds its session middleware (aiohttp-session, for console paths only) and
its routes. Every page reads through the admin API's own functions, so what the console shows
is what the API answers.
"""

from __future__ import annotations

from aiohttp import web

from notify.console import messages, pages, signin, subscription
from notify.console.render import stylesheet
from notify.console.sessions import SESSIONS, _Sessions, sessions


def install(app: web.Application) -> None:
    app[SESSIONS] = _Sessions()
    app.middlewares.append(sessions)
    app.router.add_get("/admin/console.css", stylesheet)
    signin.add_routes(app)
    pages.add_routes(app)
    subscription.add_routes(app)
    messages.add_routes(app)

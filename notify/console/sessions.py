"""Console sessions: an encrypted cookie, the signed-in sessions in the database, CSRF tokens.

The cookie is aiohttp-session's ``EncryptedCookieStorage`` (Fernet: AES-128-CBC with an
HMAC-SHA256, from ``cryptography``), under a key generated once and kept in
``service_settings`` as ``console_session_key``, so every process reads every cookie. It is
``HttpOnly``, ``SameSite=Strict``, limited to ``/admin/``, ``Secure`` when
``NOTIFY_PUBLIC_URL`` is https, and lives as long as the browser session. It holds:

- ``csrf``: the session's CSRF token, given to every form and compared (``hmac.compare_digest``)
  on every POST: a synchronizer token bound to the session;
- ``sid``: once signed in, a random id whose SHA-256 names a ``console_sessions`` row. Only a
  row that exists and has not expired makes the session signed in; signing out deletes it, so
  a copy of the cookie is worth nothing afterwards. A session lasts 8 hours at most;
- ``flash``: a message for the next page (what a form did, or why it did nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp_session import Session, get_session, new_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet
from multidict import MultiDict, MultiDictProxy
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.db.engine import write_gate
from notify.db.models import ConsoleSession
from notify.keys import ENGINE, SETTINGS
from notify.secrets import kept_setting
from notify.timing import wall_clock
from webhooks.problems import problem

# aiohttp-session keeps its session under plain string keys of the request, which aiohttp
# warns about once per key; that is the library's API, not a mistake here.
warnings.filterwarnings("ignore", category=web.NotAppKeyWarning, module="aiohttp_session")

KEY_NAME = "console_session_key"
COOKIE = "notify_console"
HOME = "/admin/"
LIFETIME = timedelta(hours=8)
_SESSIONS = cast(Table, ConsoleSession.__table__)

Form = MultiDictProxy[str | bytes | Any]


class _Sessions:
    """The session middleware, made on the first console request (startup needs no database)."""

    middleware: Middleware | None = None


SESSIONS = web.AppKey("console_sessions", _Sessions)


def is_console_path(path: str) -> bool:
    return path.startswith("/admin/") and not path.startswith("/admin/api/")


async def _storage(app: web.Application) -> EncryptedCookieStorage:
    key, _ = await kept_setting(app[ENGINE], KEY_NAME, Fernet.generate_key().decode())
    return EncryptedCookieStorage(
        Fernet(key.encode()),
        cookie_name=COOKIE,
        path="/admin/",
        httponly=True,
        samesite="Strict",
        secure=app[SETTINGS].public_url.startswith("https://"),
    )


@web.middleware
async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp-session's middleware, on the console's pages only (the API and the webhook
    path never read a cookie)."""
    if not is_console_path(request.path):
        return await handler(request)
    holder = request.app[SESSIONS]
    if holder.middleware is None:
        holder.middleware = session_middleware(await _storage(request.app))
    return await holder.middleware(request, handler)


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def csrf_token(session: Session) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_matches(session: Session, form: Form) -> bool:
    expected, given = session.get("csrf"), form.get("csrf")
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and hmac.compare_digest(given.encode(), expected.encode())
    )


def flash(session: Session, text: str, *, error: bool = False) -> None:
    """A message for the next page this session opens."""
    session["flash"] = {"text": text, "error": error}


async def signed_in(request: web.Request) -> bool:
    """Whether the request's session names a signed-in session that has not expired."""
    session = await get_session(request)
    sid = session.get("sid")
    if not isinstance(sid, str):
        return False
    query = select(_SESSIONS.c.expires_at).where(_SESSIONS.c.id_hash == _hash(sid))
    async with request.app[ENGINE].connect() as conn:
        expires_at = (await conn.execute(query)).scalar_one_or_none()
    return expires_at is not None and expires_at > wall_clock()


async def begin(request: web.Request) -> None:
    """Sign the request's browser in: a new session (a new cookie, a new CSRF token) whose id
    is recorded; expired sessions are cleared on the way."""
    sid = secrets.token_urlsafe(32)
    now = wall_clock()
    engine: AsyncEngine = request.app[ENGINE]
    async with write_gate(engine), engine.begin() as conn:
        await conn.execute(delete(_SESSIONS).where(_SESSIONS.c.expires_at <= now))
        await conn.execute(
            insert(_SESSIONS).values(id_hash=_hash(sid), created_at=now, expires_at=now + LIFETIME)
        )
    session = await new_session(request)
    session["sid"] = sid
    csrf_token(session)


async def end(request: web.Request) -> None:
    """Sign out: the session's row is deleted and its cookie emptied."""
    session = await get_session(request)
    sid = session.get("sid")
    if isinstance(sid, str):
        engine: AsyncEngine = request.app[ENGINE]
        async with write_gate(engine), engine.begin() as conn:
            await conn.execute(delete(_SESSIONS).where(_SESSIONS.c.id_hash == _hash(sid)))
    session.invalidate()


def console_path(given: object, default: str = HOME) -> str:
    """``given`` when it is a console page of this service (where to go after a form), else
    ``default``: never another site, the API, or the sign-in pages."""
    if not isinstance(given, str) or "\\" in given or given.startswith("//"):
        return default
    parts = urlsplit(given)
    if parts.scheme or parts.netloc or not is_console_path(parts.path):
        return default
    return default if parts.path.startswith("/admin/sign-") else given


def sign_in_url(request: web.Request) -> str:
    return str(request.app.router["console_sign_in"].url_for().with_query(next=request.path_qs))


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def csrf_refusal() -> web.Response:
    return problem(
        403,
        "csrf-token-mismatch",
        "this form's CSRF token is missing or is not this session's: nothing was changed; "
        "reload the page and send the form again",
    )


Page = Callable[[web.Request], Awaitable[web.StreamResponse]]
Action = Callable[[web.Request, Form], Awaitable[web.StreamResponse]]


def signed_in_only(handler: Page) -> Page:
    """A page for signed-in sessions; anyone else is sent to the sign-in page."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not await signed_in(request):
            return see_other(sign_in_url(request))
        return await handler(request)

    return guarded


def form_action(handler: Action, *, signed_in_first: bool = True) -> Page:
    """A state-changing form: signed in (else to the sign-in page), and its CSRF token the
    session's (else 403); nothing is read or changed before both hold."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if signed_in_first and not await signed_in(request):
            return see_other(str(request.app.router["console_sign_in"].url_for()))
        try:
            form = await request.post()
        except ValueError:  # not a form at all (bytes that are not UTF-8, a broken multipart)
            form = MultiDictProxy(MultiDict())
        if not csrf_matches(await get_session(request), form):
            return csrf_refusal()
        return await handler(request, form)

    return guarded

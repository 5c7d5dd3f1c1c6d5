"""Every error answer of the application is problem+json (RFC 9457, contract §2).

One middleware, outermost, does three things the routes cannot do for themselves:

- it refuses a path parameter that names nothing before any handler runs (and so before any
  query): no id, address or token of this service holds a control character, and PostgreSQL
  refuses a NUL in text where SQLite would look it up, so both databases would answer
  differently (500 against 404) without it;
- it turns the ``web.HTTPException``\\ s raised by aiohttp or a handler (the router's 404 and 405,
  413 for a body over the size limit, …) into problem answers, keeping their headers
  (``Allow`` on a 405);
- it answers what a handler did not expect: 503 when the database is away, else 500, both
  logged, never aiohttp's text/plain page.

What aiohttp answers before the application sees a request (the HTTP parser's 400s) cannot be
shaped here: docs/decisions.md, "Hostile clients".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus

from aiohttp import web
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from webhooks.problems import CONTENT_TYPE, problem

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The longest name any path parameter can carry (an address is at most 254 characters, a token
# a few hundred), with room to spare.
MAX_PATH_PARAMETER = 1024
_NAMES_NOTHING = re.compile(r"[\x00-\x1f\x7f]")
# Errors that mean the database (or the way to it) is away, as the processor reads them too.
_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, OSError, TimeoutError)
# Problem types of the statuses aiohttp raises, named as the routes name their own.
_SLUGS = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    408: "request-timeout",
    413: "payload-too-large",
    415: "unsupported-media-type",
}
# Headers of an HTTPException that describe its own text/plain body, not the answer.
_BODY_HEADERS = frozenset({"content-type", "content-length"})


def bad_path_parameter(match_info: Mapping[str, str]) -> str | None:
    """The name of the first path parameter that cannot name anything, or None."""
    for name, value in match_info.items():
        if len(value) > MAX_PATH_PARAMETER or _NAMES_NOTHING.search(value):
            return name
    return None


def _slug(status: int) -> str:
    return _SLUGS.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "-")


def _detail(request: web.Request, exc: web.HTTPException) -> str:
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
    if exc.status == 404:
        return f"nothing at {request.path}"
    text = exc.text or ""
    # aiohttp's default text is "<status>: <reason>", which says nothing the title does not.
    return exc.reason if text.startswith(f"{exc.status}: ") else text


def from_http_exception(request: web.Request, exc: web.HTTPException) -> web.Response:
    """The problem answer for an aiohttp HTTP error, with the exception's own headers."""
    headers = {k: v for k, v in exc.headers.items() if k.lower() not in _BODY_HEADERS}
    return problem(exc.status, _slug(exc.status), _detail(request, exc), headers=headers)


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    name = bad_path_parameter(request.match_info)
    if name is not None:
        return problem(404, "not-found", f"no resource has such a {name}")
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == CONTENT_TYPE:
            raise
        return from_http_exception(request, exc)
    except _UNAVAILABLE as exc:
        log.warning("http.database_unavailable path=%s error=%r", request.path, exc)
        return problem(
            503,
            "database-unavailable",
            "the database did not answer; retry later",
            headers={"Retry-After": "5"},
        )
    except Exception:
        log.exception("http.unexpected_error method=%s path=%s", request.method, request.path)
        return problem(500, "internal-error", "the service failed on this request")

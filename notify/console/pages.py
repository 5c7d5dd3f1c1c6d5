"""The console's lists and the forms that change them: search, the outbox with requeue,
suppressions and opt-outs with lift.

Each reads and changes through the admin API's own functions (``notify.web.admin_*``). A form
answers with a redirect to the page it came from and a message for it: what it did, or why
it did nothing (an address not suppressed, a row that is not dead or failed).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session

from notify.console.render import page
from notify.console.sessions import (
    Form,
    console_path,
    flash,
    form_action,
    see_other,
    signed_in_only,
)
from notify.db.models import OutboxStatus
from notify.keys import ENGINE, SERVICES
from notify.web.admin import notification_view
from notify.web.admin_outbox import NotRequeueable, outbox_rows, requeue_row, row_id
from notify.web.admin_search import MAX_QUERY, find, searchable
from notify.web.admin_suppressions import (
    lift_opt_out,
    lift_suppression,
    opt_outs,
    suppressions,
)

# The statuses an operator acts on, the ones that need attention first.
OUTBOX_TABS = (OutboxStatus.DEAD, OutboxStatus.FAILED, OutboxStatus.PENDING)
REQUEUEABLE = frozenset({OutboxStatus.DEAD.value, OutboxStatus.FAILED.value})


async def search_page(request: web.Request) -> web.StreamResponse:
    given = request.query.get("q", "")
    items, error = [], None
    if given.strip():
        q = searchable(given)
        if q is None:
            error = f"Search for 1 to {MAX_QUERY} printable characters."
        else:
            items = await find(request.app[ENGINE], q)
    return await page(
        request, "search.html", title="Search", q=given.strip(), items=items, error=error
    )


async def outbox_page(request: web.Request) -> web.StreamResponse:
    status = request.query.get("status", OutboxStatus.DEAD.value)
    if status not in {tab.value for tab in OUTBOX_TABS}:
        status = OutboxStatus.DEAD.value
    rows = await outbox_rows(request.app[ENGINE], status)
    renderer = request.app[SERVICES].renderer
    return await page(
        request,
        "outbox.html",
        title=f"Outbox: {status}",
        listed=status,
        tabs=[tab.value for tab in OUTBOX_TABS],
        items=[notification_view(row, renderer) for row in rows],
        requeueable=REQUEUEABLE,
    )


async def suppressions_page(request: web.Request) -> web.StreamResponse:
    engine = request.app[ENGINE]
    return await page(
        request,
        "suppressions.html",
        title="Suppressions and opt-outs",
        suppressions=await suppressions(engine),
        opt_outs=await opt_outs(engine),
    )


def _back(request: web.Request, form: Form, default: str) -> web.Response:
    return see_other(console_path(form.get("back"), default))


async def requeue(request: web.Request, form: Form) -> web.StreamResponse:
    session = await get_session(request)
    given = request.match_info["id"]
    found = row_id(given)
    back = f"/admin/notifications/{given}"
    try:
        if found is None or not await requeue_row(request.app[ENGINE], found):
            flash(session, f"There is no notification {given}.", error=True)
            return _back(request, form, "/admin/outbox")
    except NotRequeueable as exc:
        flash(session, f"Nothing was requeued: {exc}.", error=True)
        return _back(request, form, back)
    request.app[SERVICES].background.delivery_wakeup.set()
    flash(session, f"Notification {found} is pending again; it goes out with the next delivery.")
    return _back(request, form, back)


def _field(form: Form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def lift_suppression_form(request: web.Request, form: Form) -> web.StreamResponse:
    session = await get_session(request)
    address = _field(form, "address")
    if not address:
        flash(session, "Give the address whose suppression to lift.", error=True)
    elif await lift_suppression(request.app[ENGINE], address):
        flash(session, f"{address} is mailed again.")
    else:
        flash(session, f"{address} is not suppressed: nothing was changed.", error=True)
    return _back(request, form, "/admin/suppressions")


async def lift_opt_out_form(request: web.Request, form: Form) -> web.StreamResponse:
    session = await get_session(request)
    subscription_id, address = _field(form, "subscription_id"), _field(form, "address")
    if not subscription_id or not address:
        flash(session, "Give the subscription and the address whose opt-out to lift.", error=True)
    elif await lift_opt_out(request.app[ENGINE], subscription_id, address):
        flash(session, f"{address} gets the reminders of {subscription_id} again.")
    else:
        flash(
            session,
            f"{address} has not opted out of {subscription_id}: nothing was changed.",
            error=True,
        )
    return _back(request, form, "/admin/suppressions")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/", signed_in_only(search_page))
    app.router.add_get("/admin/outbox", signed_in_only(outbox_page))
    app.router.add_get("/admin/suppressions", signed_in_only(suppressions_page))
    app.router.add_post("/admin/notifications/{id}/requeue", form_action(requeue))
    app.router.add_post("/admin/suppressions/lift", form_action(lift_suppression_form))
    app.router.add_post("/admin/opt-outs/lift", form_action(lift_opt_out_form))

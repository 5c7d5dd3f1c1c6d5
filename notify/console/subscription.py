"""The subscription page: state and eligibility in words, the chart of the term, what comes
next (the forecast), and one timeline of what arrived, was computed and was sent.

Everything comes from the admin API's functions: the story (``notify.web.admin.story``), the
forecast of the stored state (``billingcore.forecast`` through ``admin_forecast``), so the
page says what the API says.
"""

from __future__ import annotations

from aiohttp import web

from billingcore.forecast import forecast, horizon
from notify.console import chart
from notify.console.pages import REQUEUEABLE
from notify.console.render import page
from notify.console.sessions import signed_in_only
from notify.console.timeline import timeline
from notify.keys import CLOCK, ENGINE, SERVICES
from notify.web.admin import story
from notify.web.admin_forecast import forecast_view, stored_state
from webhooks.problems import problem


async def subscription_page(request: web.Request) -> web.StreamResponse:
    subscription_id = request.match_info["id"]
    engine = request.app[ENGINE]
    found = await story(engine, request.app[SERVICES].renderer, subscription_id)
    if found is None:
        return problem(404, "not-found", f"no subscription or event for {subscription_id!r}")
    stored = await stored_state(engine, subscription_id)
    ahead, drawn = None, None
    if stored is not None:
        state, cursor = stored
        now = await request.app[CLOCK].now()
        upcoming = forecast(state, through_cursor=cursor, as_of=now, through=horizon(now))
        ahead = forecast_view(upcoming)
        drawn = chart.chart(
            state,
            chart.stored_periods(found["invoices"]),
            chart.forecast_periods(upcoming.charges),
            now,
        )
    state_view = found["state"]
    customer = None if state_view is None else state_view["detail"]["customer"]
    title = subscription_id if customer is None else f"{customer['name']}: {subscription_id}"
    return await page(
        request,
        "subscription.html",
        title=title,
        subscription_id=subscription_id,
        state=state_view,
        customer=customer,
        forecast=ahead,
        chart=drawn,
        timeline=timeline(found),
        opt_outs=found["opt_outs"],
        requeueable=REQUEUEABLE,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/subscriptions/{id}", signed_in_only(subscription_page))

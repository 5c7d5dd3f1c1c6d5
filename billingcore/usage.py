"""Usage: the reports of billable users, and what is measured from them.

Rules: CONTRACT §2 (``usage.reported``; delivery in any order, repeated) and §3 (max users of a
period: the highest ``billable_users``, or ``max_users`` when given, among the reports observed
in it; it starts again at every new term; the latest ``billable_users`` sets the seats of an
auto-renewal and the floor of a manual one).
"""

from __future__ import annotations

import bisect
from dataclasses import replace
from datetime import datetime
from typing import Any

from billingcore.commands import ReportUsage
from billingcore.dates import Term, midnight
from billingcore.explanations import usage_evidence
from billingcore.outcomes import Applied, Result, reject
from billingcore.rules import Family, command_rule
from billingcore.state import Subscription, UsageReport

Reports = tuple[UsageReport, ...]


def latest_report(
    state: Subscription, *, before: datetime | None = None, through: datetime | None = None
) -> UsageReport | None:
    """The latest report observed strictly before ``before`` and at or before ``through``.

    Rule: CONTRACT §3 and §5 use the latest ``billable_users``; a report counts from the moment
    it was observed. None when nothing was reported (in that window).
    """
    return latest_of(state.usage, before=before, through=through)


def latest_of(
    reports: Reports, *, before: datetime | None = None, through: datetime | None = None
) -> UsageReport | None:
    """``latest_report`` among a term's ``reports``, in observation order (CONTRACT §3, §5)."""
    latest: UsageReport | None = None
    for report in reports:
        if (before is None or report.observed_at < before) and (
            through is None or report.observed_at <= through
        ):
            latest = report
    return latest


def latest_billable_users(
    state: Subscription, *, before: datetime | None = None, through: datetime | None = None
) -> int | None:
    """``billable_users`` of ``latest_report`` (CONTRACT §3, §5), or None without reports."""
    report = latest_report(state, before=before, through=through)
    return None if report is None else report.billable_users


def max_users(state: Subscription, period: Term) -> int:
    """Max users of ``period``: the highest count among reports observed in it, else 0.

    Rule: CONTRACT §3, "the highest billable_users (or max_users, when given) among the usage
    reports observed in it".
    """
    return peak(state.usage, period)


def peak(reports: Reports, period: Term) -> int:
    """``max_users`` of ``period`` among ``reports`` (CONTRACT §3, max users)."""
    best = 0
    for report in reports:
        if period.contains(report.observed_at.date()) and report.users > best:
            best = report.users
    return best


def max_users_evidence(state: Subscription, period: Term) -> dict[str, Any]:
    """``max_users`` of ``period`` and the reports that set it, by ``observed_at``.

    Rule: CONTRACT §6, an explanation's inputs name the usage reports that set a maximum.
    """
    return peak_evidence(state.usage, period)


def peak_evidence(reports: Reports, period: Term) -> dict[str, Any]:
    """``max_users_evidence`` of ``period`` among ``reports`` (CONTRACT §6, inputs)."""
    best = peak(reports, period)
    setting = [
        (report.observed_at.isoformat(), report.users)
        for report in reports
        if best > 0 and period.contains(report.observed_at.date()) and report.users == best
    ]
    return {"max_users": best, "max_set_by": usage_evidence(setting)}


def with_usage(state: Subscription, report: UsageReport) -> Subscription:
    """The state with ``report`` added in its place; an identical report is kept once.

    Rule: CONTRACT §2, delivery is in any order and may repeat: the stored reports are sorted
    by observation, so the result does not depend on arrival order.
    """
    orders = [existing.order for existing in state.usage]
    position = bisect.bisect_left(orders, report.order)
    if position < len(orders) and orders[position] == report.order:
        return state
    usage = (*state.usage[:position], report, *state.usage[position:])
    return replace(state, usage=usage)


def report_usage(state: Subscription, cmd: ReportUsage, now: datetime) -> Result:
    """usage.reported: kept in observation order; max users start again each term (CONTRACT §3).

    Refused when observed before the current term (it can no longer count) or inconsistent.
    """
    if cmd.billable_users < 0 or (cmd.max_users is not None and cmd.max_users < cmd.billable_users):
        return reject("invalid_usage", "billable_users ≥ 0 and max_users ≥ billable_users")
    report = UsageReport(
        observed_at=cmd.observed_at, billable_users=cmd.billable_users, max_users=cmd.max_users
    )
    if report.observed_at < midnight(state.term.start):
        return reject("usage_before_term", f"observed before the term {state.term}")
    return Applied(state=with_usage(state, report))


FAMILY = Family(name="usage", commands=dict([command_rule(ReportUsage, report_usage)]))

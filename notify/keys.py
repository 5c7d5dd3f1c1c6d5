"""Typed application keys: what the app factory puts on the application for the routes."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.clock import Clock
from notify.config import Settings
from notify.inbox import Inbox
from notify.metrics import Metrics
from notify.services import Services
from webhooks.signature import Verifier

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
METRICS = web.AppKey("metrics", Metrics)
INBOX = web.AppKey("inbox", Inbox)
VERIFIER = web.AppKey("verifier", Verifier)
SERVICES = web.AppKey("services", Services)
CLOCK = web.AppKey("clock", Clock)

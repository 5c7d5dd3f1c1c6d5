"""Prometheus metrics, one registry per running service (so tests can run several side by side)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """Every metric the service exports, with stable names."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.webhooks = Counter(
            "notify_webhooks_received",
            "Webhooks received, by the status of the answer",
            ["status"],
            registry=self.registry,
        )
        self.ingest_latency = Histogram(
            "notify_webhook_ingest_seconds",
            "Time from request to answer for POST /webhooks",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.events_processed = Counter(
            "notify_events_processed",
            "Events and occasions applied by the processor, by resulting status",
            ["status"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "notify_notifications",
            "Notifications by kind and final status",
            ["kind", "status"],
            registry=self.registry,
        )
        self.delivery_attempts = Counter(
            "notify_delivery_attempts",
            "SMTP or file delivery attempts, by result",
            ["result"],
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "notify_delivery_seconds",
            "Time to hand one email to the transport",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0),
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "notify_outbox_depth",
            "Outbox rows waiting to be delivered, by status",
            ["status"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""Prometheus metrics: what operators graph and alert on.

Counters and histograms are updated where things happen; the gauges that describe shared
state (open handoffs, outbox backlog and its age) are read from the database at scrape
time, so every worker reports the same, true numbers.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Handoff, HandoffStatus, OutboxItem, OutboxStatus, utcnow

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

MESSAGES_IN = Counter("carebot_messages_in_total", "Customer events received", ["channel"])
MESSAGES_OUT = Counter("carebot_messages_out_total", "Deliveries made", ["channel", "kind"])
DELIVERY_FAILURES = Counter(
    "carebot_delivery_failures_total", "Failed delivery attempts", ["channel", "reason"]
)
DUPLICATES = Counter("carebot_duplicate_events_total", "Redelivered events dropped", ["source"])
EVENT_SECONDS = Histogram(
    "carebot_event_seconds",
    "Time to handle one inbound event",
    ["event"],
    buckets=LATENCY_BUCKETS,
)
DELIVERY_LAG_SECONDS = Histogram(
    "carebot_delivery_lag_seconds",
    "From commit to delivered (outbox lag)",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
HANDOFFS_OPEN = Gauge("carebot_handoffs_open", "Handoffs waiting or claimed", ["status"])
OUTBOX_BACKLOG = Gauge("carebot_outbox_backlog", "Deliveries not sent yet")
OUTBOX_OLDEST_SECONDS = Gauge(
    "carebot_outbox_oldest_age_seconds", "Age of the oldest pending delivery"
)


async def refresh_gauges(db: Database) -> None:
    """Read the shared-state gauges from the database."""
    async with db.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(Handoff.status, func.count())
                .where(Handoff.status.in_([HandoffStatus.WAITING, HandoffStatus.CLAIMED]))
                .group_by(Handoff.status)
            )
        ).all()
        count, oldest = (
            await connection.execute(
                select(func.count(), func.min(OutboxItem.created_at)).where(
                    OutboxItem.status == OutboxStatus.PENDING
                )
            )
        ).one()
    counts = {str(status): int(n) for status, n in rows}
    for status in (HandoffStatus.WAITING, HandoffStatus.CLAIMED):
        HANDOFFS_OPEN.labels(status=str(status)).set(counts.get(str(status), 0))
    OUTBOX_BACKLOG.set(int(count or 0))
    OUTBOX_OLDEST_SECONDS.set((utcnow() - oldest).total_seconds() if oldest else 0)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST

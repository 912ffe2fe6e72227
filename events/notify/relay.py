"""The notification relay: hands every stored event to the sinks (webhook fan-out, MQTT) in each tenant's commit
order, from a durable cursor per tenant and sink, so a crash, a restart or a broker outage loses nothing: a batch
is handed on at least once, and its cursor moves in the same transaction as the sink's own writes.

One relay runs per deployment (a Redis lease; a second one waits as a standby): `manage.py run_relay`. It reads
new events every VMS_NOTIFY_POLL_S and then reports camera health (events.notify.health).
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from cameras.pipeline.lease import Lease, renew
from cameras.pipeline.supervisor import worker_name
from tenants.models import Tenant

from ..models import Event, NotifyCursor

logger = logging.getLogger(__name__)

BATCH = 500  # events per tenant per read
LEASE_MS = 10_000
MAX_SINK_BACKOFF_S = 30.0
# Every sink's name, for the cursors of a new tenant.
SINKS = ("webhooks", "mqtt", *settings.VMS_RELAY_SINKS)


class Sink(Protocol):
    name: str  # its cursors' NotifyCursor.sink

    def handle(self, events: list[Event]) -> None:
        """Hand on `events` (each tenant's in `seq` order). Runs in the transaction that then moves the cursors:
        raise to get the same events again later."""

    def close(self) -> None:
        """Let go of outside connections: the relay stops or lost its lease (a later handle() may open them again)."""


@receiver(post_save, sender=Tenant)
def _cursors_for_new_tenant(sender, instance: Tenant, created: bool, **kwargs) -> None:
    """A new tenant's events all go out, from its first. (A tenant without a cursor, one that predates a sink,
    starts at its newest event instead: a sink added later does not replay the past.)"""
    if created:
        NotifyCursor.objects.bulk_create(
            [NotifyCursor(tenant=instance, sink=sink, seq=0) for sink in SINKS], ignore_conflicts=True
        )


_START_MISSING_CURSORS = """
INSERT INTO events_notifycursor (tenant_id, sink, seq)
SELECT t.id, %(sink)s, COALESCE((SELECT max(e.seq) FROM events_event e WHERE e.tenant_id = t.id), 0)
FROM tenants_tenant t
WHERE NOT EXISTS (SELECT 1 FROM events_notifycursor c WHERE c.tenant_id = t.id AND c.sink = %(sink)s)
ON CONFLICT DO NOTHING
"""

# Each tenant's next events after its cursor: one index range per tenant (event_tenant_seq).
_NEXT_EVENTS = """
SELECT e.* FROM events_notifycursor c
CROSS JOIN LATERAL (
    SELECT * FROM events_event e WHERE e.tenant_id = c.tenant_id AND e.seq > c.seq ORDER BY e.seq LIMIT %(batch)s
) e
WHERE c.sink = %(sink)s
ORDER BY e.tenant_id, e.seq
"""


def start_cursors(sink: Sink) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_START_MISSING_CURSORS, {"sink": sink.name})


def relay_once(sink: Sink) -> int:
    """Hand the sink every tenant's next events (up to BATCH each) and move its cursors; returns how many."""
    with transaction.atomic():
        events = list(Event.objects.raw(_NEXT_EVENTS, {"sink": sink.name, "batch": BATCH}))
        if not events:
            return 0
        sink.handle(events)
        last = {event.tenant_id: event.seq for event in events}  # in seq order: the last one per tenant wins
        for tenant_id, seq in last.items():
            NotifyCursor.objects.filter(tenant_id=tenant_id, sink=sink.name).update(seq=seq)
    return len(events)


class Relay:
    """Runs the sinks (and `tick`, e.g. the camera health check, once per pass) while it holds the lease."""

    def __init__(self, sinks: Sequence[Sink], tick: Callable[[], object] | None = None) -> None:
        self.sinks = list(sinks)
        self.tick = tick
        self.lease = Lease(f"{settings.VMS_REDIS_PREFIX}:notify:relay", LEASE_MS, holder=worker_name())
        self._retry_at = {sink.name: 0.0 for sink in self.sinks}
        self._failures = {sink.name: 0 for sink in self.sinks}

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if self.lease.acquire():
                    try:
                        self._run_while_held(stop)
                    finally:
                        for sink in self.sinks:  # a standby stays off the sinks' brokers
                            sink.close()
            except Exception:  # Redis or PostgreSQL away: stand by, then try again
                logger.warning("notification relay interrupted", exc_info=True)
                connection.close_if_unusable_or_obsolete()
            finally:
                self._release()
            stop.wait(LEASE_MS / 5000)  # a standby tries again well before the holder's lease could expire

    def _run_while_held(self, stop: threading.Event) -> None:
        logger.info("notification relay running (%s)", ", ".join(s.name for s in self.sinks))
        for sink in self.sinks:
            start_cursors(sink)
        renewed_at = time.monotonic()
        while not stop.is_set():
            if time.monotonic() - renewed_at > LEASE_MS / 3000:
                if not renew([self.lease])[0]:
                    logger.warning("notification relay lease lost; standing by")
                    return
                renewed_at = time.monotonic()
            if not self.run_pass():
                stop.wait(settings.VMS_NOTIFY_POLL_S)

    def _release(self) -> None:
        try:
            self.lease.release()
        except Exception:  # Redis away: the lease expires by itself
            logger.warning("notification relay could not release its lease", exc_info=True)

    def run_pass(self) -> bool:
        """One pass over the sinks; whether any handed on a full batch (more may be waiting)."""
        busy = False
        for sink in self.sinks:
            if time.monotonic() < self._retry_at[sink.name]:
                continue
            try:
                busy |= relay_once(sink) >= BATCH
            except Exception:
                # The cursor did not move: the same events go out once the sink (its broker, the database) is back.
                failures = self._failures[sink.name] = self._failures[sink.name] + 1
                delay = min(2 ** (failures - 1), MAX_SINK_BACKOFF_S)
                logger.warning("notify sink %s failed (%d in a row); retrying in %.0f s", sink.name, failures, delay,
                               exc_info=True)  # fmt: skip
                self._retry_at[sink.name] = time.monotonic() + delay
                connection.close_if_unusable_or_obsolete()  # a restarted PostgreSQL: reconnect on the next query
            else:
                self._failures[sink.name] = 0
        if self.tick is not None:
            try:
                self.tick()
            except Exception:
                logger.warning("notify tick failed", exc_info=True)
        return busy

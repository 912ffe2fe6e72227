"""Webhook delivery: the relay's `WebhookSink` turns each event into a `Delivery` per matching subscription, in the
relay's transaction, and the `notify` workers send them (events.notify.tasks).

A delivery is durable in PostgreSQL; Celery messages only say "take the next turn" (events.notify.turns: tenants
take turns, then their subscriptions). Each subscription is drained by at most one worker thread at a time (a Redis
lock), oldest first, for a bounded slice before it queues itself again at the back of its tenant's line: a slow
receiver holds one thread, and other tenants' hooks go on in the rest.
Failures are retried with exponential back-off and jitter; a subscription failing for VMS_WEBHOOK_DISABLE_AFTER is
disabled, and says why.

Outcomes are written in chunks (FLUSH_EVERY deliveries or FLUSH_S seconds, and at the end of a slice), one UPDATE
each: delivery is at least once, and a worker that dies before a flush leaves those deliveries pending, to be sent
again under the same X-VMS-Delivery-Id (receivers deduplicate on it).
"""

import hashlib
import hmac
import logging
import random
import secrets
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, QuerySet
from django.utils import timezone

from cameras.pipeline.lease import Lease, renew
from tenants.usage import record as record_usage

from ..models import Delivery, Event, Severity, Subscription
from ..serializers import event_envelope, iso_ms
from ..services import copy_into_table
from . import turns
from .egress import CONNECT_TIMEOUT_S, post

logger = logging.getLogger(__name__)

DRAIN_TASK = "events.notify.drain"
SLICE_S = 10.0  # a drain sends for at most this long, or SLICE_DELIVERIES, then queues itself behind the others
SLICE_DELIVERIES = 100
FLUSH_EVERY = 50  # outcomes written in one UPDATE; at most this many are sent again after a worker dies
FLUSH_S = 0.5  # ...or after this long, so that the delivery log stays current with a slow receiver
RENEW_S = 2.0  # the drain lock is renewed this often (its TTL is far longer: see _lock_ms)
SUBSCRIPTION_FIELDS = ("tenant", "url", "secret", "enabled", "failing_since")
DELIVERY_FIELDS = ("event_id", "body", "attempts")
SCHEDULE_AHEAD_S = 10.0  # a retry due within this is queued with a countdown; later ones are left to the sweep
USER_AGENT = "vms-webhooks/2"
TEST_EVENT_PREFIX = "evt-test-"
# A chunk of outcomes in one statement (bulk_update's CASE per row and column costs more CPU than the POSTs did).
_RECORD = """
UPDATE events_delivery AS d SET state = v.state, attempts = v.attempts, response_code = v.response_code,
    latency_ms = v.latency_ms, last_attempt_at = v.last_attempt_at, last_error = v.last_error,
    next_attempt_at = v.next_attempt_at
FROM (VALUES {values})
    AS v (id, state, attempts, response_code, latency_ms, last_attempt_at, last_error, next_attempt_at)
WHERE d.id = v.id
"""
_RECORD_ROW = "(%s::uuid, %s, %s::integer, %s::integer, %s::integer, %s::timestamptz, %s, %s::timestamptz)"
# Set when the worker shuts down: drains stop after the attempt they are in and leave the rest to the next worker.
stopping = threading.Event()


def signature(secret: str, t: int, body: bytes) -> str:
    """The X-VMS-Signature value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def matches(subscription: Subscription, event: Event) -> bool:
    """Whether the event passes the subscription's filters (an empty one passes everything)."""
    zones = event.payload.get("zones") if isinstance(event.payload, dict) else None
    return (
        (not subscription.types or event.type in subscription.types)
        and (not subscription.camera_ids or event.camera_id in subscription.camera_ids)
        and (not subscription.severity or event.severity == subscription.severity)
        and (not subscription.zones or (isinstance(zones, list) and any(z in subscription.zones for z in zones)))
    )


class WebhookSink:
    """The relay's sink: a pending Delivery for every (event, enabled matching subscription)."""

    name = "webhooks"

    def handle(self, events: list[Event]) -> None:
        subscriptions = defaultdict(list)
        for subscription in Subscription.objects.filter(tenant_id__in={e.tenant_id for e in events}, enabled=True):
            subscriptions[subscription.tenant_id].append(subscription)
        now = timezone.now()
        deliveries = []
        for event in events:
            body = None
            for subscription in subscriptions[event.tenant_id]:
                if matches(subscription, event):
                    body = body or event_envelope(event).decode()
                    deliveries.append(
                        Delivery(subscription=subscription, event_id=event.id, body=body, next_attempt_at=now)
                    )
        copy_into_table(deliveries)
        schedule_on_commit({d.subscription_id: d.subscription.tenant_id for d in deliveries})

    def close(self) -> None:
        """Nothing to let go: deliveries are sent by the notify workers."""


def send_test(subscription: Subscription) -> Delivery:
    """Queue a synthetic `test` event to the subscription, whatever its filters and even when disabled."""
    now = timezone.now()
    event = Event(
        id=f"{TEST_EVENT_PREFIX}{secrets.token_hex(8)}",
        tenant_id=subscription.tenant_id,
        camera_id=subscription.camera_ids[0] if subscription.camera_ids else "",
        type="test",
        event_id=0,
        confidence=1.0,
        payload={},
        trace_id=f"test-{secrets.token_hex(8)}",
        severity=Severity.DETECTION,
        ts=now,
    )
    delivery = Delivery.objects.create(
        subscription=subscription, event_id=event.id, body=event_envelope(event).decode(), next_attempt_at=now
    )
    schedule_on_commit({subscription.pk: subscription.tenant_id})
    return delivery


def schedule_on_commit(subscriptions: dict[int, str]) -> None:
    if subscriptions:
        transaction.on_commit(lambda: schedule(subscriptions))


def schedule(subscriptions: dict[int, str], countdown: float = 0) -> None:
    """Ask the notify workers to drain these subscriptions (id: tenant id): each goes in its tenant's line now, and
    a message asks for a turn; after a countdown, the message puts it in the line. A lost message costs only
    latency: the sweep finds every due delivery again."""
    try:
        for subscription_id, tenant_id in subscriptions.items():
            if countdown:
                current_app.send_task(DRAIN_TASK, args=[subscription_id, tenant_id], countdown=countdown)
            else:
                turns.offer(subscription_id, tenant_id)
                current_app.send_task(DRAIN_TASK)
    except Exception:
        logger.warning("cannot queue webhook drains; the sweep will", exc_info=True)


def sweep() -> int:
    """Queue a drain for every subscription with a due pending delivery (retries, lost messages, dead workers)."""
    due = dict(
        Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=timezone.now())
        .order_by()
        .values_list("subscription_id", "subscription__tenant_id")
        .distinct()
    )
    schedule(due)
    return len(due)


def drain(subscription_id: int | None = None, tenant_id: str | None = None) -> int:
    """Take the next turn (after putting the given subscription in its tenant's line) and send that subscription's
    due deliveries, if no other drain of it runs; returns how many were attempted."""
    if stopping.is_set():
        return 0  # a stopping worker leaves the lines to the sweep's messages
    if subscription_id is not None:
        turns.offer(subscription_id, tenant_id)
    taken = turns.take()
    if taken is None:
        return 0
    subscription_id, tenant_id = taken
    lease = Lease(f"{settings.VMS_REDIS_PREFIX}:notify:drain:{subscription_id}", _lock_ms())
    if not lease.acquire():
        return 0  # its holder looks for due rows again after it lets go
    try:
        sent, more = _drain_slice(subscription_id, lease)
    finally:
        lease.release()
    if more:
        schedule({subscription_id: tenant_id})
    else:
        _schedule_next(subscription_id, tenant_id)
    return sent


def _lock_ms() -> int:
    # Renewed every RENEW_S between attempts: it need only outlast one attempt (plus slack), so a dead worker's lock
    # goes soon.
    return int((CONNECT_TIMEOUT_S + settings.VMS_WEBHOOK_TIMEOUT + RENEW_S + 10) * 1000)


def _due(subscription_id: int) -> QuerySet[Delivery]:
    return Delivery.objects.filter(
        subscription_id=subscription_id, state=Delivery.State.PENDING, next_attempt_at__lte=timezone.now()
    )


class Outcomes:
    """Attempted deliveries whose outcomes are not written yet: one UPDATE per chunk."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.deliveries: list[Delivery] = []
        self.since = time.monotonic()

    def add(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if len(self.deliveries) >= FLUSH_EVERY or time.monotonic() - self.since >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self.deliveries:
            params = [
                value
                for d in self.deliveries
                for value in (d.pk, d.state, d.attempts, d.response_code, d.latency_ms, d.last_attempt_at,
                              d.last_error, d.next_attempt_at)
            ]  # fmt: skip
            delivered = sum(d.state == Delivery.State.DELIVERED for d in self.deliveries)
            with transaction.atomic(), connection.cursor() as cursor:  # counted iff the outcome is written
                cursor.execute(_RECORD.format(values=", ".join([_RECORD_ROW] * len(self.deliveries))), params)
                record_usage(self.tenant_id, deliveries=delivered)
        self.deliveries, self.since = [], time.monotonic()


def _drain_slice(subscription_id: int, lease: Lease) -> tuple[int, bool]:
    """(attempts made, whether due deliveries remain)."""
    subscription = Subscription.objects.only(*SUBSCRIPTION_FIELDS).filter(pk=subscription_id).first()
    if subscription is None:
        return 0, False
    if not subscription.enabled:
        # Only test events go to a disabled subscription (to try it before enabling it again).
        _fail_pending(_due(subscription_id).exclude(event_id__startswith=TEST_EVENT_PREFIX))
    outcomes = Outcomes(subscription.tenant_id)
    try:
        return _send_due(subscription, lease, outcomes)
    finally:
        outcomes.flush()


def _send_due(subscription: Subscription, lease: Lease, outcomes: Outcomes) -> tuple[int, bool]:
    started = renewed = time.monotonic()
    sent = 0
    while sent < SLICE_DELIVERIES and time.monotonic() - started < SLICE_S and not stopping.is_set():
        outcomes.flush()  # what was sent is no longer due
        deliveries = list(
            _due(subscription.pk).only(*DELIVERY_FIELDS).order_by("created_at", "id")[: SLICE_DELIVERIES - sent]
        )
        if not deliveries:
            return sent, False
        for delivery in deliveries:
            error = attempt(subscription, delivery)
            outcomes.add(delivery)
            sent += 1
            if error is not None:
                outcomes.flush()  # before the disable fails what is pending, these retries among it
                _disable(subscription, error)
                return sent, False
            now = time.monotonic()
            if now - renewed >= RENEW_S:
                if not renew([lease])[0]:
                    return sent, True
                renewed = now
            if now - started >= SLICE_S or stopping.is_set():
                return sent, True
    outcomes.flush()
    return sent, _due(subscription.pk).exists()


def _schedule_next(subscription_id: int, tenant_id: str) -> None:
    """Queue the next drain: now, when a delivery came due while the lock was held (its message found the lock
    taken), or at the first retry when that is soon."""
    pending = Delivery.objects.filter(subscription_id=subscription_id, state=Delivery.State.PENDING)
    first = pending.aggregate(first=Min("next_attempt_at"))["first"]
    if first is None:
        return
    wait = (first - timezone.now()).total_seconds()
    if wait <= SCHEDULE_AHEAD_S:
        schedule({subscription_id: tenant_id}, countdown=max(wait, 0))


def headers(subscription: Subscription, delivery: Delivery, body: bytes) -> dict[str, str]:
    """The delivery's headers, signed afresh for this attempt."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-VMS-Signature": signature(subscription.secret, int(time.time()), body),
        "X-VMS-Event-Id": delivery.event_id,
        "X-VMS-Delivery-Id": str(delivery.id),
        "X-VMS-Attempt": str(delivery.attempts + 1),
    }


def attempt(subscription: Subscription, delivery: Delivery) -> str | None:
    """Send the delivery once and set its outcome on it (the caller writes it); the error to disable the
    subscription with, when it must be."""
    started = time.monotonic()
    body = delivery.body.encode()
    outcome = post(subscription.url, body, headers(subscription, delivery, body))
    now = timezone.now()
    delivery.attempts += 1
    delivery.response_code = outcome.code
    delivery.latency_ms = round((time.monotonic() - started) * 1000)
    delivery.last_attempt_at = now
    delivery.last_error = outcome.error
    if not outcome.error:
        delivery.state, delivery.next_attempt_at = Delivery.State.DELIVERED, None
        if subscription.failing_since is not None:
            Subscription.objects.filter(pk=subscription.pk).update(failing_since=None)
            subscription.failing_since = None
        return None
    if subscription.failing_since is None:
        Subscription.objects.filter(pk=subscription.pk, failing_since__isnull=True).update(failing_since=now)
        subscription.refresh_from_db(fields=["failing_since", "enabled"])
    if outcome.retry and subscription.enabled and not _should_disable(subscription, now):
        delivery.state = Delivery.State.PENDING
        delivery.next_attempt_at = now + timedelta(seconds=outcome.retry_after or backoff(delivery.attempts))
        return None
    delivery.state, delivery.next_attempt_at = Delivery.State.FAILED, None
    return outcome.error if subscription.enabled and _should_disable(subscription, now) else None


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: doubling from the base, capped, times 0.5 to 1.5 so
    receivers that failed together are not retried together."""
    base = min(settings.VMS_WEBHOOK_RETRY_MAX, settings.VMS_WEBHOOK_RETRY_BASE * 2 ** min(attempts - 1, 32))
    return min(settings.VMS_WEBHOOK_RETRY_MAX, base * random.uniform(0.5, 1.5))


def _should_disable(subscription: Subscription, now: datetime) -> bool:
    failing = subscription.failing_since
    return failing is not None and (now - failing).total_seconds() >= settings.VMS_WEBHOOK_DISABLE_AFTER


def _disable(subscription: Subscription, error: str) -> None:
    reason = f"Disabled: failing since {iso_ms(subscription.failing_since)}; last error: {error}"
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk, enabled=True).update(
            enabled=False, disabled_reason=reason, updated_at=timezone.now()
        )
        _fail_pending(Delivery.objects.filter(subscription_id=subscription.pk, state=Delivery.State.PENDING))
    subscription.enabled, subscription.disabled_reason = False, reason
    logger.warning("webhook subscription %s disabled: %s", subscription.pk, reason)


def _fail_pending(deliveries: QuerySet[Delivery]) -> None:
    deliveries.update(state=Delivery.State.FAILED, last_error="subscription disabled", next_attempt_at=None)

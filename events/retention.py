"""Retention: events past `expires` plus a grace period are deleted with their snapshots, in short batches; webhook
deliveries are kept for DELIVERY_LOG_DAYS."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from .models import Delivery, Event
from .services import delete_events

BATCH_SIZE = 1000
DELIVERY_LOG_DAYS = 7  # how long a subscription's delivery log goes back


def purge_cutoff(now: datetime | None = None) -> datetime:
    """Events that expired before this moment are deleted (expired ones stay readable as archived until then)."""
    return (now or timezone.now()) - timedelta(days=settings.VMS_EVENT_PURGE_GRACE_DAYS)


def purgeable_events(now: datetime | None = None) -> QuerySet[Event]:
    return Event.objects.filter(expires__lt=purge_cutoff(now))


def purge_expired_events(now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete every purgeable event, `batch_size` rows per transaction so no lock is held for long."""
    purgeable = purgeable_events(now or timezone.now())  # one cutoff for every batch
    total = 0
    while True:
        # The event_expires index serves this; each batch commits on its own.
        ids = list(purgeable.order_by("expires").values_list("id", flat=True)[:batch_size])
        if not ids:
            return total
        total += delete_events(Event.objects.filter(pk__in=ids))


def purge_delivery_log(now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete webhook deliveries created more than DELIVERY_LOG_DAYS ago, `batch_size` per statement."""
    old = Delivery.objects.filter(created_at__lt=(now or timezone.now()) - timedelta(days=DELIVERY_LOG_DAYS))
    total = 0
    while ids := list(old.values_list("id", flat=True)[:batch_size]):
        total += Delivery.objects.filter(pk__in=ids).delete()[0]
    return total

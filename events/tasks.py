import logging

from celery import shared_task

from .notify import tasks as notify_tasks  # noqa: F401  (registers the notify queue's tasks)
from .retention import purge_delivery_log, purge_expired_events

logger = logging.getLogger(__name__)


@shared_task(name="events.purge_expired_events")
def purge_expired_events_task() -> int:
    """Beat: delete events past expiry plus the grace period, with their snapshots, and old webhook deliveries."""
    deleted = purge_expired_events()
    logger.info("Purged %d expired events, %d old webhook deliveries", deleted, purge_delivery_log())
    return deleted

import logging

from celery import shared_task

from .retention import purge_expired_events

logger = logging.getLogger(__name__)


@shared_task(name="events.purge_expired_events")
def purge_expired_events_task() -> int:
    """Beat: delete events past expiry plus the grace period, with their snapshots."""
    deleted = purge_expired_events()
    logger.info("Purged %d expired events", deleted)
    return deleted

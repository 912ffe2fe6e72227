"""The notify queue's tasks (settings.CELERY_TASK_ROUTES sends `events.notify.*` there): webhook drains and the
sweep that beat runs every few seconds."""

import logging

from celery import shared_task
from celery.signals import worker_shutting_down

from . import webhooks

logger = logging.getLogger(__name__)


@shared_task(name=webhooks.DRAIN_TASK)
def drain_task(subscription_id: int | None = None, tenant_id: str | None = None) -> int:
    """Send the due webhook deliveries of the subscription whose turn it is (a retry's message names one to put in
    line first); at most one drain per subscription runs at a time."""
    return webhooks.drain(subscription_id, tenant_id)


@shared_task(name="events.notify.sweep")
def sweep_task() -> int:
    """Beat: queue drains for every subscription with a due delivery (retries, lost messages, dead workers)."""
    queued = webhooks.sweep()
    if queued:  # the routine run that finds nothing due stays out of the log (vms.celery.QuietRoutineTasks)
        logger.info("Queued drains of %d subscriptions with due webhook deliveries", queued)
    return queued


@worker_shutting_down.connect
def _stop_draining(**kwargs) -> None:
    """A worker that is asked to stop does so after the attempts in flight, not after whole drain slices."""
    webhooks.stopping.set()

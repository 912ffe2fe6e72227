import logging

from celery import shared_task

from .retention import purge_recordings

logger = logging.getLogger(__name__)


@shared_task(name="playback.purge_recordings")
def purge_recordings_task() -> dict[str, int]:
    """Beat: delete recordings past their tenant's retention, and the oldest ones while disk is short."""
    report = purge_recordings()
    if report.by_age or report.by_disk:
        logger.info("Purged %d expired and %d segments for disk space", report.by_age, report.by_disk)
    return {"by_age": report.by_age, "by_disk": report.by_disk, "bytes": report.bytes}

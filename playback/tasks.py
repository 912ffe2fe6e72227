import logging

from celery import shared_task

from .retention import discard_camera_folder, empty_trash, purge_recordings

logger = logging.getLogger(__name__)


@shared_task(name="playback.purge_recordings")
def purge_recordings_task() -> dict[str, int]:
    """Beat: delete recordings past their tenant's retention, and the oldest ones while disk is short."""
    empty_trash()  # what a lost empty_trash task left behind
    report = purge_recordings()
    if report.by_age or report.by_disk:
        logger.info("Purged %d expired and %d segments for disk space", report.by_age, report.by_disk)
    return {"by_age": report.by_age, "by_disk": report.by_disk, "bytes": report.bytes}


@shared_task(name="playback.empty_trash")
def empty_trash_task(name: str) -> None:
    """Delete a deleted camera's recordings, already moved out of the served tree."""
    empty_trash(name)


@shared_task(name="playback.sweep_camera_folder")
def sweep_camera_folder_task(tenant_id: str, camera_slug: str) -> None:
    """Delete what a deleted camera's recorder wrote after the delete (a segment it was finishing)."""
    if name := discard_camera_folder(tenant_id, camera_slug):
        empty_trash(name)

import logging

from celery import shared_task

from tenants.health import report_held_only

from .exports import run_export
from .retention import discard_camera_folder, empty_trash, purge_recordings

logger = logging.getLogger(__name__)


@shared_task(name="playback.purge_recordings")
def purge_recordings_task() -> dict[str, int]:
    """Beat: delete recordings past their tenant's retention, and the oldest ones while disk is short."""
    empty_trash()  # what a lost empty_trash task left behind
    report = purge_recordings()
    if report.by_age or report.by_disk or report.exports:
        logger.info(
            "Purged %d expired and %d segments for disk space, %d expired exports",
            report.by_age, report.by_disk, report.exports,
        )  # fmt: skip
    if report.held_only:
        logger.warning("Free disk is under VMS_RECORDINGS_MIN_FREE_MB and only legally held recordings are left")
    report_held_only(report.held_only)
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


# acks_late + reject_on_worker_lost: a worker killed mid-job (SIGKILL, a lost machine) leaves the message unacked, so
# another worker gets it and runs the job again from scratch (run_export clears what the first run left).
@shared_task(name="playback.run_export", acks_late=True, reject_on_worker_lost=True)
def run_export_task(export_id: int) -> None:
    """Make an export's MP4 files (queue `export`)."""
    run_export(export_id)

import logging

from celery import shared_task
from celery.signals import celeryd_after_setup

from cameras.pipeline.registry import KINDS
from tenants.health import HELD_ONLY, report_held_only

from .export_queue import claim_next_export
from .exports import run_export
from .models import Export
from .recording.keeper import MediaKeeper
from .retention import discard_camera_folder, discard_camera_objects, empty_trash, purge_recordings

logger = logging.getLogger(__name__)


@celeryd_after_setup.connect
def _keep_media(instance, **_kwargs) -> None:
    # A record worker looks after the recordings on its node's disk: recovery, uploads to the bucket, eviction.
    if KINDS["record"].queue in instance.app.amqp.queues.consume_from:
        MediaKeeper().start()


@shared_task(name="playback.purge_recordings")
def purge_recordings_task() -> dict[str, int]:
    """Beat: delete recordings past their tenant's retention or storage quota, and old ones while disk is short."""
    empty_trash()  # what a lost empty_trash task left behind
    report = purge_recordings()
    if report.by_age or report.by_quota or report.by_disk or report.exports:
        logger.info(
            "Purged %d expired segments, %d over storage quotas, %d for disk space, %d expired exports",
            report.by_age, report.by_quota, report.by_disk, report.exports,
        )  # fmt: skip
    if report.held_only:
        logger.warning("Cannot keep the disk floor: %s", HELD_ONLY)
    report_held_only(report.held_only)
    return {"by_age": report.by_age, "by_quota": report.by_quota, "by_disk": report.by_disk, "bytes": report.bytes}


@shared_task(name="playback.empty_trash")
def empty_trash_task(name: str) -> None:
    """Delete a deleted camera's recordings, already moved out of the served tree."""
    empty_trash(name)


@shared_task(name="playback.sweep_camera_folder")
def sweep_camera_folder_task(tenant_id: str, camera_slug: str) -> None:
    """Delete what a deleted camera's recorder wrote after the delete (an object it was finishing), and its objects in
    the bucket."""
    if name := discard_camera_folder(tenant_id, camera_slug):
        empty_trash(name)
    discard_camera_objects(tenant_id, camera_slug)


# acks_late + reject_on_worker_lost: a worker killed mid-job (SIGKILL, a lost machine) leaves the message unacked, so
# another worker gets it and runs the job it took again from scratch (run_export clears what the first run left).
@shared_task(name="playback.run_export", bind=True, acks_late=True, reject_on_worker_lost=True)
def run_export_task(self) -> None:
    """One turn of an `export` worker slot: run the next export, chosen fairly (playback.export_queue)."""
    export = claim_next_export(self.request.id)
    if export is None:  # what waits belongs to tenants at their max_running_exports: each gives a turn when done
        return
    run_export(export.pk)
    if Export.objects.filter(state=Export.State.QUEUED).exists():
        run_export_task.delay()  # a running slot is free: exports that waited for one get their turn

"""A deleted camera's recordings and snapshots leave the disk and the bucket with it; its Segment rows go by FK
cascade."""

from functools import partial

from django.conf import settings
from django.db import transaction

from cameras.models import Camera

from .retention import discard_camera_folder
from .tasks import empty_trash_task, sweep_camera_folder_task


def camera_deleted(sender: type[Camera], instance: Camera, using: str, **kwargs) -> None:
    """post_delete of any camera (API, admin, a queryset's or its tenant's delete): discard its files at commit."""
    # robust: the delete is committed whatever happens to its files (e.g. Redis down); purge_recordings empties
    # the trash later.
    transaction.on_commit(partial(discard_camera_files, instance.tenant_id, instance.slug), using=using, robust=True)


def discard_camera_files(tenant_id: str, camera_slug: str) -> None:
    """Move the camera's folder out of the served tree now, delete it in the background, and sweep the folder
    again, and its objects in the bucket, once its recorder, which may be finishing an object, has surely stopped
    (twice the pipeline lease)."""
    if name := discard_camera_folder(tenant_id, camera_slug):
        empty_trash_task.delay(name)
    sweep_camera_folder_task.apply_async((tenant_id, camera_slug), countdown=2 * settings.VMS_PIPELINE_LEASE_MS / 1000)

"""A camera's online/offline status: changed only on a real transition, each change stored as a StatusChange."""

from django.db import transaction

from cameras.models import Camera, StatusChange
from cameras.rtsp import mask_credentials


def set_status(camera: Camera, status: str, reason: str = "") -> bool:
    """Set the camera's status; returns whether it changed (and a StatusChange was stored)."""
    # One conditional UPDATE, so two writers cannot both record the same transition; in one transaction with its
    # StatusChange, so a write cut short (PostgreSQL restarting) and tried again records the transition too.
    with transaction.atomic():
        changed = Camera.objects.filter(pk=camera.pk).exclude(status=status).update(status=status)
        if changed:
            StatusChange.objects.create(camera_id=camera.pk, status=status, reason=mask_credentials(reason)[:200])
    camera.status = status
    return bool(changed)

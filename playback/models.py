from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from cameras.models import Camera
from tenants.gate import TenantQuerySet
from tenants.models import Tenant


class Segment(models.Model):
    """One recorded object: up to a minute of a camera's contiguous HLS segments (its parts), in one MPEG-TS file.

    `path` is relative to VMS_RECORDINGS_ROOT on the recording node, and to the bucket's prefix once uploaded.
    `sizes` and `durations` are its parts' bytes and seconds, in order: a playlist addresses each part inside the
    object with #EXT-X-BYTERANGE, so S3 gets one PUT and the index one row per camera-minute, not one per part.
    `node` names the node whose disk still holds the file ("" once only the bucket does); `uploaded_at` is set once
    the object is in the bucket (never without one). Missing time between objects is a gap.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="segments", db_index=False)
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="segments", db_index=False)
    start = models.DateTimeField()
    duration = models.FloatField(help_text="seconds")
    bytes = models.PositiveBigIntegerField()
    path = models.CharField(max_length=500, unique=True)
    sizes = ArrayField(models.PositiveIntegerField(), help_text="each part's bytes")
    durations = ArrayField(models.FloatField(), help_text="each part's seconds")
    node = models.CharField(max_length=63, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()
    camera_lookup = "camera__slug"

    class Meta:
        ordering = ["camera", "start"]
        indexes = [
            models.Index(fields=["camera", "start"], name="segment_camera_start"),
            models.Index(fields=["tenant", "start"], name="segment_tenant_start"),
            # A node's uploads to make and local copies to drop.
            models.Index(fields=["node", "start"], name="segment_on_node", condition=~models.Q(node="")),
        ]

    def __str__(self) -> str:
        return self.path


class ExportQuerySet(TenantQuerySet):
    def of_cameras(self, cameras: frozenset[str]) -> ExportQuerySet:
        """The exports whose every camera is one of `cameras`: an export shows all its cameras' files."""
        return self.exclude(files__in=ExportFile.objects.exclude(camera_slug__in=sorted(cameras)))


class Export(models.Model):
    """A job that turns a time range of one or more cameras into MP4 files (one per camera, `-c copy`).

    `expires` is when retention deletes it; a `legal_hold` export is never deleted, and neither are the recorded
    segments of its cameras and range. Queued exports run in the order playback.export_queue chooses.
    """

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="exports", db_index=False)
    name = models.CharField(max_length=200, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100")
    error = models.TextField(blank=True)
    legal_hold = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker last took it")
    task_id = models.CharField(
        max_length=64, blank=True, help_text="The export worker's task (Celery message) that took it"
    )

    objects = ExportQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["tenant", "-id"], name="export_tenant_newest"),
            # The queue: what waits or runs, per tenant, and when each tenant's last export started.
            models.Index(
                fields=["state", "tenant"], name="export_active", condition=models.Q(state__in=["queued", "running"])
            ),
            models.Index(fields=["tenant", "started_at"], name="export_tenant_started"),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.name or self.state})"


class ExportFile(models.Model):
    """One camera's MP4 of an export; `path` (relative to VMS_RECORDINGS_ROOT) is set only once it is complete."""

    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="files")
    # Kept when the camera is deleted: a held export outlives it.
    camera = models.ForeignKey(Camera, on_delete=models.SET_NULL, null=True, related_name="+")
    camera_slug = models.CharField(max_length=64)
    path = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True)
    duration = models.FloatField(null=True, help_text="seconds")
    gaps = models.JSONField(default=list, help_text='[{"start": ISO, "end": ISO}] without recording in the range')
    progress = models.PositiveSmallIntegerField(default=0)

    objects = TenantQuerySet.as_manager()
    tenant_lookup = "export__tenant_id"
    camera_lookup = "camera_slug"

    class Meta:
        ordering = ["export", "camera_slug"]

    def __str__(self) -> str:
        return f"{self.export_id}/{self.camera_slug}.mp4"

import secrets

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from tenants.gate import TenantQuerySet
from tenants.models import Tenant


def new_event_id() -> str:
    return f"evt-{secrets.token_hex(8)}"


class Severity(models.TextChoices):
    """Whether an event calls for attention (alert) or is only recorded (detection); see events.services."""

    ALERT = "alert"
    DETECTION = "detection"


class Event(models.Model):
    """Something a detector saw on a camera, at `ts`. Written once; only `tags` change later.

    `snapshot` is the file the system wrote and `snapshot_url` what an ingesting client gave (see
    events.serializers.shown_snapshot_url). `camera_id` is the camera's slug (the API id), kept as text so an
    event outlives its camera until retention removes it. `event_id` is the numeric Kalay category of `type`.
    An event whose `expires` has passed is archived (Kalay `is_archieve`).
    """

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="events", db_index=False)
    camera_id = models.CharField(max_length=64)
    type = models.CharField(max_length=32)
    event_id = models.PositiveSmallIntegerField()
    confidence = models.FloatField()
    payload = models.JSONField(default=dict, blank=True)
    # The JPEG a detector wrote, relative to VMS_RECORDINGS_ROOT: the only snapshot file deletion may remove.
    # db_default keeps raw INSERTs (bench/) that predate the column working.
    snapshot = models.CharField(max_length=255, blank=True, default="", db_default="")
    # A URL the ingesting client gave: shown as given, never signed, never turned into a file.
    snapshot_url = models.CharField(max_length=500, blank=True, default="")
    trace_id = models.CharField(max_length=64)
    model_version = models.CharField(max_length=100, blank=True, default="")
    # db_default, like snapshot's, for raw INSERTs that predate the column.
    severity = models.CharField(
        max_length=16, choices=Severity.choices, default=Severity.DETECTION, db_default=Severity.DETECTION
    )
    ts = models.DateTimeField()
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    expires = models.DateTimeField()
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-ts", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-ts", "-id"], name="event_tenant_ts"),
            # Covers the Kalay filters (is_archieve, event_id) so a day-long count reads the index only.
            models.Index(
                fields=["tenant", "camera_id", "-ts", "-id"],
                include=["expires", "event_id"],
                name="event_tenant_camera_ts",
            ),
            models.Index(fields=["tenant", "type", "-ts", "-id"], name="event_tenant_type_ts"),
            # The console's "alerts only" list.
            models.Index(fields=["tenant", "severity", "-ts", "-id"], name="event_tenant_severity_ts"),
            models.Index(fields=["expires"], name="event_expires"),
            GinIndex(fields=["tags"], name="event_tags_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}@{self.camera_id}"

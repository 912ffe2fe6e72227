from django.db import models

from cameras.models import Camera
from tenants.gate import TenantQuerySet
from tenants.models import Tenant


class Segment(models.Model):
    """One finished HLS segment on disk; playlists and the timeline are built from these rows.

    `path` is relative to VMS_RECORDINGS_ROOT. Missing time between segments is a gap.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="segments", db_index=False)
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="segments", db_index=False)
    start = models.DateTimeField()
    duration = models.FloatField(help_text="seconds")
    bytes = models.PositiveBigIntegerField()
    path = models.CharField(max_length=500, unique=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["camera", "start"]
        indexes = [
            models.Index(fields=["camera", "start"], name="segment_camera_start"),
            models.Index(fields=["tenant", "start"], name="segment_tenant_start"),
        ]

    def __str__(self) -> str:
        return self.path

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from tenants.catalogue import FEATURES
from tenants.models import Tenant, slug_validator


class Camera(models.Model):
    """An RTSP camera of one tenant. `slug` is the API's `id`: unique within the tenant only."""

    class Status(models.TextChoices):
        OFFLINE = "offline"
        ONLINE = "online"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="cameras")
    slug = models.CharField("id", max_length=64, validators=[slug_validator])
    name = models.CharField(max_length=200)
    rtsp_url = models.CharField("RTSP URL", max_length=1000)
    features = ArrayField(models.CharField(max_length=32, choices=[(f, f) for f in FEATURES]), default=list, blank=True)
    fps = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1), MaxValueValidator(30)])
    enabled = models.BooleanField(default=True)
    record = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OFFLINE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "created_at", "slug"]
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="camera_slug_unique_per_tenant")]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.slug}"

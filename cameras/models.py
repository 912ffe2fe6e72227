from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

from tenants.catalogue import FEATURES
from tenants.gate import TenantQuerySet
from tenants.models import Tenant

from .aim import DEFAULT_ALERT_LABELS

# A camera id is also the Kalay `device`, a UDID such as KJKWJK: letters of either case, digits, inner - and _.
CAMERA_ID = r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9])?"
camera_id_validator = RegexValidator(rf"^{CAMERA_ID}$", "Use 1-64 letters, digits and inner hyphens or underscores.")


# The camera's RTSP URLs: validated, and their passwords masked and kept, alike (cameras/rtsp.py).
STREAM_URL_FIELDS = ("rtsp_url", "detect_url", "live_url")


def default_alert_labels() -> list[str]:
    return list(DEFAULT_ALERT_LABELS)


class Camera(models.Model):
    """An RTSP camera of one tenant. `slug` is the API's `id`: kept as given, unique within the tenant ignoring case
    (so its recordings folder is unique on a case-insensitive disk too)."""

    class Status(models.TextChoices):
        OFFLINE = "offline"
        ONLINE = "online"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="cameras")
    slug = models.CharField("id", max_length=64, validators=[camera_id_validator])
    name = models.CharField(max_length=200)
    rtsp_url = models.CharField("RTSP URL", max_length=1000)
    # A camera's substreams (smaller encodings of the same picture): detection decodes `detect_url` and live viewers
    # get `live_url` when set; recording and exports keep `rtsp_url`. Boxes, zones and snapshots stay in 0-1 of the
    # frame, whichever stream it came from.
    detect_url = models.CharField(
        "detection URL", max_length=1000, blank=True, default="", help_text="Substream to detect on (else RTSP URL)"
    )
    live_url = models.CharField(
        "live URL", max_length=1000, blank=True, default="", help_text="Substream live viewers get (else RTSP URL)"
    )
    features = ArrayField(models.CharField(max_length=32, choices=[(f, f) for f in FEATURES]), default=list, blank=True)
    fps = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1), MaxValueValidator(30)])
    enabled = models.BooleanField(default=True)
    record = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OFFLINE)
    # The camera's aim (cameras/aim.py checks it): the detector polls these five, so changing them alone keeps
    # `updated_at`, and with it the running pipeline.
    zones = models.JSONField(default=list, blank=True, help_text="Named polygons an object can enter")
    masks = models.JSONField(default=list, blank=True, help_text="Polygons where objects or motion are ignored")
    filters = models.JSONField(default=dict, blank=True, help_text="Per label: min_score, min_area, max_area")
    lines = models.JSONField(default=list, blank=True, help_text="Named segments whose crossings are counted")
    alert_labels = models.JSONField(
        default=default_alert_labels, blank=True, help_text="Labels whose events are alerts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()
    camera_lookup = "slug"

    class Meta:
        ordering = ["tenant", "created_at", "slug"]
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("slug"),
                name="camera_id_unique_per_tenant_ignoring_case",
                violation_error_message="A camera with this id (ignoring case) already exists in this tenant.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.slug}"

    @property
    def detect_source(self) -> str:
        """The URL the detector decodes: the substream when the camera has one."""
        return self.detect_url or self.rtsp_url

    @property
    def stream_urls(self) -> list[str]:
        """Every URL the camera's pipelines connect to."""
        return [url for field in STREAM_URL_FIELDS if (url := getattr(self, field))]


class PipelineState(models.Model):
    """Where and how one pipeline (`kind`: record, detect) of a camera runs, for operators.

    Written by the supervisor (cameras/pipeline/supervisor.py); the Redis lease, not this row, decides who runs it.
    """

    class State(models.TextChoices):
        RUNNING = "running"
        STOPPED = "stopped"
        FAILED = "failed"
        WAITING = "waiting", "Waiting for capacity"  # no node has room for it (cameras/pipeline/nodes.py)

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="pipelines")
    kind = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=State.choices, default=State.STOPPED)
    worker = models.CharField(max_length=200, blank=True, help_text="host and process id running it")
    since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="consecutive failures; drives the restart backoff")
    detail = models.CharField(max_length=500, blank=True, help_text="non-fatal problem reported by the pipeline")

    objects = TenantQuerySet.as_manager()
    tenant_lookup = "camera__tenant_id"
    camera_lookup = "camera__slug"

    class Meta:
        ordering = ["camera", "kind"]
        constraints = [models.UniqueConstraint(fields=["camera", "kind"], name="pipeline_kind_unique_per_camera")]

    def __str__(self) -> str:
        return f"{self.camera_id}/{self.kind}: {self.state}"


class StatusChange(models.Model):
    """One change of a camera's online/offline status, kept for operators and metrics."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="status_changes", db_index=False)
    status = models.CharField(max_length=16, choices=Camera.Status.choices)
    at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["camera", "at"]
        indexes = [models.Index(fields=["camera", "at"], name="status_change_camera_at")]

    def __str__(self) -> str:
        return f"{self.camera_id} {self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


class Node(models.Model):
    """A worker node, for the admin's Nodes page only: no table (managed=False); the page reads the nodes'
    announcements and the pipelines' leases in Redis (cameras/pipeline/nodes.py)."""

    name = models.CharField(max_length=63, primary_key=True)

    class Meta:
        managed = False

    def __str__(self) -> str:
        return self.name

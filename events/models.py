import secrets
import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.expressions import RawSQL

from cameras.models import Camera
from tenants.gate import TenantQuerySet
from tenants.models import Tenant


def new_event_id() -> str:
    return f"evt-{secrets.token_hex(8)}"


# Numbers events in the order their tenant's transactions commit (events.services.create_events holds a per-tenant
# lock from the insert to the commit), so "every event after this one" is `seq >` for a resuming WebSocket and the
# notification relay's cursors.
EVENT_SEQUENCE = "events_event_seq"


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
    seq = models.BigIntegerField(db_default=RawSQL(f"nextval('{EVENT_SEQUENCE}')", ()), editable=False)
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    expires = models.DateTimeField()
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()
    camera_lookup = "camera_id"

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
            models.Index(fields=["tenant", "seq"], name="event_tenant_seq"),
            GinIndex(fields=["tags"], name="event_tags_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}@{self.camera_id}"



class NotifyCursor(models.Model):
    """How far a notification sink (events.notify.relay) has handed on a tenant's events: every event with a
    greater `seq` is still to go."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    sink = models.CharField(max_length=16)
    seq = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "sink"], name="notify_cursor_unique")]

    def __str__(self) -> str:
        return f"{self.sink}@{self.tenant_id}: {self.seq}"


def new_webhook_secret() -> str:
    return f"whsec_{secrets.token_hex(24)}"


class Subscription(models.Model):
    """A tenant's webhook: every event that passes its filters is POSTed to `url`, signed with `secret`.

    An empty filter list means any; `severity` "" means either. The secret is shown once, in the create response.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="subscriptions", db_index=False)
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=64, default=new_webhook_secret, editable=False)
    types = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    camera_ids = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    zones = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, blank=True, default="")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    # The first failed attempt since the last success; VMS_WEBHOOK_DISABLE_AFTER after it the subscription stops.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant", "-id"], name="subscription_tenant_id")]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.url}"


class Delivery(models.Model):
    """One event POSTed (and retried) to one subscription. `id` is the X-VMS-Delivery-Id and `body` the exact
    bytes signed and sent, both the same on every attempt, so a receiver can de-duplicate retries."""

    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40)
    body = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True, help_text="of the last attempt")
    last_error = models.CharField(max_length=300, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()
    tenant_lookup = "subscription__tenant_id"

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["subscription", "-created_at"], name="delivery_subscription_created"),
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(state="pending"), name="delivery_pending_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.state}"


class CameraHealth(models.Model):
    """The last camera status told as an event (camera_offline / camera_online), and since when it holds."""

    camera = models.OneToOneField(Camera, on_delete=models.CASCADE, primary_key=True, related_name="+")
    reported = models.CharField(max_length=16, choices=Camera.Status.choices)
    since = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.camera_id}: {self.reported} since {self.since:%Y-%m-%d %H:%M:%S}"

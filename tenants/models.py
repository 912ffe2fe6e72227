from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from .catalogue import FEATURES, READ_SCOPES, SCOPES
from .gate import TenantQuerySet

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$",
    "Use 1-64 lowercase letters, digits and inner hyphens.",
)


class Tenant(models.Model):
    """A customer: owns cameras, events and recordings; its plan limits what it may use."""

    id = models.CharField(primary_key=True, max_length=64, validators=[slug_validator])
    name = models.CharField(max_length=200)
    camera_limit = models.PositiveIntegerField(default=10)
    features = ArrayField(
        models.CharField(max_length=32, choices=[(f, f) for f in FEATURES]),
        default=list,
        blank=True,
        help_text="Detection features the plan allows: " + ", ".join(FEATURES),
    )
    event_retention_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    recording_retention_days = models.PositiveIntegerField(default=7, validators=[MinValueValidator(1)])
    max_export_seconds = models.PositiveIntegerField(
        default=86400, validators=[MinValueValidator(1)], help_text="The longest range one export may cover"
    )
    export_retention_days = models.PositiveIntegerField(
        default=7, validators=[MinValueValidator(1)], help_text="How long a finished export is kept (unless held)"
    )
    storage_quota_gb = models.PositiveIntegerField(
        null=True, blank=True, help_text="Recording storage the tenant may use, in GB (empty: no quota)"
    )
    export_quota_gb = models.PositiveIntegerField(
        null=True, blank=True, help_text="Export storage the tenant may use (held exports count) in GB; empty: no quota"
    )
    max_running_exports = models.PositiveIntegerField(
        default=2, validators=[MinValueValidator(1)], help_text="Exports of this tenant that may run at once"
    )
    max_queued_exports = models.PositiveIntegerField(
        default=20, validators=[MinValueValidator(1)], help_text="Exports of this tenant that may wait to run"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()
    tenant_lookup = "pk"

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id


class Membership(models.Model):
    """A user's place in one tenant; the role decides the scopes of the user's tokens."""

    class Role(models.TextChoices):
        ADMIN = "admin"
        OPERATOR = "operator"
        VIEWER = "viewer"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OPERATOR)

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant_id} ({self.role})"

    @property
    def scopes(self) -> tuple[str, ...]:
        return READ_SCOPES if self.role == self.Role.VIEWER else SCOPES


class DailyUsage(models.Model):
    """What a tenant used on one UTC day, counted as the work happens (tenants.usage.record), for resellers to bill
    on: one row per tenant and day, each counter raised by an UPSERT so concurrent writers never lose a count."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="usage")
    date = models.DateField()
    camera_seconds = models.FloatField(default=0)
    recording_bytes = models.BigIntegerField(default=0)
    export_bytes = models.BigIntegerField(default=0)
    snapshot_bytes = models.BigIntegerField(default=0)
    events = models.BigIntegerField(default=0)
    exports = models.BigIntegerField(default=0)
    deliveries = models.BigIntegerField(default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "date"], name="daily_usage_tenant_date")]
        ordering = ["tenant", "date"]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.date}"

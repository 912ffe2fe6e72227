from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from .catalogue import FEATURES, OPERATOR_SCOPES, READ_SCOPES, SCOPES
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
    audit_retention_days = models.PositiveIntegerField(
        default=365, validators=[MinValueValidator(1)], help_text="How long the audit trail keeps an entry"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()
    tenant_lookup = "pk"

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id

    def camera_ids(self, given: list[str]) -> list[str]:
        """`given` camera ids as the tenant's cameras have them (ids ignore case), each once; a ValidationError names
        every one that is none of them."""
        # Camera is an app above this one: its rows are reached through the reverse relation.
        known = {slug.lower(): slug for slug in self.cameras.values_list("slug", flat=True)}
        unknown = [slug for slug in given if slug.lower() not in known]
        if unknown:
            raise ValidationError([f"No camera '{slug}' in this tenant." for slug in unknown])
        return list(dict.fromkeys(known[slug.lower()] for slug in given))


class Membership(models.Model):
    """A user's place in one tenant; the role decides the scopes of the user's tokens."""

    class Role(models.TextChoices):
        ADMIN = "admin"
        OPERATOR = "operator"
        VIEWER = "viewer"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OPERATOR)
    # Kept by id, as the audit trail and events keep them; the user's tokens carry them (tenants.tokens).
    cameras = ArrayField(
        models.CharField(max_length=64),
        default=list,
        blank=True,
        help_text="The only cameras (ids, comma-separated) this user may see; empty: every camera of the tenant",
    )

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant_id} ({self.role})"

    def clean(self) -> None:
        if self.cameras and self.tenant_id is not None:
            try:
                self.cameras = self.tenant.camera_ids(self.cameras)
            except ValidationError as exc:
                raise ValidationError({"cameras": exc.messages}) from exc

    @property
    def scopes(self) -> tuple[str, ...]:
        return {self.Role.ADMIN: SCOPES, self.Role.OPERATOR: OPERATOR_SCOPES}.get(self.role, READ_SCOPES)


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


class AuditEntryChanged(Exception):
    """Something tried to change or re-save an audit entry: the trail is append-only."""


class AuditEntry(models.Model):
    """One entry of a tenant's audit trail, written by tenants.audit only. `prev_hash` is the `hash` of the entry
    before it in its tenant (by id) and `hash` covers its own fields and `prev_hash`, so `verify_audit` finds an
    edited, a deleted or an inserted entry. Append-only: saving an existing entry raises AuditEntryChanged."""

    id = models.BigAutoField(primary_key=True)
    # Its index is the (tenant, id) one below: the chain is walked, and its last hash read, in that order.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_entries", db_index=False)
    ts = models.DateTimeField()
    actor = models.CharField(max_length=200)
    address = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=200, blank=True)
    camera_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=32, default="ok")
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    objects = TenantQuerySet.as_manager()
    camera_lookup = "camera_id"

    class Meta:
        ordering = ["-ts", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["tenant", "id"], name="audit_tenant_chain"),
            models.Index(fields=["tenant", "-ts", "-id"], name="audit_tenant_ts"),
            models.Index(fields=["tenant", "action", "-ts"], name="audit_tenant_action_ts"),
            models.Index(fields=["tenant", "camera_id", "-ts"], name="audit_tenant_camera_ts"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} #{self.pk} {self.action} by {self.actor}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AuditEntryChanged(f"Audit entry {self.pk} is append-only: it cannot be changed.")
        super().save(*args, **kwargs)


class Share(models.Model):
    """A link that shows one camera, live or one recorded clip, to whoever holds it (and its password, when it has
    one), without an account, until it expires or is revoked. The link's key is shown once, when it is made: only
    its SHA-256 is kept. Made and served by the `shares` app; here, beside the gate, so a share's token is checked
    against its row (`ended`) by every protocol."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="shares")
    camera_id = models.CharField(max_length=64)  # the camera's API id, as events and the audit trail keep it
    live = models.BooleanField(default=False)
    start = models.DateTimeField(null=True, blank=True)  # a clip's range; none for a live share
    end = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField()
    password = models.CharField(max_length=128, blank=True)  # Django's password hash; empty: no password
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.CharField(max_length=200)  # the audit trail's actor who made it
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()
    camera_lookup = "camera_id"

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(live=True, start__isnull=True, end__isnull=True)
                | models.Q(live=False, start__isnull=False, end__gt=models.F("start")),
                name="share_live_or_clip",
            )
        ]

    def __str__(self) -> str:
        return f"share {self.pk} of {self.tenant_id}/{self.camera_id}"

    NOT_FOUND = "This share link does not exist."

    def why_ended(self) -> str | None:
        """Why the share can no longer be viewed (revoked, expired); None while it can."""
        if self.revoked_at is not None:
            return "This share link has been revoked."
        if self.expires <= timezone.now():
            return "This share link has expired."
        return None

    @classmethod
    def ended(cls, share_id: object) -> str | None:
        """why_ended() of the share as it is stored now, or that it is gone."""
        rows = cls.objects.filter(pk=share_id) if type(share_id) is int else cls.objects.none()
        share = rows.only("revoked_at", "expires").first()
        return cls.NOT_FOUND if share is None else share.why_ended()

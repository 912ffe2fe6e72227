from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission
from django.db.models import IntegerField, Q, QuerySet

from . import audit
from .gate import TenantPrincipal
from .models import AuditEntry, DailyUsage, Membership, Share, Tenant
from .throttles import ThrottledAdminLoginForm
from .usage import WHOLE_COUNTERS, camera_hours


def admin_principal(request) -> TenantPrincipal:
    """The gate's principal of an admin user: a platform superuser sees every tenant, a tenant's staff user only
    their own, a staff user of no tenant nothing."""
    if request.user.is_superuser:
        return TenantPrincipal(tenant=None, scopes=frozenset(), user_id=request.user.pk, sees_all=True)
    membership = getattr(request.user, "membership", None)
    if membership is None:
        return TenantPrincipal(tenant=None, scopes=frozenset(), user_id=request.user.pk)
    cameras = frozenset(membership.cameras) if membership.cameras else None
    return TenantPrincipal(
        tenant=membership.tenant, scopes=frozenset(membership.scopes), user_id=request.user.pk, cameras=cameras
    )


def grantable_roles(request) -> list[str]:
    """The roles an admin user may give: those whose API scopes are all their own (every role for a superuser)."""
    principal = admin_principal(request)
    return [role for role in Membership.Role if all(map(principal.has, Membership(role=role).scopes))]


def manageable_users(request) -> QuerySet:
    """The users an admin user may see, edit and reset the password of: every user for a platform superuser; for
    a tenant's staff, the users of their own tenant with no more rights than their own (not a superuser, a role
    they may give, and no permission, of their own or from a group, that the staff user lacks), so no one takes
    over a stronger account."""
    users = get_user_model().objects.all()
    principal = admin_principal(request)
    if principal.sees_all:
        return users
    own = Permission.objects.filter(Q(user=request.user) | Q(group__user=request.user))
    stronger = Permission.objects.exclude(pk__in=own)
    memberships = Membership.objects.for_principal(principal).filter(role__in=grantable_roles(request))
    return (
        users.filter(membership__in=memberships, is_superuser=False)
        .exclude(user_permissions__in=stronger)
        .exclude(groups__permissions__in=stronger)
    )


def admin_tenant_id(request) -> str | None:
    """The tenant a staff user is confined to; None for a platform superuser (sees every tenant)."""
    principal = admin_principal(request)
    return None if principal.sees_all else principal.tenant_id or ""


class MembershipChoices:
    """A membership form offers only the roles the admin user may give (see `grantable_roles`)."""

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role":
            roles = grantable_roles(request)
            kwargs["choices"] = [(role.value, role.label) for role in Membership.Role if role in roles]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


class TenantChoices:
    """A `tenant` field of an admin form offers a tenant's staff only their own tenant (a platform superuser every
    one), so no post can put a row into another tenant."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant":
            kwargs["queryset"] = Tenant.objects.for_principal(admin_principal(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AsciiIds:
    """An integer key in an admin URL is ASCII digits alone: int() also reads other scripts' digits (fullwidth,
    Arabic-Indic), so /admin/…/<fullwidth 1>/change/ would find object 1 (the API's viewsets refuse them too)."""

    def get_object(self, request, object_id, from_field=None):
        meta = self.model._meta
        field = meta.pk if from_field is None else meta.get_field(from_field)
        if isinstance(field, IntegerField) and not (object_id.isascii() and object_id.isdigit()):
            return None
        return super().get_object(request, object_id, from_field)


class ReadOnly:
    """An admin page that shows what the system keeps (a log, counters, what nodes announce): nobody adds, changes
    or deletes through it."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AuditedAdmin:
    """Every add, change and delete made in the admin (a tenant's staff or platform staff) is also an entry of the
    object's tenant's audit trail, `admin.<add|change|delete>`, where Django logs its own LogEntry."""

    def audit_tenant_id(self, obj) -> str | None:
        """The tenant an object belongs to, through its model's `tenant_lookup` (as the gate finds it)."""
        value = obj
        for part in getattr(obj, "tenant_lookup", "tenant_id").split("__"):
            value = getattr(value, part, None)
        return value

    def _audit(self, request, obj, verb: str) -> None:
        tenant_id = self.audit_tenant_id(obj)
        if tenant_id is None:
            return
        if obj._meta.model_name == "camera":
            camera_id = obj.slug
        else:  # an event names its camera by id; other rows point at the camera's row
            camera_id = getattr(obj, "camera_id", None)
            camera_id = camera_id if isinstance(camera_id, str) else getattr(getattr(obj, "camera", None), "slug", "")
        audit.record(
            tenant_id, f"admin.{verb}", actor=audit.actor_of(request.user), address=audit.address_of(request),
            object_type=obj._meta.model_name, object_id=str(obj.pk), camera_id=camera_id,
        )  # fmt: skip

    def log_addition(self, request, obj, message):
        self._audit(request, obj, "add")
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, obj, "change")
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, "delete")
        return super().log_deletions(request, queryset)


class TenantScopedAdmin(AuditedAdmin, AsciiIds, TenantChoices, admin.ModelAdmin):
    """Admin for a model with a `tenant` field: a tenant's staff see and edit only their own rows."""

    def get_queryset(self, request):
        return super().get_queryset(request).for_principal(admin_principal(request))

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        return filters if admin_tenant_id(request) is None else [f for f in filters if f != "tenant"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if admin_tenant_id(request) is None else (*fields, "tenant")

    def save_model(self, request, obj, form, change):
        tenant_id = admin_tenant_id(request)
        if tenant_id is not None and not change:
            obj.tenant_id = tenant_id
        super().save_model(request, obj, form, change)


@admin.register(Tenant)
class TenantAdmin(AuditedAdmin, admin.ModelAdmin):
    # What one tenant may take of what all share: a tenant's staff see it, only a platform superuser changes it.
    QUOTAS = ("storage_quota_gb", "export_quota_gb", "max_running_exports", "max_queued_exports")
    list_display = [
        "id", "name", "camera_limit", "features", "event_retention_days", "recording_retention_days",
        "audit_retention_days", *QUOTAS,
    ]  # fmt: skip
    search_fields = ["id", "name"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).for_principal(admin_principal(request))

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return self.readonly_fields
        plan = ["id", "camera_limit", "features", "event_retention_days", "audit_retention_days", *self.QUOTAS]
        return [*self.readonly_fields, *plan]


@admin.register(DailyUsage)
class DailyUsageAdmin(ReadOnly, TenantScopedAdmin):
    """Each tenant's usage per day, as GET /v2/api/usage shows it: kept by the work itself, so read-only."""

    list_display = ["date", "tenant", "camera_hours", *WHOLE_COUNTERS]
    list_filter = ["tenant", "date"]
    list_select_related = ["tenant"]
    date_hierarchy = "date"
    ordering = ["-date", "tenant"]

    @admin.display(ordering="camera_seconds")
    def camera_hours(self, usage: DailyUsage) -> float:
        return camera_hours(usage.camera_seconds)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnly, TenantScopedAdmin):
    """Each tenant's audit trail, as GET /v2/api/audit shows it: append-only, so read-only here."""

    list_display = ["ts", "tenant", "actor", "address", "action", "object_type", "object_id", "camera_id", "outcome"]
    list_filter = ["tenant", "action", "outcome"]
    search_fields = ["=actor", "=action", "=camera_id", "=object_id"]
    date_hierarchy = "ts"
    show_full_result_count = False  # no second COUNT(*) over the whole trail


@admin.register(Share)
class ShareAdmin(ReadOnly, TenantScopedAdmin):
    """Each tenant's share links, as GET /v2/api/shares lists them: made and revoked through the API. The link's key
    and the password are kept only as hashes, and not shown."""

    list_display = ["id", "tenant", "camera_id", "live", "start", "end", "expires", "created_by", "revoked_at"]
    list_filter = ["tenant", "live"]
    search_fields = ["=camera_id", "=created_by"]
    exclude = ["key_hash", "password"]


@admin.register(Membership)
class MembershipAdmin(MembershipChoices, TenantScopedAdmin):
    list_display = ["user", "tenant", "role"]
    list_filter = ["tenant", "role"]
    search_fields = ["user__username", "tenant__id", "tenant__name"]
    autocomplete_fields = ["user"]

    # A tenant's staff add users (with their membership) on the user page. Picking the user of a membership here
    # would let them pull in any account, a platform superuser's included, and then edit it.
    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else (*fields, "user")

    def get_queryset(self, request):
        # A role decides the user's API scopes: a stronger user's membership is theirs to change, not the staff's.
        return super().get_queryset(request).filter(user__in=manageable_users(request))


class MembershipInline(MembershipChoices, TenantChoices, admin.StackedInline):
    model = Membership
    can_delete = False


admin.site.login_form = ThrottledAdminLoginForm

admin.site.unregister(Group)


@admin.register(Group)
class PlatformGroupAdmin(AsciiIds, GroupAdmin):
    """Groups span tenants and grant permissions: only a platform superuser sees or changes them, whatever
    permissions a tenant's staff were given (they could otherwise give a group of their own every permission)."""

    def get_queryset(self, request):
        groups = super().get_queryset(request)
        return groups if request.user.is_superuser else groups.none()

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class TenantUserAdmin(AuditedAdmin, AsciiIds, UserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "email", "tenant", "role", "is_staff", "is_active"]
    # Only the tenants of the users listed: a tenant's staff see their own, not every customer's name.
    list_filter = [
        ("membership__tenant", admin.RelatedOnlyFieldListFilter),
        "membership__role",
        "is_staff",
        "is_active",
    ]
    list_select_related = ["membership"]
    # Only a platform superuser grants rights beyond a tenant (superuser, permissions, groups): a tenant's staff could
    # otherwise make themselves, or anyone they manage, stronger than they are.
    PLATFORM_FIELDS = ("is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else (*fields, *self.PLATFORM_FIELDS)

    def audit_tenant_id(self, obj) -> str | None:
        membership = getattr(obj, "membership", None)
        return membership.tenant_id if membership else None

    @admin.display(ordering="membership__tenant")
    def tenant(self, user) -> str:
        membership = getattr(user, "membership", None)
        return membership.tenant_id if membership else "—"

    @admin.display(ordering="membership__role")
    def role(self, user) -> str:
        membership = getattr(user, "membership", None)
        return membership.role if membership else "—"

    def get_queryset(self, request):
        # Every view of a user (list, change, password, history, delete) finds it here or answers "not found".
        return super().get_queryset(request).filter(pk__in=manageable_users(request))

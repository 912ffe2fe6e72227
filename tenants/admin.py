from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from .gate import TenantPrincipal
from .models import Membership, Tenant
from .throttles import ThrottledAdminLoginForm


def admin_principal(request) -> TenantPrincipal:
    """The gate's principal of an admin user: a platform superuser sees every tenant, a tenant's staff user only
    their own, a staff user of no tenant nothing."""
    if request.user.is_superuser:
        return TenantPrincipal(tenant=None, scopes=frozenset(), user_id=request.user.pk, sees_all=True)
    membership = getattr(request.user, "membership", None)
    if membership is None:
        return TenantPrincipal(tenant=None, scopes=frozenset(), user_id=request.user.pk)
    return TenantPrincipal(tenant=membership.tenant, scopes=frozenset(membership.scopes), user_id=request.user.pk)


def admin_tenant_id(request) -> str | None:
    """The tenant a staff user is confined to; None for a platform superuser (sees every tenant)."""
    principal = admin_principal(request)
    return None if principal.sees_all else principal.tenant_id or ""


class TenantChoices:
    """A `tenant` field of an admin form offers a tenant's staff only their own tenant (a platform superuser every
    one), so no post can put a row into another tenant."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant":
            kwargs["queryset"] = Tenant.objects.for_principal(admin_principal(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TenantScopedAdmin(TenantChoices, admin.ModelAdmin):
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
class TenantAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "camera_limit", "features", "event_retention_days", "recording_retention_days"]
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
        return [*self.readonly_fields, "id", "camera_limit", "features", "event_retention_days"]


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
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


class MembershipInline(TenantChoices, admin.StackedInline):
    model = Membership
    can_delete = False


admin.site.login_form = ThrottledAdminLoginForm

User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class TenantUserAdmin(UserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "email", "tenant", "role", "is_staff", "is_active"]
    list_filter = ["membership__tenant", "membership__role", "is_staff", "is_active"]
    list_select_related = ["membership"]
    # Only a platform superuser grants platform-wide powers: a tenant's staff could otherwise make themselves one.
    PLATFORM_FIELDS = ("is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else (*fields, *self.PLATFORM_FIELDS)

    @admin.display(ordering="membership__tenant")
    def tenant(self, user) -> str:
        membership = getattr(user, "membership", None)
        return membership.tenant_id if membership else "—"

    @admin.display(ordering="membership__role")
    def role(self, user) -> str:
        membership = getattr(user, "membership", None)
        return membership.role if membership else "—"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        principal = admin_principal(request)
        return qs if principal.sees_all else qs.filter(membership__in=Membership.objects.for_principal(principal))

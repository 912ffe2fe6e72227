from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html_join

from tenants.admin import ReadOnly, TenantScopedAdmin, admin_principal, admin_tenant_id
from tenants.models import Tenant

from .aim import AIM_FIELDS, InvalidAim, save_camera, validate_aim
from .api.nodes import nodes_shown
from .models import STREAM_URL_FIELDS, Camera, Node, PipelineState, StatusChange
from .rtsp import clean_camera_url, mask_credentials
from .services import CameraIdTaken, CameraLimitReached, check_room_for_camera, plan_features, save_new_camera


class CameraForm(forms.ModelForm):
    """Shows the RTSP URLs with their passwords masked; submitting a mask keeps the stored password. The aim fields
    (zones, masks, filters, lines, alert labels) are JSON, checked by cameras.aim.validate_aim."""

    confined_tenant_id: str | None = None  # set by CameraAdmin for a tenant's staff

    class Meta:
        model = Camera
        fields = ["tenant", "slug", "name", *STREAM_URL_FIELDS, "features", "fps", "enabled", "record", *AIM_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for field in STREAM_URL_FIELDS:
                self.initial[field] = mask_credentials(getattr(self.instance, field))
            self.fields["slug"].disabled = True
        else:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = "Leave empty to generate one from the name."

    def clean(self):
        cleaned = super().clean()
        stored = Camera.objects.filter(pk=self.instance.pk).values(*STREAM_URL_FIELDS).first() or {}
        for field in STREAM_URL_FIELDS:
            if cleaned.get(field):  # empty: a substream's URL cleared (the form requires rtsp_url)
                try:
                    cleaned[field] = clean_camera_url(cleaned[field], stored.get(field))
                except ValueError as exc:
                    self.add_error(field, f"RTSP URL {exc}.")
        for field in AIM_FIELDS:  # an emptied box means the default, not null
            if field in cleaned and cleaned[field] is None:
                cleaned[field] = Camera._meta.get_field(field).get_default()
        try:
            validate_aim(cleaned)
        except InvalidAim as exc:
            self.add_error(exc.field.split(".")[0].split("[")[0], str(exc))
        if self.instance.pk is None:
            tenant = cleaned.get("tenant") or Tenant.objects.filter(pk=self.confined_tenant_id).first()
            if tenant is not None:
                try:
                    check_room_for_camera(tenant, cleaned.get("slug") or "")
                except (CameraLimitReached, CameraIdTaken) as exc:
                    raise ValidationError(str(exc)) from exc
        return cleaned


@admin.register(Camera)
class CameraAdmin(TenantScopedAdmin):
    form = CameraForm
    list_display = ["slug", "name", "tenant", "status", "enabled", "record", "fps", "features", "updated_at"]
    list_filter = ["tenant", "status", "enabled", "record"]
    search_fields = ["slug", "name", "tenant__id", "tenant__name"]
    list_select_related = ["tenant"]

    def has_add_permission(self, request) -> bool:
        # As the API's create: a user limited to some cameras adds none (it would not see the camera it added).
        return admin_principal(request).cameras is None and super().has_add_permission(request)
    readonly_fields = ["status", "pipelines", "status_changes", "created_at", "updated_at"]
    actions = ["enable", "disable"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.confined_tenant_id = admin_tenant_id(request)
        return form

    def save_model(self, request, obj, form, change):
        if change:
            obj.features = plan_features(obj.tenant, obj.features)
            save_camera(obj, form.changed_data)
            return
        tenant_id = admin_tenant_id(request)
        if tenant_id is not None:
            obj.tenant_id = tenant_id
        save_new_camera(obj)

    @admin.display(description="Pipelines")
    def pipelines(self, obj: Camera) -> str:
        """Where each pipeline runs, since when, and its last error (written by the supervisor)."""
        rows = [
            (p.kind, p.state, p.worker or "-", p.since or "-", p.detail or "-", p.last_error_at or "-", p.last_error)
            for p in PipelineState.objects.filter(camera=obj)
        ]
        return (
            format_html_join(
                "", "<p><b>{}</b>: {} on {} since {}; problem: {}; last error at {}:<pre>{}</pre></p>", rows
            )
            or "-"
        )

    @admin.display(description="Status changes (7 days)")
    def status_changes(self, obj: Camera) -> str:
        recent = StatusChange.objects.filter(camera=obj, at__gte=timezone.now() - timedelta(days=7)).order_by("-at")
        return format_html_join("", "<div>{} {} ({})</div>", ((c.at, c.status, c.reason) for c in recent)) or "-"

    @admin.action(description="Enable selected cameras")
    def enable(self, request, queryset):
        queryset.update(enabled=True)

    @admin.action(description="Disable selected cameras")
    def disable(self, request, queryset):
        queryset.update(enabled=False)


@admin.register(Node)
class NodeAdmin(ReadOnly, admin.ModelAdmin):
    """The Nodes page: each worker node's capacity, load, cameras and last heartbeat, read from Redis; platform
    superusers only (it names every tenant's cameras)."""

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "title": "Worker nodes", "nodes": nodes_shown()}
        return TemplateResponse(request, "admin/cameras/nodes.html", context)

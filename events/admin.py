from django.contrib import admin
from django.utils.html import format_html

from cameras.models import Camera
from tenants.admin import TenantScopedAdmin, admin_principal

from .catalogue import EVENT_CATEGORIES
from .models import Event
from .serializers import signed_snapshot_url
from .services import delete_events


class TypeFilter(admin.SimpleListFilter):
    """From the catalogue, not SELECT DISTINCT over a table of millions of rows."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [(t, t) for t in EVENT_CATEGORIES]

    def queryset(self, request, queryset):
        return queryset.filter(type=self.value()) if self.value() else queryset


class CameraFilter(admin.SimpleListFilter):
    """The cameras the staff user may see (a tenant's own), read from the camera table."""

    title = "camera"
    parameter_name = "camera_id"

    def lookups(self, request, model_admin):
        cameras = Camera.objects.for_principal(admin_principal(request)).order_by("slug")
        return [(slug, slug) for slug in cameras.values_list("slug", flat=True).distinct()]

    def queryset(self, request, queryset):
        return queryset.filter(camera_id=self.value()) if self.value() else queryset


@admin.register(Event)
class EventAdmin(TenantScopedAdmin):
    """Read-only: events are written by events.services; deleting here also removes the snapshots."""

    list_display = ["id", "ts", "tenant", "camera_id", "type", "confidence", "expires", "snapshot_thumbnail"]
    list_filter = ["tenant", CameraFilter, TypeFilter, ("ts", admin.DateFieldListFilter)]
    search_fields = ["=id", "=trace_id"]
    show_full_result_count = False  # no second COUNT(*) over the whole table
    readonly_fields = ["snapshot_preview"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj: Event) -> None:
        delete_events(Event.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        delete_events(queryset)

    def _snapshot(self, event: Event, height: int) -> str:
        url = signed_snapshot_url(event)
        if not url:
            return "—"
        return format_html('<a href="{0}"><img src="{0}" alt="snapshot" style="max-height:{1}px"></a>', url, height)

    @admin.display(description="snapshot")
    def snapshot_thumbnail(self, event: Event) -> str:
        return self._snapshot(event, 48)

    @admin.display(description="snapshot")
    def snapshot_preview(self, event: Event) -> str:
        return self._snapshot(event, 360)

from django.contrib import admin

from tenants.admin import TenantScopedAdmin

from .exports import delete_export
from .models import Export, ExportFile


class ExportFileInline(admin.TabularInline):
    model = ExportFile
    extra = 0
    can_delete = False
    fields = ["camera_slug", "path", "size", "duration", "sha256", "gaps", "progress"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Export)
class ExportAdmin(TenantScopedAdmin):
    """Export jobs: a tenant's staff see theirs; only `legal_hold` and `expires` can be changed here."""

    list_display = ["id", "tenant", "name", "state", "progress", "legal_hold", "start", "end", "created_at", "expires"]
    list_filter = ["tenant", "state", "legal_hold"]
    search_fields = ["name"]
    readonly_fields = ["name", "start", "end", "state", "progress", "error", "created_at", "started_at", "task_id"]
    inlines = [ExportFileInline]

    def has_add_permission(self, request) -> bool:
        return False  # an export is started through the API, which checks the cameras and the plan

    def delete_model(self, request, obj) -> None:
        delete_export(obj)

    def delete_queryset(self, request, queryset) -> None:
        for export in queryset:
            delete_export(export)

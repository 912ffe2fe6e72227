from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from cameras.models import Camera
from tenants.admin import ReadOnly, TenantScopedAdmin, admin_principal

from .api.subscriptions import URL_MAX_LENGTH, SubscriptionSerializer
from .catalogue import EVENT_CATEGORIES
from .models import Delivery, Event, Subscription
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


def _messages(detail) -> list[str]:
    """The messages of a DRF error detail, however nested (a list field's errors are by index)."""
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _messages(value)]
    if isinstance(detail, list):
        return [m for value in detail for m in _messages(value)]
    return [str(detail)]


class SubscriptionForm(forms.ModelForm):
    """Checked by the API's SubscriptionSerializer, so the admin and the API take the same subscriptions."""

    # Not a URLField: that would guess a scheme for a bare host and refuse hosts without a dot; the API's rules apply.
    url = forms.CharField(max_length=URL_MAX_LENGTH, help_text=SubscriptionSerializer().fields["url"].help_text)

    class Meta:
        model = Subscription
        fields = ["tenant", "url", "types", "camera_ids", "zones", "severity", "enabled"]

    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant") or self.instance.tenant  # the field is there for a platform superuser only
        given = {field: cleaned[field] for field in self._meta.fields if field in cleaned and field != "tenant"}
        api = SubscriptionSerializer(self.instance, data=given, partial=True, context={"tenant": tenant})
        if not api.is_valid():
            for field, detail in api.errors.items():
                self.add_error(field if field in self.fields else None, _messages(detail))
            return cleaned
        for field, value in api.validated_data.items():  # as the API stores them (camera ids, folded repeats)
            if field in self.fields:
                cleaned[field] = value
            else:  # what re-enabling clears
                setattr(self.instance, field, value)
        return cleaned


@admin.register(Subscription)
class SubscriptionAdmin(TenantScopedAdmin):
    """Webhook subscriptions: changed and deleted here, created through the API; the signing secret is never shown."""

    form = SubscriptionForm
    list_display = ["id", "url", "tenant", "enabled", "types", "camera_ids", "severity", "failing_since", "updated_at"]
    list_filter = ["tenant", "enabled"]
    search_fields = ["url"]
    list_select_related = ["tenant"]
    readonly_fields = ["secret_state", "disabled_reason", "failing_since", "created_at", "updated_at", "deliveries"]

    def has_add_permission(self, request) -> bool:
        return False  # the API creates them: its answer is the one place the signing secret is shown

    def save_model(self, request, obj, form, change):
        # Only what the form changed, so a delivery outcome the engine records meanwhile (failing_since) is kept.
        fields = [*form.changed_data, "updated_at"]
        if "enabled" in fields and obj.enabled:
            fields += ["disabled_reason", "failing_since"]
        obj.save(update_fields=fields)

    @admin.display(description="secret")
    def secret_state(self, obj: Subscription) -> str:
        return "set" if obj.secret else "-"

    @admin.display(description="Recent deliveries")
    def deliveries(self, obj: Subscription) -> str:
        if obj.pk is None:
            return "-"
        recent = Delivery.objects.filter(subscription=obj).order_by("-created_at")[:10]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (d.created_at, d.event_id, d.state, d.attempts, d.response_code or "-", d.latency_ms or "-",
                 d.last_error or "-")
                for d in recent
            ),
        )  # fmt: skip
        link = reverse("admin:events_delivery_changelist") + f"?subscription__id__exact={obj.pk}"
        return format_html(
            "<table><tr><th>created</th><th>event</th><th>state</th><th>attempts</th><th>code</th><th>ms</th>"
            '<th>last error</th></tr>{}</table><a href="{}">All deliveries</a>',
            rows,
            link,
        )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly, TenantScopedAdmin):
    """The webhook delivery log, read-only (events.notify.webhooks writes it)."""

    list_display = ["created_at", "subscription", "event_id", "state", "attempts", "response_code", "latency_ms",
                    "last_error"]  # fmt: skip
    list_filter = ["state"]
    search_fields = ["=event_id"]
    list_select_related = ["subscription"]
    show_full_result_count = False

    @admin.display(description="tenant")
    def tenant(self, obj: Delivery) -> str:
        return obj.subscription.tenant_id

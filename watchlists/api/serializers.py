from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models.functions import Lower
from rest_framework import serializers

from tenants.api.viewsets import LimitedPerTenant

from ..entries import MAX_ENTRIES, clean_entries
from ..models import WatchList

MAX_WATCHLISTS = 50  # per tenant


class WatchListSerializer(LimitedPerTenant):
    """A watch list as the API returns and takes it. Each entry is a plate `{"plate", "fuzzy", "note", "expires"}`
    or an object rule `{"label", "color", "camera_id", "zone", "note", "expires"}`; each gets an `id`, kept when the
    entry is sent back with it."""

    most_per_tenant = MAX_WATCHLISTS

    entries = serializers.JSONField(
        default=list, help_text=f"At most {MAX_ENTRIES}; see watchlists.entries for what each may hold"
    )

    class Meta:
        model = WatchList
        fields = ["id", "name", "entries", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_name(self, value: str) -> str:
        taken = self.context["tenant"].watchlists.annotate(key=Lower("name")).filter(key=value.lower())
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("A watch list with this name already exists in this tenant.")
        return value

    def validate_entries(self, value) -> list[dict]:
        try:
            return clean_entries(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

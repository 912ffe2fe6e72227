from django.db import models
from django.db.models.functions import Lower

from tenants.gate import TenantQuerySet
from tenants.models import Tenant


class WatchList(models.Model):
    """A tenant's plates and object rules to watch for: an event that matches one of its `entries` is followed by a
    `watchlist_match` alert (watchlists.matching). The entries are checked by watchlists.entries.clean_entries."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="watchlists")
    name = models.CharField(max_length=100)
    entries = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("name"),
                name="watchlist_name_unique_per_tenant",
                violation_error_message="A watch list with this name already exists in this tenant.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.name}"

"""/v2/api/watchlists: a tenant's watch lists of plates and object rules (matched by watchlists.matching). Every
method needs watchlists:write: a list of plates names people's cars."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.exceptions import ValidationError

from tenants import audit
from tenants.api.openapi import errors
from tenants.api.viewsets import TenantModelViewSet, newest_first_page
from tenants.catalogue import WATCHLISTS_WRITE

from ..models import WatchList
from .serializers import WatchListQuerySerializer, WatchListSerializer

MAX_WATCHLISTS = 50  # per tenant


@extend_schema_view(
    list=extend_schema(
        parameters=[WatchListQuerySerializer], responses={200: WatchListSerializer(many=True), **errors(400)}
    ),
)
class WatchListViewSet(TenantModelViewSet):
    """The tenant's watch lists."""

    queryset = WatchList.objects.all()
    serializer_class = WatchListSerializer
    required_scope = WATCHLISTS_WRITE

    def list(self, request):
        query = WatchListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows, params = self.get_queryset(), query.validated_data
        return newest_first_page(request, rows, params, lambda watchlist: self.get_serializer(watchlist).data)

    def perform_create(self, serializer):
        tenant = self.request.user.tenant
        if tenant.watchlists.count() >= MAX_WATCHLISTS:
            raise ValidationError(f"A tenant has at most {MAX_WATCHLISTS} watch lists: delete one first.")
        serializer.save(tenant=tenant)
        self.audit("watchlist.create", serializer.instance.pk)

    def perform_update(self, serializer):
        super().perform_update(serializer)
        self.audit("watchlist.update", serializer.instance.pk)

    def perform_destroy(self, instance):
        watchlist_id = instance.pk  # Django clears it on delete
        super().perform_destroy(instance)
        self.audit("watchlist.delete", watchlist_id)

    def audit(self, action: str, watchlist_id: int) -> None:
        audit.record_request(self.request, action, object_type="watchlist", object_id=str(watchlist_id))

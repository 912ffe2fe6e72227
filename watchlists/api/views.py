"""/v2/api/watchlists: a tenant's watch lists of plates and object rules (matched by watchlists.matching). Every
method needs watchlists:write: a list of plates names people's cars."""

from drf_spectacular.utils import extend_schema, extend_schema_view

from tenants.api.openapi import errors
from tenants.api.viewsets import AuditedWrites, NewestFirstList, NewestFirstQuerySerializer, TenantModelViewSet
from tenants.catalogue import WATCHLISTS_WRITE

from ..models import WatchList
from .serializers import WatchListSerializer


@extend_schema_view(
    list=extend_schema(
        parameters=[NewestFirstQuerySerializer], responses={200: WatchListSerializer(many=True), **errors(400)}
    ),
    create=extend_schema(responses={201: WatchListSerializer, **errors(400)}),
    retrieve=extend_schema(responses={200: WatchListSerializer, **errors(404)}),
    partial_update=extend_schema(responses={200: WatchListSerializer, **errors(400, 404)}),
    destroy=extend_schema(responses={204: None, **errors(404)}),
)
class WatchListViewSet(AuditedWrites, NewestFirstList, TenantModelViewSet):
    """The tenant's watch lists."""

    queryset = WatchList.objects.all()
    serializer_class = WatchListSerializer
    required_scope = WATCHLISTS_WRITE
    audit_object_type = "watchlist"

from django.utils.http import urlencode
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from tenants.api.viewsets import TenantScopedMixin

from ..models import Event
from ..serializers import event_json
from ..services import InvalidEvent, create_event
from .serializers import EventIngestSerializer, EventQuerySerializer


class EventViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    """The tenant's events: query (newest first, keyset-paged by `before`) and ingest from external analytics."""

    queryset = Event.objects.all()
    scope_resource = "events"

    @extend_schema(parameters=[EventQuerySerializer], responses={200: OpenApiTypes.OBJECT})
    def list(self, request):
        query = EventQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        events = self.get_queryset()
        if "camera_id" in params:
            events = events.filter(camera_id=params["camera_id"])
        if "type" in params:
            events = events.filter(type=params["type"])
        if "since" in params:
            events = events.filter(ts__gte=params["since"])
        if "before" in params:
            cursor = self.get_queryset().filter(pk=params["before"]).values_list("ts", "id").first()
            if cursor is None:
                raise ValidationError({"before": [f"No event '{params['before']}' in this tenant."]})
            # (ts, id) < cursor, written so the (tenant, -ts, -id) indexes bound the scan by ts.
            events = events.filter(ts__lte=cursor[0]).exclude(ts=cursor[0], id__gte=cursor[1])
        page = [event_json(e) for e in events[: params["limit"]]]
        headers = {}
        if len(page) == params["limit"]:
            next_query = {**request.query_params.dict(), "before": page[-1]["id"]}
            headers["Link"] = f'<{request.path}?{urlencode(next_query)}>; rel="next"'
        return Response(page, headers=headers)

    @extend_schema(request=EventIngestSerializer, responses={201: OpenApiTypes.OBJECT})
    def create(self, request):
        body = EventIngestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            event = create_event(tenant=request.user.tenant, **body.validated_data)
        except InvalidEvent as exc:
            raise ValidationError({exc.field: [exc.message]}) from exc
        return Response(event_json(event), status=status.HTTP_201_CREATED)

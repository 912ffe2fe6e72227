from django.core.validators import RegexValidator
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from tenants.api.openapi import SPACE, errors
from tenants.api.viewsets import TenantScopedMixin, newest_first_by_ts_page

from ..catalogue import INGESTED_EVENT_TYPES
from ..models import Event, Severity
from ..search import filter_events
from ..serializers import EVENT_COLUMNS, event_json
from ..services import MAX_TAGS, TAG_MAX_LENGTH, InvalidEvent, ingest_event
from .serializers import EventIngestSerializer, EventQuerySerializer, EventSerializer

# One word: DRF trims each tag before create_event sees it, so surrounding whitespace goes.
TAG_PATTERN = rf"^[{SPACE}]*[^{SPACE}\u0000]+[{SPACE}]*$"


# Only describes the body in the schema: EventIngestSerializer and create_event validate it.
@extend_schema_serializer(component_name="EventIngest")
class EventIngestSchema(EventIngestSerializer):
    """An event from external analytics. Also checked, beyond what a schema says: the camera is one of the tenant's,
    `ts` is at most a day ahead and within the tenant's event retention, `payload` is at most 16 KB of JSON text
    without NUL, `snapshot_url` is an http(s) URL or a /v2/hls/ path of one of the tenant's cameras."""

    type = serializers.ChoiceField(choices=INGESTED_EVENT_TYPES)
    confidence = serializers.FloatField(min_value=0, max_value=1)
    severity = serializers.ChoiceField(choices=Severity.values, required=False, default=Severity.DETECTION.value)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_MAX_LENGTH, validators=[RegexValidator(TAG_PATTERN)]),
        required=False,
        max_length=MAX_TAGS,
        help_text="Words without spaces; repeats are dropped",
    )


class EventViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    """The tenant's events: query (newest first, keyset-paged by `before`), one by id, and ingest from external
    analytics."""

    queryset = Event.objects.all()
    serializer_class = EventIngestSerializer  # what OPTIONS describes (without one it was a 500)
    scope_resource = "events"

    @extend_schema(
        parameters=[
            EventQuerySerializer,
            OpenApiParameter(
                "Link", str, OpenApiParameter.HEADER, response=[200], description='<next page>; rel="next" (full pages)'
            ),
        ],
        responses={200: EventSerializer(many=True), **errors(400)},
    )
    def list(self, request):
        query = EventQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        events = self.get_queryset()
        if "camera_id" in params:
            events = events.filter(camera_id=params["camera_id"])
        if "type" in params:
            events = events.filter(type=params["type"])
        if "zone" in params:
            events = events.filter(payload__zones__contains=[params["zone"]])
        if "severity" in params:
            events = events.filter(severity=params["severity"])
        if "since" in params:
            events = events.filter(ts__gte=params["since"])
        if "until" in params:
            events = events.filter(ts__lt=params["until"])
        events = filter_events(events, params)
        return newest_first_by_ts_page(request, events, self.get_queryset(), params, EVENT_COLUMNS, event_json, "event")

    @extend_schema(responses={200: EventSerializer, **errors(404)})
    def retrieve(self, request, pk: str):
        """One event of the tenant (the console's event detail); another tenant's id is a 404."""
        return Response(event_json(self.get_object()))

    @extend_schema(request=EventIngestSchema, responses={201: EventSerializer, **errors(400)})
    def create(self, request):
        body = EventIngestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            event = ingest_event(request.user, **body.validated_data)
        except InvalidEvent as exc:
            raise ValidationError({exc.field: [exc.message]}) from exc
        return Response(event_json(event), status=status.HTTP_201_CREATED)

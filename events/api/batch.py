"""POST /v2/api/events:batch: up to MAX_BATCH events from external analytics in one request, each held to the rules
of POST /v2/api/events, stored all or nothing through events.services.ingest_events (one INSERT, one publish)."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.api.openapi import errors
from tenants.catalogue import EVENTS_WRITE

from ..serializers import event_json
from ..services import InvalidEvent, ingest_events
from .serializers import EventIngestSerializer, EventSerializer
from .views import EventIngestSchema

MAX_BATCH = 500
BATCH_SIZE_RULE = f"Must hold 1 to {MAX_BATCH} events."


class EventListField(serializers.ListField):
    """1 to MAX_BATCH events (min/max also state the bounds in the schema). A longer list is refused before any of
    its events is validated: that is the costly part."""

    def __init__(self, **kwargs) -> None:
        messages = {
            "min_length": BATCH_SIZE_RULE,
            "max_length": BATCH_SIZE_RULE,
            "not_a_list": "Must be a list of events.",
        }
        super().__init__(min_length=1, max_length=MAX_BATCH, error_messages=messages, **kwargs)

    def to_internal_value(self, data) -> list:
        if isinstance(data, list) and len(data) > MAX_BATCH:
            self.fail("max_length")
        return super().to_internal_value(data)


class EventBatchSerializer(serializers.Serializer):
    """POST /v2/api/events:batch body: each event as POST /v2/api/events takes it."""

    events = EventListField(child=EventIngestSerializer())


# Only describes the body in the schema, as EventIngestSchema does for one event.
@extend_schema_serializer(component_name="EventBatch")
class EventBatchSchema(EventBatchSerializer):
    events = EventListField(child=EventIngestSchema())


# Only for the schema: the view renders each event with event_json, as POST /v2/api/events does.
class EventBatchCreatedSerializer(serializers.Serializer):
    events = EventSerializer(many=True, help_text="The stored events, in the order they were sent")


def item_errors(errors: dict) -> dict:
    """The body's field errors with each event's flattened to its place, `{"events[7].type": [...]}` (as the JSON
    parser names places), rather than DRF's `{"events": {7: {"type": [...]}}}`."""
    events = errors.get("events")
    if not isinstance(events, dict):  # not a list, or a list of the wrong length
        return errors
    flat = {}
    for index, item in events.items():
        if not isinstance(item, dict):  # the event itself was refused (null): its messages, not its fields'
            flat[f"events[{index}]"] = item
            continue
        for field, messages in item.items():
            flat[f"events[{index}]" if field == "non_field_errors" else f"events[{index}].{field}"] = messages
    return flat


class EventBatchView(APIView):
    """Ingest many events at once: an analytics source's backlog or its busy seconds, without a request each."""

    required_scope = EVENTS_WRITE

    @extend_schema(
        operation_id="events_batch_create",
        tags=["events"],
        request=EventBatchSchema,
        responses={201: EventBatchCreatedSerializer, **errors(400)},
        description=f"Up to {MAX_BATCH} events, each as POST /v2/api/events takes it and held to its rules; all are "
        "stored or none: a 400 names each invalid field found as `events[<index>].<field>`.",
    )
    def post(self, request):
        body = EventBatchSerializer(data=request.data)
        if not body.is_valid():
            raise ValidationError(item_errors(body.errors))
        try:
            events = ingest_events(request.user, body.validated_data["events"])
        except InvalidEvent as exc:
            raise ValidationError({f"events[{exc.index}].{exc.field}": [exc.message]}) from exc
        return Response({"events": [event_json(e) for e in events]}, status=status.HTTP_201_CREATED)

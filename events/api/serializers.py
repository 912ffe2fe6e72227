"""The events API's input (the list query, the ingest body) and, for the schema, its output (made by
events.serializers.event_json)."""

from django.core.validators import RegexValidator
from rest_framework import serializers

from ..catalogue import EVENT_CATEGORIES, INGESTED_EVENT_TYPES
from ..detection.colors import PALETTE
from ..models import Severity
from ..plates import PLATE_PATTERN, normalize_plate

MAX_LIMIT = 100
PLATE_RULE = "A plate is 2 to 16 letters, digits, spaces or dashes, at least 2 of them letters or digits."


class EventQuerySerializer(serializers.Serializer):
    """GET /v2/api/events parameters; newest first, `before` walks back page by page."""

    camera_id = serializers.CharField(required=False, max_length=64)
    type = serializers.ChoiceField(choices=list(EVENT_CATEGORIES), required=False)
    zone = serializers.CharField(required=False, max_length=64, help_text="Events whose object entered this zone")
    severity = serializers.ChoiceField(choices=Severity.values, required=False)
    color = serializers.ChoiceField(
        choices=PALETTE, required=False, help_text="Person and vehicle events of this colour"
    )
    upper_color = serializers.ChoiceField(choices=PALETTE, required=False, help_text="People whose top is this colour")
    lower_color = serializers.ChoiceField(
        choices=PALETTE, required=False, help_text="People whose legs are this colour"
    )
    plate = serializers.CharField(
        required=False,
        trim_whitespace=False,
        validators=[RegexValidator(PLATE_PATTERN, PLATE_RULE)],
        help_text="license_plate events whose plate is this one or one read with up to two characters wrong, "
        "missing or extra (one for 3-5 characters, none for 2); case, spaces, dashes and look-alikes (O/Q/0, I/1, "
        "Z/2, S/5, B/8) do not count",
    )
    since = serializers.DateTimeField(required=False, help_text="ISO-8601; events at or after it")
    until = serializers.DateTimeField(
        required=False, help_text="ISO-8601; events before it (with `since`, later than since: a bounded window)"
    )
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=MAX_LIMIT)
    before = serializers.CharField(
        required=False, max_length=40, help_text="Keyset cursor: the id of the last event of the previous page"
    )

    def validate_plate(self, value: str) -> str:
        if len(normalize_plate(value) or "") < 2:
            raise serializers.ValidationError(PLATE_RULE)
        return value

    def validate(self, attrs: dict) -> dict:
        if "since" in attrs and "until" in attrs and attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": ["Must be later than since."]})
        return attrs


class EventIngestSerializer(serializers.Serializer):
    """POST /v2/api/events body. Only JSON types are checked here; the rules live in events.services.create_event."""

    camera_id = serializers.CharField(max_length=64)
    type = serializers.CharField(max_length=32, help_text="One of: " + ", ".join(INGESTED_EVENT_TYPES))
    confidence = serializers.FloatField(help_text="0 to 1")
    payload = serializers.DictField(required=False, default=dict)
    snapshot_url = serializers.CharField(required=False, default="", allow_blank=True)
    trace_id = serializers.CharField(required=False, default=None, allow_null=True, help_text="Generated when absent")
    model_version = serializers.CharField(required=False, default="", allow_blank=True)
    severity = serializers.CharField(
        required=False, default=Severity.DETECTION.value, help_text="One of: " + ", ".join(Severity.values)
    )
    ts = serializers.DateTimeField(required=False, default=None, allow_null=True, help_text="ISO-8601; now when absent")
    tags = serializers.ListField(child=serializers.CharField(), required=False, default=list)


# Only for the schema: events.serializers.event_json makes the event (tests keep the two field lists equal).
class EventSerializer(serializers.Serializer):
    """An event, as the REST API returns it and the WebSocket pushes it (in `data`)."""

    id = serializers.CharField()
    tenant_id = serializers.CharField()
    camera_id = serializers.CharField()
    type = serializers.ChoiceField(choices=list(EVENT_CATEGORIES))
    confidence = serializers.FloatField(min_value=0, max_value=1)
    payload = serializers.DictField(
        help_text="What the detector or the ingesting client attached (boxes, track_id; `zones` entered, when the "
        "camera has zones; for line_crossing: line, direction, label, track_id, boxes, frame)"
    )
    snapshot_url = serializers.CharField(
        allow_blank=True, help_text="/v2/hls/... (add ?token=) or the URL the ingesting client gave; empty for none"
    )
    trace_id = serializers.CharField()
    model_version = serializers.CharField(allow_blank=True)
    severity = serializers.ChoiceField(
        choices=Severity.values, help_text="alert: the label is one of the camera's alert labels (in an alert zone)"
    )
    ts = serializers.DateTimeField(help_text="UTC with milliseconds, e.g. 2026-04-30T14:23:45.123Z")

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants.catalogue import FEATURES

from ..aim import (
    AIM_FIELDS,
    DIRECTIONS,
    FILTER_KEYS,
    LABELS,
    MASK_KINDS,
    MAX_NAME_LENGTH,
    MAX_POINTS,
    MAX_SHAPES,
    InvalidAim,
    save_camera,
    validate_aim,
)  # fmt: skip
from ..models import Camera, PipelineState, camera_id_validator
from ..rtsp import clean_camera_url, mask_credentials
from ..services import plan_features

# The aim fields' OpenAPI schemas; cameras.aim.validate_aim checks the rest (simple polygons, unique names).
FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
POINT = {"type": "array", "items": FRACTION, "minItems": 2, "maxItems": 2, "description": "[x, y], 0-1 of the frame"}
POLYGON = {"type": "array", "items": POINT, "minItems": 3, "maxItems": MAX_POINTS, "description": "A simple polygon"}
NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH, "description": "Unique in the list"}
LABEL_LIST = {"type": "array", "items": {"type": "string", "enum": list(LABELS)}, "uniqueItems": True}


def _shapes(description: str, **properties: dict) -> dict:
    return {
        "type": "array",
        "maxItems": MAX_SHAPES,
        "description": description,
        "items": {
            "type": "object",
            "properties": {"name": NAME, **properties},
            "required": ["name", *(key for key in properties if key not in ("labels", "required", "alert"))],
            "additionalProperties": False,
        },
    }


AIM_SCHEMAS = {
    "zones": _shapes(
        "Named polygons; events list the zones their object entered (payload.zones)",
        points=POLYGON,
        labels={**LABEL_LIST, "description": "The labels it applies to; all when absent"},
        required={"type": "boolean", "default": False, "description": "Objects that never enter one give no event"},
        alert={"type": "boolean", "default": False, "description": "Only objects entering one are alerts"},
    ),
    "masks": _shapes(
        "Object masks drop detections whose box bottom-centre is inside; motion masks are left out of the motion gate",
        points=POLYGON,
        kind={"type": "string", "enum": list(MASK_KINDS)},
        labels={**LABEL_LIST, "description": "Object masks only: the labels it drops; all when absent"},
    ),
    "filters": {
        "type": "object",
        "description": "Per label: the least score and the box area range (fractions of the frame) of a detection",
        "properties": {
            label: {"type": "object", "properties": dict.fromkeys(FILTER_KEYS, FRACTION), "additionalProperties": False}
            for label in LABELS
        },
        "additionalProperties": False,
    },
    "lines": _shapes(
        "Named segments; a track crossing one in its direction gives a line_crossing event",
        a=POINT,
        b=POINT,
        direction={"type": "string", "enum": list(DIRECTIONS)},
        labels={**LABEL_LIST, "description": "The labels it counts; all when absent"},
    ),
    "alert_labels": {**LABEL_LIST, "description": "Labels whose events are alerts (default person, vehicle)"},
}


def aim_field(name: str) -> serializers.JSONField:
    """A camera's aim field: JSON, returned as given, described in the schema by AIM_SCHEMAS."""
    field_class = type(f"{name.title().replace('_', '')}Field", (serializers.JSONField,), {})
    return extend_schema_field(AIM_SCHEMAS[name])(field_class)(required=False)


class StreamUrlField(serializers.CharField):
    """One of a camera's RTSP URLs: checked as cameras.rtsp says, shown with its password masked; sending back the
    masked URL keeps the stored password."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=1000, **kwargs)

    def to_internal_value(self, data) -> str:
        url = super().to_internal_value(data)
        stored = getattr(self.parent.instance, self.source) if self.parent.instance is not None else None
        try:
            return clean_camera_url(url, stored)
        except ValueError as exc:
            raise serializers.ValidationError(f"RTSP URL {exc}.") from exc

    def to_representation(self, value: str) -> str:
        return mask_credentials(value)


class CameraSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="slug", required=False, max_length=64, validators=[camera_id_validator])
    tenant_id = serializers.CharField(read_only=True)
    rtsp_url = StreamUrlField(help_text="rtsp:// or rtsps://; the password is masked")
    detect_url = StreamUrlField(
        required=False, allow_blank=True, help_text="A substream the detector decodes instead; empty for none"
    )
    live_url = StreamUrlField(
        required=False, allow_blank=True, help_text="A substream live viewers get instead; empty for none"
    )
    features = serializers.ListField(
        child=serializers.ChoiceField(choices=FEATURES),
        required=False,
        help_text="Features outside the tenant's plan are dropped.",
    )
    fps = serializers.IntegerField(min_value=1, max_value=30, required=False)
    zones = aim_field("zones")
    masks = aim_field("masks")
    filters = aim_field("filters")
    lines = aim_field("lines")
    alert_labels = aim_field("alert_labels")

    class Meta:
        model = Camera
        fields = [
            "id", "tenant_id", "name", "rtsp_url", "detect_url", "live_url", "features", "fps",
            "enabled", "record", "status", *AIM_FIELDS, "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["status", "created_at", "updated_at"]

    def validate_id(self, value: str) -> str:
        if self.instance is not None and value != self.instance.slug:
            raise serializers.ValidationError("A camera's id cannot be changed.")
        return value

    def validate_features(self, value: list[str]) -> list[str]:
        return plan_features(self.context["tenant"], value)

    def validate(self, attrs: dict) -> dict:
        try:
            validate_aim(attrs)
        except InvalidAim as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from exc
        return attrs

    def update(self, instance: Camera, validated_data: dict) -> Camera:
        changed = [field for field, value in validated_data.items() if getattr(instance, field) != value]
        self.changed = changed  # what the view audits
        for field in changed:
            setattr(instance, field, validated_data[field])
        save_camera(instance, changed)
        return instance


class PipelineStateSerializer(serializers.ModelSerializer):
    class Meta:
        model = PipelineState
        fields = ["state", "worker", "since", "last_error", "last_error_at", "failures", "detail"]
        read_only_fields = fields


class CameraDetailSerializer(CameraSerializer):
    """A camera (in the list and alone), plus its pipelines (record, detect) as operators see them: where, since
    when, last error. Views prefetch `pipelines`."""

    pipelines = serializers.SerializerMethodField()

    class Meta(CameraSerializer.Meta):
        fields = [*CameraSerializer.Meta.fields, "pipelines"]

    @extend_schema_field(
        serializers.DictField(child=PipelineStateSerializer(), help_text="By kind: record, detect (once started)")
    )
    def get_pipelines(self, instance: Camera) -> dict[str, dict]:
        return {state.kind: PipelineStateSerializer(state).data for state in instance.pipelines.all()}

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenants.catalogue import FEATURES

from ..models import Camera, PipelineState, camera_id_validator
from ..rtsp import keep_stored_password, mask_credentials, validate_rtsp_url
from ..services import plan_features


class CameraSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="slug", required=False, max_length=64, validators=[camera_id_validator])
    tenant_id = serializers.CharField(read_only=True)
    rtsp_url = serializers.CharField(max_length=1000, help_text="rtsp:// or rtsps://; the password is masked")
    features = serializers.ListField(
        child=serializers.ChoiceField(choices=FEATURES),
        required=False,
        help_text="Features outside the tenant's plan are dropped.",
    )
    fps = serializers.IntegerField(min_value=1, max_value=30, required=False)

    class Meta:
        model = Camera
        fields = [
            "id", "tenant_id", "name", "rtsp_url", "features", "fps",
            "enabled", "record", "status", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["status", "created_at", "updated_at"]

    def validate_id(self, value: str) -> str:
        if self.instance is not None and value != self.instance.slug:
            raise serializers.ValidationError("A camera's id cannot be changed.")
        return value

    def validate_rtsp_url(self, value: str) -> str:
        try:
            validate_rtsp_url(value)
            return keep_stored_password(value, self.instance.rtsp_url if self.instance else None)
        except ValueError as exc:
            raise serializers.ValidationError(f"RTSP URL {exc}.") from exc

    def validate_features(self, value: list[str]) -> list[str]:
        return plan_features(self.context["tenant"], value)

    def to_representation(self, instance: Camera) -> dict:
        data = super().to_representation(instance)
        data["rtsp_url"] = mask_credentials(instance.rtsp_url)
        return data


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

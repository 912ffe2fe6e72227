from django.core.validators import RegexValidator
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from tenants import audit
from tenants.api.errors import Conflict
from tenants.api.openapi import SPACE, error, errors
from tenants.api.viewsets import TenantModelViewSet

from ..aim import AIM_FIELDS
from ..models import Camera, PipelineState
from ..services import CameraIdTaken, CameraLimitReached, save_new_camera
from .serializers import CameraDetailSerializer, CameraSerializer

# Within what cameras.rtsp.validate_rtsp_url accepts: rtsp(s)://, user info of RFC 3986's characters, a host name
# as DNS spells it, a port, then anything without whitespace or a backslash.
RTSP_URL_PATTERN = (
    r"^rtsps?://([A-Za-z0-9._~%!$&'()*+,;=:-]*@)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?(:[0-9]{0,4})?"
    rf"([/?#][^{SPACE}\u0000\\]*)?$"
)


def stream_url_schema(help_text: str, required: bool = False) -> serializers.CharField:
    """A camera URL in a request body: rtsp_url is required (on create), a substream's may be empty (none)."""
    return serializers.CharField(
        max_length=1000,
        required=required,
        allow_blank=not required,
        validators=[RegexValidator(RTSP_URL_PATTERN)],  # drf-spectacular adds allow_blank's "" as another choice
        help_text=f"{help_text}. Sending back the masked URL keeps the stored password (same host, port, user)",
    )


# CameraInputSchema and CameraChangeSchema only describe the bodies in the schema; CameraSerializer validates them.
@extend_schema_serializer(component_name="Camera")
class CameraInputSchema(CameraSerializer):
    """A camera as a client sends it: on create `name` and `rtsp_url` are required, on change nothing is."""

    rtsp_url = stream_url_schema("rtsp:// or rtsps://", required=True)
    detect_url = stream_url_schema("A substream the detector decodes instead (the same picture, smaller); empty: none")
    live_url = stream_url_schema("A substream live viewers get instead; empty: none")


@extend_schema_serializer(component_name="Camera")
class CameraChangeSchema(CameraInputSchema):
    id = serializers.CharField(source="slug", read_only=True, help_text="A camera's id cannot be changed")


@extend_schema_view(
    list=extend_schema(responses=CameraDetailSerializer(many=True)),
    create=extend_schema(
        request=CameraInputSchema,
        responses={
            201: CameraSerializer,
            **errors(400, 409),
            403: error("The token lacks cameras:write, or the plan's camera_limit is reached (code camera_limit)."),
        },
    ),
    retrieve=extend_schema(responses={200: CameraDetailSerializer, **errors(404)}),
    partial_update=extend_schema(request=CameraChangeSchema, responses={200: CameraSerializer, **errors(400, 404)}),
    destroy=extend_schema(responses={204: None, **errors(404)}),
)
class CameraViewSet(TenantModelViewSet):
    """The tenant's cameras. `id` is the camera's slug, unique within the tenant."""

    queryset = Camera.objects.all()
    serializer_class = CameraSerializer
    scope_resource = "cameras"
    lookup_field = "slug"
    lookup_url_kwarg = "id"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        cameras = super().get_queryset()
        if self.action in ("list", "retrieve"):
            # The pipelines of every listed camera in one more query, whatever their number.
            return cameras.prefetch_related(Prefetch("pipelines", PipelineState.objects.order_by("kind")))
        return cameras

    def get_serializer_class(self):
        return CameraDetailSerializer if self.action in ("list", "retrieve") else CameraSerializer

    def perform_create(self, serializer):
        self.request.user.require_every_camera("add a camera")
        camera = Camera(tenant=self.request.user.tenant, **serializer.validated_data)
        try:
            serializer.instance = save_new_camera(camera)
        except CameraLimitReached as exc:
            raise PermissionDenied(str(exc), code="camera_limit") from exc
        except CameraIdTaken as exc:
            raise Conflict(str(exc), code="id_taken") from exc
        self.audit("camera.create", camera)

    def perform_update(self, serializer):
        super().perform_update(serializer)
        changed = set(serializer.changed)
        # Where and what it looks for (zones, lines, …) apart from the camera itself (its URLs, recording, …).
        if changed - set(AIM_FIELDS):
            self.audit("camera.update", serializer.instance)
        if changed & set(AIM_FIELDS):
            self.audit("camera.aim", serializer.instance)

    def perform_destroy(self, instance):
        super().perform_destroy(instance)
        self.audit("camera.delete", instance)

    def audit(self, action: str, camera: Camera) -> None:
        audit.record_request(self.request, action, object_type="camera", object_id=camera.slug, camera_id=camera.slug)

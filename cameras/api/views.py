from rest_framework.exceptions import PermissionDenied

from tenants.api.errors import Conflict
from tenants.api.viewsets import TenantModelViewSet

from ..models import Camera
from ..services import CameraIdTaken, CameraLimitReached, save_new_camera
from .serializers import CameraDetailSerializer, CameraSerializer


class CameraViewSet(TenantModelViewSet):
    """The tenant's cameras. `id` is the camera's slug, unique within the tenant."""

    queryset = Camera.objects.all()
    serializer_class = CameraSerializer
    scope_resource = "cameras"
    lookup_field = "slug"
    lookup_url_kwarg = "id"
    lookup_value_regex = "[^/]+"

    def get_serializer_class(self):
        return CameraDetailSerializer if self.action == "retrieve" else CameraSerializer

    def perform_create(self, serializer):
        camera = Camera(tenant=self.request.user.tenant, **serializer.validated_data)
        try:
            serializer.instance = save_new_camera(camera)
        except CameraLimitReached as exc:
            raise PermissionDenied(str(exc), code="camera_limit") from exc
        except CameraIdTaken as exc:
            raise Conflict(str(exc), code="id_taken") from exc

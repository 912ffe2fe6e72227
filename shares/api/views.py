"""/v2/api/shares: links that show one camera, live or a recorded clip, to people without an account (the link's
page and media are served by shares.views). Every method needs shares:write: a share hands video out."""

from django.contrib.auth.hashers import make_password
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from cameras.models import Camera
from playback.exports import segments_in_range
from playback.models import Segment
from tenants import audit
from tenants.api.openapi import errors
from tenants.api.viewsets import NewestFirstList, NewestFirstQuerySerializer, TenantScopedMixin
from tenants.catalogue import SHARES_WRITE
from tenants.models import Share

from ..links import new_key, page_path
from .serializers import (
    ShareCreatedSerializer,
    ShareCreateSerializer,
    ShareSerializer,
    share_json,
)


@extend_schema_view(
    list=extend_schema(
        parameters=[NewestFirstQuerySerializer], responses={200: ShareSerializer(many=True), **errors(400)}
    ),
    create=extend_schema(request=ShareCreateSerializer, responses={201: ShareCreatedSerializer, **errors(400)}),
    retrieve=extend_schema(responses={200: ShareSerializer, **errors(404)}),
    destroy=extend_schema(responses={204: None, **errors(404)}),
)
class ShareViewSet(NewestFirstList, TenantScopedMixin, viewsets.GenericViewSet):
    """The tenant's share links, newest first, revoked ones included; DELETE revokes (the row stays, as the audit
    trail names it)."""

    queryset = Share.objects.all()
    serializer_class = ShareCreateSerializer
    required_scope = SHARES_WRITE
    http_method_names = ["get", "post", "delete", "head", "options"]
    present_row = staticmethod(share_json)

    def retrieve(self, request, pk: str):
        return Response(share_json(self.get_object()))

    def create(self, request):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        slug = data["camera_id"]
        camera = Camera.objects.for_principal(request.user).filter(slug=slug).only("id", "slug").first()
        if camera is None:
            raise ValidationError({"camera_id": [f"No camera '{slug}' in this tenant."]})
        if not data["live"]:
            segments = Segment.objects.for_principal(request.user).filter(camera=camera)
            if not segments_in_range(segments, data["start"], data["end"]):
                raise ValidationError({"camera_id": [f"Camera '{slug}' has no recording in the range."]})
        key, key_hash = new_key()
        share = Share.objects.create(
            tenant_id=request.user.tenant_id,
            camera_id=camera.slug,
            live=data["live"],
            start=data.get("start"),
            end=data.get("end"),
            expires=data["expires"],
            password=make_password(data["password"]) if "password" in data else "",
            key_hash=key_hash,
            created_by=audit.actor_of(request.user),
        )
        self.audit("share.create", share)
        body = {**share_json(share), "url": request.build_absolute_uri(page_path(key))}
        return Response(body, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk: str):
        share = self.get_object()
        if share.revoked_at is None:  # revoking again changes nothing
            share.revoked_at = timezone.now()
            share.save(update_fields=["revoked_at"])
            self.audit("share.revoke", share)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def audit(self, action: str, share: Share) -> None:
        audit.record_request(
            self.request, action, object_type="share", object_id=str(share.pk), camera_id=share.camera_id
        )

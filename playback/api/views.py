"""Playback API: which hours of a day have recordings (the event's own playback view is in events.api), and export
jobs (/v2/api/exports)."""

from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from cameras.models import Camera
from tenants import audit
from tenants.api.openapi import error, errors
from tenants.api.views import RETRY_AFTER
from tenants.api.viewsets import NewestFirstList, NewestFirstQuerySerializer, TenantScopedMixin
from tenants.catalogue import EXPORTS_WRITE, PLAYBACK_READ
from tenants.models import Tenant

from .. import playlists
from ..export_queue import QUEUE_RETRY_AFTER_S, ExportQueueFull, ExportQuotaReached, queue_export
from ..exports import delete_export, expires_for, segments_in_range
from ..models import Export, ExportFile, Segment
from ..tasks import run_export_task
from .serializers import (
    ExportChangeSerializer,
    ExportCreateSerializer,
    ExportSerializer,
    TimelineQuerySerializer,
    TimelineSerializer,
    export_json,
)


def get_or_404(queryset, **filters):
    """The one matching row, else a NotFound in the API's error shape (a bare Http404 would lack the code)."""
    # Unordered: the filters name one row, and a model's ordering may join another table (a camera's, its tenant).
    found = queryset.filter(**filters).order_by().first()
    if found is None:
        raise NotFound(f"No {queryset.model._meta.verbose_name} matches the given query.")
    return found


def _utc(moment: datetime) -> str:
    """A datetime as TimelineSerializer (DRF) writes one: ISO-8601 in UTC, +00:00 as Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class PlaybackView(APIView):
    # Read-only views: any method needs playback:read, so a method they lack is a 405, not a 403 naming a
    # playback:write scope that does not exist.
    required_scope = PLAYBACK_READ


class TimelineView(PlaybackView):
    @extend_schema(parameters=[TimelineQuerySerializer], responses={200: TimelineSerializer, **errors(400, 404)})
    def get(self, request):
        query = TimelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        camera_id, day = query.validated_data["camera_id"], query.validated_data["date"]
        cameras = Camera.objects.for_principal(request.user).only("id", "tenant_id", "slug")
        camera = get_or_404(cameras, slug=camera_id)
        spans = [{"start": _utc(s["start"]), "end": _utc(s["end"])} for s in playlists.recorded_spans(camera, day)]
        body = {
            "camera_id": camera.slug,
            "date": day.isoformat(),
            "hours": playlists.timeline(camera, day),
            "spans": spans,
        }
        return Response(body)


@extend_schema_view(
    list=extend_schema(
        parameters=[NewestFirstQuerySerializer], responses={200: ExportSerializer(many=True), **errors(400)}
    ),
    create=extend_schema(
        request=ExportCreateSerializer,
        parameters=[RETRY_AFTER],
        responses={
            202: ExportSerializer,
            **errors(400),
            403: error("The token lacks exports:write, or the plan's export_quota_gb is used (code export_quota_gb)."),
            429: error("The plan's max_queued_exports wait already (code max_queued_exports); see Retry-After."),
        },
    ),
    retrieve=extend_schema(responses={200: ExportSerializer, **errors(404)}),
    partial_update=extend_schema(request=ExportChangeSerializer, responses={200: ExportSerializer, **errors(400, 404)}),
    destroy=extend_schema(responses={204: None, **errors(404)}),
)
class ExportViewSet(NewestFirstList, TenantScopedMixin, viewsets.GenericViewSet):
    """The tenant's export jobs: reading needs playback:read, starting, holding and deleting exports:write."""

    queryset = Export.objects.all()
    serializer_class = ExportCreateSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    present_row = staticmethod(export_json)

    @property
    def required_scope(self) -> str:
        return PLAYBACK_READ if self.request.method in SAFE_METHODS else EXPORTS_WRITE

    def get_queryset(self):
        return super().get_queryset().prefetch_related(Prefetch("files", ExportFile.objects.order_by("camera_slug")))

    def retrieve(self, request, pk: str):
        return Response(export_json(self.get_object()))

    def create(self, request):
        tenant = Tenant.objects.get(pk=request.user.tenant_id)  # the plan as it is now, not as the token saw it
        body = ExportCreateSerializer(data=request.data, context={"tenant": tenant})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        found = {c.slug: c for c in Camera.objects.for_principal(request.user).filter(slug__in=data["camera_ids"])}
        unknown = [slug for slug in data["camera_ids"] if slug not in found]
        if unknown:
            raise ValidationError({"camera_ids": [f"No camera '{slug}' in this tenant." for slug in unknown]})
        segments = Segment.objects.for_principal(request.user)
        start, end = data["start"], data["end"]
        empty = [s for s, c in found.items() if not segments_in_range(segments.filter(camera=c), start, end)]
        if empty:
            raise ValidationError({"camera_ids": [f"Camera '{slug}' has no recording in the range." for slug in empty]})
        try:
            export = queue_export(tenant.pk, found, start, end, data["name"], data["legal_hold"])
        except ExportQuotaReached as exc:
            raise PermissionDenied(str(exc), code="export_quota_gb") from exc
        except ExportQueueFull as exc:
            raise Throttled(QUEUE_RETRY_AFTER_S, str(exc), code="max_queued_exports") from exc
        transaction.on_commit(run_export_task.delay)  # a turn of an export worker: it takes the fairest queued export
        self.audit("export.create", export, found)
        return Response(export_json(self.get_queryset().get(pk=export.pk)), status=status.HTTP_202_ACCEPTED)

    def partial_update(self, request, pk: str):
        export = self.get_object()
        body = ExportChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        held = body.validated_data["legal_hold"]
        if export.legal_hold != held:
            self.audit("export.hold" if held else "export.release", export)
        if export.legal_hold and not held:  # released: kept for the plan's export retention from now
            export.expires = expires_for(export)
        export.legal_hold = held
        export.save(update_fields=["legal_hold", "expires"])
        return Response(export_json(self.get_queryset().get(pk=export.pk)))

    def destroy(self, request, pk: str):
        export = self.get_object()
        self.audit("export.delete", export)
        delete_export(export)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def audit(self, action: str, export: Export, camera_ids: Iterable[str] | None = None) -> None:
        """An entry per camera of the export, so the trail of each camera shows who took its video out."""
        if camera_ids is None:
            camera_ids = [file.camera_slug for file in export.files.all()]
        for camera_id in camera_ids:
            audit.record_request(
                self.request, action, object_type="export", object_id=str(export.pk), camera_id=camera_id
            )

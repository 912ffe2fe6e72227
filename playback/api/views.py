"""Playback API: which hours of a day have recordings (the event's own playback view is in events.api)."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from cameras.models import Camera
from tenants.api.openapi import errors
from tenants.catalogue import PLAYBACK_READ

from .. import playlists
from .serializers import TimelineQuerySerializer, TimelineSerializer


def get_or_404(queryset, **filters):
    """The one matching row, else a NotFound in the API's error shape (a bare Http404 would lack the code)."""
    found = queryset.filter(**filters).first()
    if found is None:
        raise NotFound(f"No {queryset.model._meta.verbose_name} matches the given query.")
    return found


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
        body = {
            "camera_id": camera.slug,
            "date": day,
            "hours": playlists.timeline(camera, day),
            "spans": playlists.recorded_spans(camera, day),
        }
        return Response(TimelineSerializer(body).data)

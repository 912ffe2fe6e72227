"""Playback API: which hours of a day have recordings, and where in which playlist an event is."""

from datetime import timedelta

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from cameras.models import Camera
from events.models import Event

from .. import playlists
from .serializers import EventPlaybackSerializer, TimelineQuerySerializer, TimelineSerializer

# How much is shown before an event, so the viewer sees what led to it (clamped to the start of the hour).
PRE_ROLL = timedelta(seconds=5)


def _get_or_404(queryset, **filters):
    """The one matching row, else a NotFound in the API's error shape (a bare Http404 would lack the code)."""
    found = queryset.filter(**filters).first()
    if found is None:
        raise NotFound(f"No {queryset.model._meta.verbose_name} matches the given query.")
    return found


class PlaybackView(APIView):
    scope_resource = "playback"


class TimelineView(PlaybackView):
    @extend_schema(parameters=[TimelineQuerySerializer], responses=TimelineSerializer)
    def get(self, request):
        query = TimelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        camera_id, day = query.validated_data["camera_id"], query.validated_data["date"]
        cameras = Camera.objects.only("id", "tenant_id", "slug")
        camera = _get_or_404(cameras, tenant=request.user.tenant, slug=camera_id)
        body = {"camera_id": camera.slug, "date": day, "hours": playlists.timeline(camera, day)}
        return Response(TimelineSerializer(body).data)


class EventPlaybackView(PlaybackView):
    @extend_schema(responses=EventPlaybackSerializer)
    def get(self, request, event_id: str):
        tenant = request.user.tenant
        event = _get_or_404(Event.objects.only("id", "camera_id", "ts"), tenant=tenant, pk=event_id)
        camera = Camera.objects.filter(tenant=tenant, slug=event.camera_id).only("id", "tenant_id", "slug").first()
        start = event.ts.replace(minute=0, second=0, microsecond=0)
        moment = max(event.ts - PRE_ROLL, start)
        offset = playlists.playlist_offset(playlists.hour_segments(camera, start), moment) if camera else None
        if offset is None:
            raise NotFound("No recording covers this event.", code="no_recording")
        body = {
            "event_id": event.id,
            "camera_id": camera.slug,
            "ts": event.ts,
            "playlist_url": playlists.signed_hour_url(tenant.id, camera.slug, start),
            "offset": round(offset, 3),
            "pre_roll": (event.ts - moment).total_seconds(),
        }
        return Response(EventPlaybackSerializer(body).data)

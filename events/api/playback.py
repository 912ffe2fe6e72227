"""GET /v2/api/playback/event/{id}: where in which signed playlist an event is (it reads Event and Segment, so
it lives here, above playback; its URL stays with the playback API)."""

from datetime import timedelta

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from cameras.models import Camera
from playback import playlists
from playback.api.views import PlaybackView, get_or_404
from tenants.api.openapi import error

from ..models import Event

# How much is shown before an event, so the viewer sees what led to it (clamped to the start of the hour).
PRE_ROLL = timedelta(seconds=5)


class EventPlaybackSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    camera_id = serializers.CharField()
    ts = serializers.DateTimeField()
    playlist_url = serializers.CharField(help_text="signed playlist of the event's hour, playable as is")
    offset = serializers.FloatField(help_text="seconds into the playlist where playback should start")
    pre_roll = serializers.FloatField(help_text="seconds of that offset before the event")


class EventPlaybackView(PlaybackView):
    @extend_schema(
        responses={200: EventPlaybackSerializer, 404: error("No such event in the tenant, or no recording covers it.")}
    )
    def get(self, request, event_id: str):
        event = get_or_404(Event.objects.for_principal(request.user).only("id", "camera_id", "ts"), pk=event_id)
        cameras = Camera.objects.for_principal(request.user).only("id", "tenant_id", "slug")
        camera = cameras.filter(slug=event.camera_id).first()
        start = event.ts.replace(minute=0, second=0, microsecond=0)
        moment = max(event.ts - PRE_ROLL, start)
        offset = playlists.playlist_offset(playlists.hour_segments(camera, start), moment) if camera else None
        if offset is None:
            raise NotFound("No recording covers this event.", code="no_recording")
        body = {
            "event_id": event.id,
            "camera_id": camera.slug,
            "ts": event.ts,
            "playlist_url": playlists.signed_hour_url(camera.tenant_id, camera.slug, start),
            "offset": round(offset, 3),
            "pre_roll": (event.ts - moment).total_seconds(),
        }
        return Response(EventPlaybackSerializer(body).data)

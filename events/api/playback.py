"""GET /v2/api/playback/event/{id}: where in which signed playlist an event is (it reads events and recordings, so
it lives here, above playback; its URL stays with the playback API)."""

from datetime import datetime, timedelta

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
# How much later than an event a camera's first recorded segment may start for the event to play from it: the
# recorder's ffmpeg start and first segment, against the detector's first frames.
RECORDING_START_GRACE = timedelta(seconds=10)


class EventPlaybackSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    camera_id = serializers.CharField()
    ts = serializers.DateTimeField()
    playlist_url = serializers.CharField(help_text="signed playlist of the event's hour, playable as is")
    offset = serializers.FloatField(help_text="seconds into the playlist where playback should start")
    pre_roll = serializers.FloatField(help_text="seconds of that offset before the event (0: recording began after it)")


class EventPlaybackView(PlaybackView):
    @extend_schema(
        responses={200: EventPlaybackSerializer, 404: error("No such event in the tenant, or no recording covers it.")}
    )
    def get(self, request, event_id: str):
        event = get_or_404(Event.objects.for_principal(request.user).only("id", "camera_id", "ts"), pk=event_id)
        cameras = Camera.objects.for_principal(request.user).only("id", "tenant_id", "slug")
        camera = cameras.filter(slug=event.camera_id).first()
        found = playback_start(camera, event.ts) if camera else None
        if found is None:
            raise NotFound("No recording covers this event.", code="no_recording")
        hour, moment, offset = found
        body = {
            "event_id": event.id,
            "camera_id": camera.slug,
            "ts": event.ts,
            "playlist_url": playlists.signed_hour_url(camera.tenant_id, camera.slug, hour),
            "offset": round(offset, 3),
            "pre_roll": max(0.0, (event.ts - moment).total_seconds()),
        }
        return Response(EventPlaybackSerializer(body).data)


def playback_start(camera: Camera, ts: datetime) -> tuple[datetime, datetime, float] | None:
    """(the playlist's hour, the moment playback starts, its offset in that playlist) for an event at `ts`.

    A recorder's first segment can start after the detector's first frames (each opens the camera on its own): an
    event in the last seconds of an hour whose recording starts in the next hour plays from that next hour's start."""
    hour = ts.replace(minute=0, second=0, microsecond=0)
    moment = max(ts - PRE_ROLL, hour)
    offset = playlists.playlist_offset(playlists.recorded_parts(camera, hour), moment)
    if offset is not None:
        return hour, moment, offset
    next_hour = hour + playlists.HOUR
    following = playlists.recorded_parts(camera, next_hour)
    if following and following[0].start < ts + RECORDING_START_GRACE:
        return next_hour, next_hour, 0.0
    return None

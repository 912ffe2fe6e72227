"""/v2/hls/: hour and live playlists, segments and snapshots, each read from the requesting tenant's folder.

Scope rule: playlists, segments and the live snapshot need `playback:read`; an event snapshot (`snap-N.jpg`)
needs `playback:read` or `events:read`, so an events-only token can show event thumbnails but not video.
A signed URL (from a playlist, the playback API or the Kalay API) stands in for the token on its own path.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from cameras.models import Camera

from . import paths, playlists, snapshots
from .media import IMMUTABLE, NO_CACHE, PLAYLIST_TYPE, media_view, serve_file, tenant_for

PLAYBACK_SCOPES = ("playback:read",)
EVENT_SNAPSHOT_SCOPES = ("playback:read", "events:read")
# A finished hour's playlist is final, but the signed URLs in it expire (VMS_MEDIA_URL_TTL): cache it briefly.
FINISHED_PLAYLIST = "private, max-age=300"


def _camera(tenant_id: str, slug: str) -> Camera:
    return get_object_or_404(Camera.objects.only("id", "tenant_id", "slug"), tenant_id=tenant_id, slug=slug)


def _playlist_response(body: str, cache_control: str) -> HttpResponse:
    return HttpResponse(body, content_type=PLAYLIST_TYPE, headers={"Cache-Control": cache_control})


@media_view
def hour_playlist(request: HttpRequest, camera: str, day: str, hour: str) -> HttpResponse:
    start = playlists.hour_start(day, hour)
    if start is None:
        raise Http404("No such hour.")
    tenant_id = tenant_for(request, PLAYBACK_SCOPES)
    now = timezone.now()
    body = playlists.hour_playlist(_camera(tenant_id, camera), start, now)
    if body is None:
        raise Http404("No recording in this hour.")
    return _playlist_response(body, FINISHED_PLAYLIST if playlists.hour_is_over(start, now) else NO_CACHE)


@media_view
def live_playlist(request: HttpRequest, camera: str) -> HttpResponse:
    tenant_id = tenant_for(request, PLAYBACK_SCOPES)
    return _playlist_response(playlists.live_playlist(_camera(tenant_id, camera), timezone.now()), NO_CACHE)


@media_view
def hour_file(request: HttpRequest, camera: str, day: str, hour: str, name: str) -> HttpResponse:
    """A recorded segment (`.ts`) or an event snapshot (`.jpg`) of that hour."""
    if playlists.hour_start(day, hour) is None:
        raise Http404("No such hour.")
    snapshot = name.endswith(".jpg")
    tenant_id = tenant_for(request, EVENT_SNAPSHOT_SCOPES if snapshot else PLAYBACK_SCOPES)
    path = paths.hour_dir(tenant_id, camera, day, hour) / name
    return serve_file(request, path, "image/jpeg" if snapshot else "video/mp2t", IMMUTABLE)


@media_view
def latest_snapshot(request: HttpRequest, camera: str) -> HttpResponse:
    tenant_id = tenant_for(request, PLAYBACK_SCOPES)
    return serve_file(request, snapshots.latest_frame(_camera(tenant_id, camera)), "image/jpeg", NO_CACHE)

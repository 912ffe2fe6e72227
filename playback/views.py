"""/v2/hls/: hour and live playlists, segments and snapshots, each found through the requesting principal.

Scope rule: playlists, segments and the live snapshot need `playback:read`; an event snapshot (`snap-N.jpg`)
needs `playback:read` or `events:read`, so an events-only token can show event thumbnails but not video.
A signed URL (from a playlist, the playback API or the Kalay API) stands in for the token on its own path.
Only files the index knows are served: a recorded object by its Segment row (or, while its recorder has not had it
indexed yet, by the camera's unindexed objects), a snapshot by its camera, so nothing of a deleted camera (or a file
that retention is removing) is ever read. Every web node serves every file: from this machine's disk when it holds
it, else from the bucket.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from cameras.models import Camera
from tenants.catalogue import EVENTS_READ, PLAYBACK_READ
from tenants.gate import TenantPrincipal

from . import paths, playlists, snapshots, storage, unindexed
from .media import IMMUTABLE, NO_CACHE, PLAYLIST_TYPE, media_view, principal_for, serve_file, serve_object
from .models import Export, ExportFile, Segment

PLAYBACK_SCOPES = (PLAYBACK_READ,)
EVENT_SNAPSHOT_SCOPES = (PLAYBACK_READ, EVENTS_READ)
# A finished hour's playlist is final, but the signed URLs in it expire (VMS_MEDIA_URL_TTL): cache it briefly.
FINISHED_PLAYLIST = "private, max-age=300"


def _camera(principal: TenantPrincipal, slug: str) -> Camera:
    return get_object_or_404(Camera.objects.for_principal(principal).only("id", "tenant_id", "slug"), slug=slug)


def serve_stored(request: HttpRequest, relative: str, content_type: str, cache_control: str) -> HttpResponse:
    """A file from this machine's disk when it holds it, else from the bucket (when there is one)."""
    try:
        return serve_file(request, paths.recordings_path(relative), content_type, cache_control)
    except Http404:
        if storage.bucket() is None:
            raise
    return serve_object(request, relative, content_type, cache_control)


def _playlist_response(body: str, cache_control: str) -> HttpResponse:
    return HttpResponse(body, content_type=PLAYLIST_TYPE, headers={"Cache-Control": cache_control})


@media_view
def hour_playlist(request: HttpRequest, camera: str, day: str, hour: str) -> HttpResponse:
    start = playlists.hour_start(day, hour)
    if start is None:
        raise Http404("No such hour.")
    principal = principal_for(request, PLAYBACK_SCOPES)
    now = timezone.now()
    body = playlists.hour_playlist(_camera(principal, camera), start, now)
    if body is None:
        raise Http404("No recording in this hour.")
    return _playlist_response(body, FINISHED_PLAYLIST if playlists.hour_is_over(start, now) else NO_CACHE)


@media_view
def live_playlist(request: HttpRequest, camera: str) -> HttpResponse:
    principal = principal_for(request, PLAYBACK_SCOPES)
    return _playlist_response(playlists.live_playlist(_camera(principal, camera), timezone.now()), NO_CACHE)


@media_view
def hour_file(request: HttpRequest, camera: str, day: str, hour: str, name: str) -> HttpResponse:
    """A recorded object (`.ts`, its parts read by byte range) or an event snapshot (`.jpg`) of that hour."""
    if playlists.hour_start(day, hour) is None:
        raise Http404("No such hour.")
    snapshot = name.endswith(".jpg")
    principal = principal_for(request, EVENT_SNAPSHOT_SCOPES if snapshot else PLAYBACK_SCOPES)
    found = _camera(principal, camera)
    relative = f"{paths.hour_folder(found.tenant_id, found.slug, day, hour)}/{name}"
    if snapshot or Segment.objects.for_principal(principal).filter(path=relative).exists():
        return serve_stored(request, relative, "image/jpeg" if snapshot else "video/mp2t", IMMUTABLE)
    if any(listed.path == relative for listed in unindexed.read(found.pk)):
        # Still being filled on its recorder's disk: what is there never changes, but more is coming.
        return serve_file(request, paths.recordings_path(relative), "video/mp2t", NO_CACHE)
    raise Http404("No such segment.")


@media_view
def latest_snapshot(request: HttpRequest, camera: str) -> HttpResponse:
    principal = principal_for(request, PLAYBACK_SCOPES)
    return serve_file(request, snapshots.latest_frame(_camera(principal, camera)), "image/jpeg", NO_CACHE)


@media_view
def export_file(request: HttpRequest, export_id: str, camera: str) -> HttpResponse:
    """A finished export's MP4, as an attachment; its SHA-256 in `X-Content-SHA256`. Signed URL or token."""
    principal = principal_for(request, PLAYBACK_SCOPES)
    file = (
        ExportFile.objects.for_principal(principal)
        .filter(export_id=int(export_id), camera_slug=camera, export__state=Export.State.DONE)
        .exclude(path="")
        .first()
    )
    if file is None:
        raise Http404("No such export file.")
    response = serve_stored(request, file.path, "video/mp4", "private, no-cache")
    response["Content-Disposition"] = f'attachment; filename="export-{export_id}-{camera}.mp4"'
    response["X-Content-SHA256"] = file.sha256
    return response

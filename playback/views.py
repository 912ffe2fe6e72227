"""/v2/hls/: hour and live playlists, segments and snapshots, each found through the requesting principal.

Scope rule: playlists, segments and the live snapshot need `playback:read`; an event snapshot (`snap-N.jpg`)
needs `playback:read` or `events:read`, so an events-only token can show event thumbnails but not video; the live
playlist also takes a live share link's token (`share:live`, its one camera).
A signed URL (from a playlist, the playback API or the Kalay API) stands in for the token on its own path.
Only files the index knows are served: a recorded object by its Segment row (or, while its recorder has not had it
indexed yet, by the camera's unindexed objects), a snapshot by its camera, so nothing of a deleted camera (or a file
that retention is removing) is ever read. Every web node serves every file: from this machine's disk when it holds
it, else from the bucket.

Viewing is audited (tenants.audit): `playback.view` for an hour's playlist and `snapshot.view` for a snapshot, once per
viewer and object in VIEW_SESSION_S, as a player asks for the same playlist again (a seek, a reload, hls.js' retries)
and a page shows the same thumbnail again; the segments a playlist leads to are not audited one by one.
"""

import redis
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from cameras.models import Camera
from tenants import audit
from tenants.catalogue import EVENTS_READ, PLAYBACK_READ, SHARE_LIVE
from tenants.gate import TenantPrincipal

from . import paths, playlists, snapshots, storage, unindexed
from .media import IMMUTABLE, NO_CACHE, PLAYLIST_TYPE, media_view, principal_for, serve_file, serve_object
from .models import Export, ExportFile, Segment
from .signing import tenant_from_signature

PLAYBACK_SCOPES = (PLAYBACK_READ,)
LIVE_SCOPES = (PLAYBACK_READ, SHARE_LIVE)  # a live share link's page falls back to the live playlist too
EVENT_SNAPSHOT_SCOPES = (PLAYBACK_READ, EVENTS_READ)
# A finished hour's playlist is final, but the signed URLs in it expire (VMS_MEDIA_URL_TTL): cache it briefly.
FINISHED_PLAYLIST = "private, max-age=300"
VIEW_SESSION_S = 30 * 60
SIGNED_URL_ACTOR = "signed-url"  # a signed URL names no one: whoever holds it views through it


def _viewer(request: HttpRequest, principal: TenantPrincipal) -> str:
    """The audit trail's actor of a media request: the token's holder, or SIGNED_URL_ACTOR for a signed URL."""
    if principal.user_id is None and tenant_from_signature(request.path_info, request.GET):
        return SIGNED_URL_ACTOR
    return audit.actor_of(principal)


def seen_key(tenant_id: str, action: str, object_id: str, viewer: str) -> str:
    return f"{settings.VMS_REDIS_PREFIX}:audit:seen:{tenant_id}:{action}:{object_id}:{viewer}"


def audit_view(
    request: HttpRequest, principal: TenantPrincipal, camera: Camera, action: str, obj: tuple[str, str]
) -> None:
    """Record `action` on the (object type, object id) `obj` of `camera`, unless this viewer was recorded doing so
    in the last VIEW_SESSION_S (a Redis key per viewer and object says so)."""
    object_type, object_id = obj
    # A user is known by id until an entry is due: its name (actor_of reads it from the database) only then.
    viewer = f"user-id:{principal.user_id}" if principal.user_id is not None else _viewer(request, principal)
    try:
        first = audit.redis_client().set(
            seen_key(camera.tenant_id, action, object_id, viewer), 1, nx=True, ex=VIEW_SESSION_S
        )
    except redis.RedisError:
        first = True  # Redis away: an entry too many rather than a view unaccounted for (record() writes to SQL)
    if first:
        audit.record(camera.tenant_id, action, actor=_viewer(request, principal), address=audit.address_of(request),
                     object_type=object_type, object_id=object_id, camera_id=camera.slug)  # fmt: skip


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
    found = _camera(principal, camera)
    body = playlists.hour_playlist(found, start, now)
    if body is None:
        raise Http404("No recording in this hour.")
    audit_view(request, principal, found, "playback.view", ("hour", f"{camera}/{day}/{hour}"))
    return _playlist_response(body, FINISHED_PLAYLIST if playlists.hour_is_over(start, now) else NO_CACHE)


@media_view
def live_playlist(request: HttpRequest, camera: str) -> HttpResponse:
    principal = principal_for(request, LIVE_SCOPES)
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
    if snapshot:
        response = serve_stored(request, relative, "image/jpeg", IMMUTABLE)
        audit_view(request, principal, found, "snapshot.view", ("snapshot", f"{camera}/{day}/{hour}/{name}"))
        return response
    if Segment.objects.for_principal(principal).filter(path=relative).exists():
        return serve_stored(request, relative, "video/mp2t", IMMUTABLE)
    if any(listed.path == relative for listed in unindexed.read(found.pk)):
        # Still being filled on its recorder's disk: what is there never changes, but more is coming.
        return serve_file(request, paths.recordings_path(relative), "video/mp2t", NO_CACHE)
    raise Http404("No such segment.")


@media_view
def latest_snapshot(request: HttpRequest, camera: str) -> HttpResponse:
    principal = principal_for(request, PLAYBACK_SCOPES)
    found = _camera(principal, camera)
    response = serve_file(request, snapshots.latest_frame(found), "image/jpeg", NO_CACHE)
    audit_view(request, principal, found, "snapshot.view", ("snapshot", f"{camera}/latest.jpg"))
    return response


@media_view
def export_file(request: HttpRequest, export_id: str, camera: str) -> HttpResponse:
    """A finished export's MP4, as an attachment; its SHA-256 in `X-Content-SHA256`. Signed URL or token."""
    principal = principal_for(request, PLAYBACK_SCOPES)
    file = (
        ExportFile.objects.for_principal(principal)
        # The export, too, through the gate: one of cameras a principal does not all see is not found, whole.
        .filter(export__in=Export.objects.for_principal(principal))
        .filter(export_id=int(export_id), camera_slug=camera, export__state=Export.State.DONE)
        .exclude(path="")
        .first()
    )
    if file is None:
        raise Http404("No such export file.")
    response = serve_stored(request, file.path, "video/mp4", "private, no-cache")
    response["Content-Disposition"] = f'attachment; filename="export-{export_id}-{camera}.mp4"'
    response["X-Content-SHA256"] = file.sha256
    viewer, address = _viewer(request, principal), audit.address_of(request)
    audit.record(principal.tenant_id, "export.download", actor=viewer, address=address, object_type="export",
                 object_id=export_id, camera_id=camera)  # fmt: skip
    return response

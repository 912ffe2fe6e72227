"""A share link's page (/v2/s/<key>), the token its viewer plays with, and a clip share's playlist.

The page is minimal HTML, with no console and no account: GET shows the camera and what is shared (or why the link
no longer works); the page's script POSTs the password (or nothing) to the same URL for a share token, then plays
the clip (`clip.m3u8` below) or the camera live (/v2/ws/live/ and /v2/hls/<camera>/live.m3u8, which take a live
share's token). Every open and every viewing is audited with the share as the actor (`share:<id>`).
"""

import math

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, Throttled
from rest_framework.response import Response
from rest_framework.views import APIView

from cameras.models import Camera
from playback import playlists
from playback.media import NO_CACHE, PLAYLIST_TYPE, media_view, principal_for
from playback.views import audit_view
from tenants import audit
from tenants.catalogue import SHARE_CLIP
from tenants.models import Share
from tenants.tokens import issue_share_token

from .api.serializers import share_json
from .links import SharePasswordThrottle, by_key, page_path, seconds_left, viewer


class WrongPassword(APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = "Wrong password."
    default_code = "wrong_password"


class ShareEnded(APIException):
    status_code = status.HTTP_410_GONE
    default_code = "share_ended"


def _camera(share: Share) -> Camera | None:
    return Camera.objects.for_principal(viewer(share)).filter(slug=share.camera_id).only("slug", "name").first()


def _ended_page(request: HttpRequest, reason: str, status_code: int) -> HttpResponse:
    return render(request, "shares/ended.html", {"reason": reason}, status=status_code)


class SharePageView(APIView):
    """GET: the page; POST {"password"?}: the share token and what the page plays with it."""

    authentication_classes = []  # the link's key (and password) is the credential
    permission_classes = []
    schema = None  # the page's own, not the REST API's (no token, no /v2/api/ path)

    def get(self, request, key: str) -> HttpResponse:
        share = by_key(key)
        camera = share and _camera(share)
        if camera is None:
            return _ended_page(request, Share.NOT_FOUND, status.HTTP_404_NOT_FOUND)
        if ended := share.why_ended():
            return _ended_page(request, ended, status.HTTP_410_GONE)
        return render(request, "shares/page.html", {"share": share, "camera": camera})

    def post(self, request, key: str) -> Response:
        share = by_key(key)
        camera = share and _camera(share)
        if camera is None:
            raise NotFound(Share.NOT_FOUND)
        if ended := share.why_ended():
            raise ShareEnded(ended)
        if share.password:
            self.check_password(request, share)
        principal = viewer(share)
        audit.record(share.tenant_id, "share.open", actor=audit.actor_of(principal), address=audit.address_of(request),
                     object_type="share", object_id=str(share.pk), camera_id=share.camera_id)  # fmt: skip
        token = issue_share_token(share)
        shown = share_json(share)
        body = {
            "token": token,
            **{field: shown[field] for field in ("camera_id", "live", "start", "end", "expires")},
            "camera_name": camera.name,
            "playlist_url": None if share.live else f"{page_path(key)}/clip.m3u8?token={token}",
        }
        return Response(body, headers={"Cache-Control": "no-store"})

    def check_password(self, request, share: Share) -> None:
        """Refuses a wrong password, and any try once this address has spent its budget of wrong ones here."""
        throttle = SharePasswordThrottle(share.pk)
        if throttle.spent(request):
            raise Throttled(math.ceil(throttle.wait()))
        password = request.data.get("password") if isinstance(request.data, dict) else None
        if not (isinstance(password, str) and check_password(password, share.password)):
            throttle.count()
            raise WrongPassword()


@media_view
def clip_playlist(request: HttpRequest, key: str) -> HttpResponse:
    """The VOD playlist of exactly the share's clip, for its own token only; its segments' URLs expire with it."""
    principal = principal_for(request, (SHARE_CLIP,))
    share = by_key(key)
    if share is None or share.pk != principal.share_id:
        raise Http404("No such share.")
    camera = get_object_or_404(Camera.objects.for_principal(principal).only("id", "tenant_id", "slug"),
                               slug=share.camera_id)  # fmt: skip
    ttl = min(settings.VMS_MEDIA_URL_TTL, seconds_left(share))
    runs = playlists.recorded_runs(camera, share.start, share.end)
    body = playlists.render_playlist(runs, camera.tenant_id, playlist_type="VOD", ended=True, ttl=ttl)
    audit_view(request, principal, camera, "playback.view", ("share", str(share.pk)))
    # Never cached: the next request after a revoke is refused.
    return HttpResponse(body, content_type=PLAYLIST_TYPE, headers={"Cache-Control": NO_CACHE})

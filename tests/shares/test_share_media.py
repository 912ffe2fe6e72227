"""What a share token plays: a clip share's playlist holds exactly its range, with segment URLs that expire with the
share, and is audited as the share's viewing; the token opens nothing else (the neighbouring hour, another camera,
another share)."""

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from playback import paths
from tenants import audit
from tenants.models import AuditEntry, Share

from ..factories import CameraFactory
from .conftest import HOUR, make_share

pytestmark = pytest.mark.django_db

HOUR_PLAYLIST = "/v2/hls/cam-front-01/2020-03-12/04/index.m3u8"


@pytest.fixture
def opened(client):
    """opened(share): the page's answer (token, playlist_url, ...) for a share without a password."""

    def open_share(share: dict) -> dict:
        response = client.post(f"/v2/s/{share['key']}", {}, "application/json")
        assert response.status_code == 200, response.json()
        return response.json()

    return open_share


def segment_urls(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def test_a_clip_playlist_holds_only_the_range_and_plays(client, camera_a, record, opened, client_a):
    rows = record(camera_a)  # 20 s of demo segments from HOUR
    share = make_share(client_a, expires=(timezone.now() + timedelta(minutes=10)).isoformat())
    start, end = HOUR + timedelta(seconds=4), HOUR + timedelta(seconds=10)
    inside = [row for row in rows if start <= row.start < end]
    assert 0 < len(inside) < len(rows)

    response = client.get(opened(share)["playlist_url"])

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response["Cache-Control"] == "no-cache"
    playlist = response.content.decode()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.rstrip().endswith("#EXT-X-ENDLIST")
    assert f"#EXT-X-PROGRAM-DATE-TIME:{inside[0].start.isoformat(timespec='milliseconds')}" in playlist
    urls = segment_urls(playlist)
    assert [urlsplit(url).path for url in urls] == [paths.url_for_file(row.path) for row in inside]
    for url in urls:
        expires = int(parse_qs(urlsplit(url).query)["exp"][0])
        assert time.time() < expires <= time.time() + 600  # no longer than the share lives
        segment = client.get(url)
        assert segment.status_code == 200 and segment["Content-Type"] == "video/mp2t"


def test_a_clip_viewing_is_audited_once_as_the_share(client, camera_a, record, opened, client_a):
    record(camera_a)
    share = make_share(client_a)
    url = opened(share)["playlist_url"]

    for _ in range(2):  # a player asking again (a seek, a reload) is the same viewing
        assert client.get(url, REMOTE_ADDR="10.1.1.1").status_code == 200

    audit.drain()
    views = AuditEntry.objects.filter(action="playback.view")
    fields = ("actor", "address", "object_type", "object_id", "camera_id")
    assert list(views.values_list(*fields)) == [
        (f"share:{share['id']}", "10.1.1.1", "share", str(share["id"]), "cam-front-01")
    ]


def test_a_clip_token_opens_nothing_but_its_clip(client, make_token, tenant_a, camera_a, record, opened, client_a):
    record(camera_a)
    record(camera_a, start=HOUR + timedelta(hours=1), count=2)
    share, other = make_share(client_a), make_share(client_a)
    token = opened(share)["token"]

    def get(url: str, with_token: str | None = token):
        response = client.get(url, {"token": with_token} if with_token else {})
        return response.status_code, response.json()["code"]

    assert get(HOUR_PLAYLIST) == (403, "permission_denied")  # the neighbouring range, in the same hour
    assert get("/v2/hls/cam-front-01/2020-03-12/05/index.m3u8") == (403, "permission_denied")
    assert get("/v2/hls/cam-front-01/live.m3u8") == (403, "permission_denied")
    assert get(f"/v2/s/{other['key']}/clip.m3u8") == (404, "not_found")  # another share's clip
    assert get(f"/v2/s/{share['key']}/clip.m3u8", make_token(tenant_a)) == (403, "permission_denied")
    assert get(f"/v2/s/{share['key']}/clip.m3u8", None) == (401, "not_authenticated")
    assert get(f"/v2/s/{share['key']}/clip.m3u8", "not.a.token") == (401, "token_not_valid")
    api = client.get("/v2/api/cameras", headers={"Authorization": f"Bearer {token}"})
    assert (api.status_code, api.json()["code"]) == (403, "permission_denied")


def test_a_live_token_opens_its_cameras_live_playlist_only(client, tenant_a, camera_a, record, opened, client_a):
    CameraFactory(tenant=tenant_a, slug="cam-back")
    record(camera_a)
    live = opened(make_share(client_a, live=True))
    clip_share = make_share(client_a)

    assert client.get("/v2/hls/cam-front-01/live.m3u8", {"token": live["token"]}).status_code == 200
    other_camera = client.get("/v2/hls/cam-back/live.m3u8", {"token": live["token"]})
    assert (other_camera.status_code, other_camera.json()["code"]) == (404, "not_found")
    assert client.get(HOUR_PLAYLIST, {"token": live["token"]}).status_code == 403
    assert client.get(f"/v2/s/{clip_share['key']}/clip.m3u8", {"token": live["token"]}).status_code == 403


def test_revoked_or_expired_the_clip_playlist_is_refused(client, client_a, camera_a, record, opened):
    record(camera_a)
    revoked, expired = make_share(client_a), make_share(client_a)
    revoked_url, expired_url = opened(revoked)["playlist_url"], opened(expired)["playlist_url"]
    client_a.delete(f"/v2/api/shares/{revoked['id']}")
    Share.objects.filter(pk=expired["id"]).update(expires=timezone.now() - timedelta(seconds=1))

    for url, reason in ((revoked_url, "revoked"), (expired_url, "expired")):
        response = client.get(url)
        assert response.status_code == 401
        assert response.json() == {"detail": f"This share link has {'been ' * (reason == 'revoked')}{reason}.",
                                   "code": "token_not_valid"}  # fmt: skip

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from playback.paths import hour_parts, hour_url
from playback.signing import signed_url

from ..factories import CameraFactory, SegmentFactory
from .conftest import HOUR

pytestmark = pytest.mark.django_db

PLAYLIST = "/v2/hls/cam-front-01/2020-03-12/04/index.m3u8"
LIVE = "/v2/hls/cam-front-01/live.m3u8"


@pytest.fixture
def get(client, make_token, tenant_a):
    """GET with `?token=` of tenant A (or `tenant`, with `scopes`), as hls.js does."""

    def fetch(url, tenant=tenant_a, **token_args):
        return client.get(url, {"token": make_token(tenant, **token_args)})

    return fetch


def uris(body: str) -> list[str]:
    return [line for line in body.splitlines() if line and not line.startswith("#")]


def test_a_finished_hour_is_a_vod_playlist_of_the_indexed_segments(get, camera_a, record):
    segments = record(camera_a)

    response = get(PLAYLIST)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response["Cache-Control"] == "private, max-age=300"
    body = response.content.decode()
    lines = body.splitlines()
    assert lines[:5] == [
        "#EXTM3U", "#EXT-X-VERSION:4", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD",
    ]  # fmt: skip
    assert lines[5] == "#EXT-X-PROGRAM-DATE-TIME:2020-03-12T04:00:00.000+00:00"
    assert lines[-1] == "#EXT-X-ENDLIST"
    assert body.count("#EXTINF:2.000,") == 10
    assert [line for line in lines if line.startswith("#EXT-X-BYTERANGE:")] == [
        f"#EXT-X-BYTERANGE:{s.bytes}@0" for s in segments
    ]
    assert [u.split("?")[0] for u in uris(body)] == ["/v2/hls/" + s.path.split("/", 1)[1] for s in segments]
    assert all("?tid=tenant-a&exp=" in u for u in uris(body))
    assert "token" not in body and "#EXT-X-DISCONTINUITY" not in body


def test_the_parts_of_an_object_are_byte_ranges_of_its_one_url(get, camera_a):
    obj = SegmentFactory(camera=camera_a, start=HOUR, sizes=[100, 250, 40], durations=[2.0, 2.0, 1.5], bytes=390)
    lines = get(PLAYLIST).content.decode().splitlines()
    ranges = [line for line in lines if line.startswith("#EXT-X-BYTERANGE:")]
    assert ranges == ["#EXT-X-BYTERANGE:100@0", "#EXT-X-BYTERANGE:250@100", "#EXT-X-BYTERANGE:40@350"]
    assert [line for line in lines if line.startswith("#EXTINF:")] == [
        "#EXTINF:2.000,",
        "#EXTINF:2.000,",
        "#EXTINF:1.500,",
    ]
    assert len(set(uris("\n".join(lines)))) == 1 and uris("\n".join(lines))[0].startswith(
        "/v2/hls/" + obj.path.split("/", 1)[1]
    )
    assert "#EXT-X-DISCONTINUITY" not in lines, "the parts of an object are contiguous"


def test_a_gap_in_the_recording_is_a_discontinuity(get, camera_a, record):
    record(camera_a, gap_after=4, gap=30)
    lines = get(PLAYLIST).content.decode().splitlines()
    assert lines.count("#EXT-X-DISCONTINUITY") == 1
    after_gap = lines.index("#EXT-X-DISCONTINUITY")
    assert len(uris("\n".join(lines[:after_gap]))) == 4
    assert lines[after_gap + 1] == "#EXT-X-PROGRAM-DATE-TIME:2020-03-12T04:00:38.000+00:00"


@pytest.mark.parametrize("durations, target", [([2.0, 2.0], 2), ([2.0, 4.4, 2.6], 4), ([1.2, 4.5], 5), ([0.3], 1)])
def test_target_duration_is_the_longest_segment_rounded(get, camera_a, durations, target):
    start = HOUR
    for duration in durations:
        SegmentFactory(camera=camera_a, start=start, duration=duration)
        start += timedelta(seconds=duration)
    body = get(PLAYLIST).content.decode()
    assert f"#EXT-X-TARGETDURATION:{target}\n" in body
    assert f"#EXTINF:{durations[-1]:.3f}," in body


def test_the_current_hour_is_a_growing_event_playlist(get, camera_a):
    now = timezone.now()
    url = hour_url(camera_a.slug, *hour_parts(now))
    empty = get(url)  # nothing recorded yet in this hour: a valid playlist the player keeps reloading
    assert (empty.status_code, empty["Cache-Control"]) == (200, "no-cache")
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in empty.content.decode()
    SegmentFactory(camera=camera_a, start=now.replace(minute=0, second=0, microsecond=0))
    body = get(url).content.decode()
    assert len(uris(body)) == 1
    assert "#EXT-X-ENDLIST" not in body


def test_a_future_hour_or_an_hour_without_recording_is_404(get, camera_a):
    assert get(PLAYLIST).status_code == 404
    assert get(hour_url(camera_a.slug, *hour_parts(timezone.now() + timedelta(hours=1)))).status_code == 404


@pytest.mark.parametrize(
    "url",
    ["/v2/hls/cam-front-01/2020-02-30/04/index.m3u8", "/v2/hls/cam-front-01/2020-03-12/24/index.m3u8",
     "/v2/hls/cam-front-01/2020-3-12/04/index.m3u8", "/v2/hls/cam-front-01/2020-03-12/4/index.m3u8",
     "/v2/hls/../2020-03-12/04/index.m3u8", "/v2/hls/Cam_1/2020-03-12/04/index.m3u8", "/v2/hls/x/live.m3u8"],
)  # fmt: skip
def test_bad_path_parts_are_404(get, camera_a, url):
    SegmentFactory(camera=camera_a, start=HOUR)
    assert get(url).status_code == 404


def test_credentials(client, make_token, tenant_a, camera_a):
    SegmentFactory(camera=camera_a, start=HOUR)
    token = make_token(tenant_a, scopes=["playback:read"])
    assert client.get(PLAYLIST, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert client.get(signed_url(PLAYLIST, "tenant-a")).status_code == 200  # as the Kalay API hands it out
    missing = client.get(PLAYLIST)
    assert (missing.status_code, missing.json()["code"]) == (401, "not_authenticated")
    assert client.get(PLAYLIST, {"token": token[:-4] + "AAAA"}).status_code == 401
    assert client.get(PLAYLIST, {"token": make_token(tenant_a, ttl=-5)}).json()["code"] == "token_not_valid"
    no_scope = client.get(PLAYLIST, {"token": make_token(tenant_a, scopes=["cameras:read", "events:read"])})
    assert (no_scope.status_code, no_scope.json()["code"]) == (403, "permission_denied")


@pytest.mark.parametrize(
    "url",
    [signed_url(PLAYLIST, "tenant-a", ttl=-1),  # expired
     signed_url(PLAYLIST, "tenant-a").replace("sig=", "sig=0"),  # forged
     signed_url(PLAYLIST, "tenant-a").replace("tid=tenant-a", "tid=tenant-b"),  # moved to another tenant
     signed_url(LIVE, "tenant-a").replace("live.m3u8", "2020-03-12/04/index.m3u8")],  # moved to another path
)  # fmt: skip
def test_expired_or_forged_signatures_are_401(client, camera_a, url):
    SegmentFactory(camera=camera_a, start=HOUR)
    response = client.get(url)
    assert (response.status_code, response.json()["code"]) == (401, "bad_signature")


def test_another_tenants_camera_is_404(get, client, camera_a, tenant_b, record):
    record(camera_a)
    assert get(PLAYLIST, tenant=tenant_b).status_code == 404
    assert client.get(signed_url(PLAYLIST, "tenant-b")).status_code == 404
    assert get(LIVE, tenant=tenant_b).status_code == 404
    # B's own camera with the same id sees only B's (empty) recordings
    CameraFactory(tenant=tenant_b, slug=camera_a.slug)
    assert get(PLAYLIST, tenant=tenant_b).status_code == 404


def test_query_count_does_not_grow_with_segments(get, client, camera_a):
    SegmentFactory(camera=camera_a, start=HOUR)
    with CaptureQueriesContext(connection) as few:
        get(PLAYLIST)
    for i in range(1, 300):
        SegmentFactory(camera=camera_a, start=HOUR + timedelta(seconds=2 * i))
    with CaptureQueriesContext(connection) as many:
        assert len(uris(get(PLAYLIST).content.decode())) == 300
    assert len(many) == len(few) <= 3  # token's tenant, camera, segments
    with CaptureQueriesContext(connection) as signed:
        client.get(signed_url(PLAYLIST, "tenant-a"))
    assert len(signed) == 2  # a signature needs no tenant lookup


def live_segments(camera, count, end_ago=1.0, step=2.0):
    """`count` indexed 2 s segments of `camera`, the newest ending `end_ago` seconds ago."""
    first = timezone.now() - timedelta(seconds=end_ago + count * step)
    return [SegmentFactory(camera=camera, start=first + timedelta(seconds=i * step)) for i in range(count)]


def test_live_is_a_sliding_window_of_the_newest_segments(get, camera_a):
    segments = live_segments(camera_a, 8)
    first = get(LIVE)
    assert (first.status_code, first["Cache-Control"]) == (200, "no-cache")
    body = first.content.decode()
    assert [u.split("?")[0].rsplit("/", 1)[1] for u in uris(body)] == [s.path.rsplit("/", 1)[1] for s in segments[2:]]
    assert "#EXT-X-ENDLIST" not in body and "#EXT-X-PLAYLIST-TYPE" not in body
    sequence = int(body.split("#EXT-X-MEDIA-SEQUENCE:")[1].split()[0])

    SegmentFactory(camera=camera_a, start=segments[-1].start + timedelta(seconds=2))
    slid = get(LIVE).content.decode()

    # one segment left at the top: the sequence number moves by one, the same segment keeps its number
    assert int(slid.split("#EXT-X-MEDIA-SEQUENCE:")[1].split()[0]) == sequence + 1
    assert [u.split("?")[0] for u in uris(slid)][:5] == [u.split("?")[0] for u in uris(body)][1:]


def test_live_window_starts_after_the_last_gap(get, camera_a):
    before_gap = live_segments(camera_a, 3, end_ago=12)
    after_gap = live_segments(camera_a, 2)
    body = get(LIVE).content.decode()
    assert len(uris(body)) == 2 and before_gap[-1].path.rsplit("/", 1)[1] not in body
    assert after_gap[0].path.rsplit("/", 1)[1] in body
    assert "#EXT-X-DISCONTINUITY" not in body


def test_live_is_empty_while_the_camera_does_not_record(get, camera_a):
    live_segments(camera_a, 3, end_ago=60)
    response = get(LIVE)
    assert response.status_code == 200
    assert uris(response.content.decode()) == []

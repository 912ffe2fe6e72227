import os
import time
from datetime import timedelta

import cv2
import numpy as np
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.utils import timezone

from playback import paths
from playback.signing import signed_url

from .conftest import HOUR

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"


@pytest.fixture
def segment(camera_a, record):
    """One real indexed segment of tenant A: (its /v2/hls URL, its bytes)."""
    [row] = record(camera_a, count=1)
    return paths.url_for_file(row.path), (settings.VMS_RECORDINGS_ROOT / row.path).read_bytes()


@pytest.fixture
def get(client, make_token, tenant_a):
    def fetch(url, tenant=tenant_a, scopes=("playback:read",), **headers):
        return client.get(url, {"token": make_token(tenant, scopes)}, headers=headers)

    return fetch


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_playlists_signed_segment_url_streams_the_file(client, get, segment):
    url, data = segment
    [signed] = [line for line in get("/v2/hls/cam-front-01/2020-03-12/04/index.m3u8").content.decode().splitlines()
                if line.startswith(url)]  # fmt: skip
    response = client.get(signed)
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp2t"
    assert response["Content-Length"] == str(len(data))
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert response["Accept-Ranges"] == "bytes"
    assert body(response) == data
    # the ETag answers a revalidation with 304
    again = client.get(signed, headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304 and again["ETag"] == response["ETag"]


@pytest.mark.parametrize(
    "header, first, last",
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", -50, None), ("bytes=188-999999999", 188, None)],
)
def test_a_range_is_a_206_of_those_bytes(get, segment, header, first, last):
    url, data = segment
    response = get(url, Range=header)
    assert response.status_code == 206
    part = data[first : None if last is None else last + 1]
    assert body(response) == part
    assert response["Content-Length"] == str(len(part))
    start = first % len(data)
    assert response["Content-Range"] == f"bytes {start}-{start + len(part) - 1}/{len(data)}"


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=50-10", "bytes=-0"])
def test_an_unsatisfiable_range_is_416(get, segment, header):
    url, data = segment
    response = get(url, Range=header)
    assert (response.status_code, response.json()["code"]) == (416, "range_not_satisfiable")
    assert response["Content-Range"] == f"bytes */{len(data)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "items=0-9", "bytes=-"])
def test_a_range_it_does_not_serve_sends_the_whole_file(get, segment, header):
    url, data = segment
    response = get(url, Range=header)
    assert (response.status_code, body(response)) == (200, data)


def test_if_range_of_another_version_sends_the_whole_file(get, segment):
    url, data = segment
    response = get(url, Range="bytes=0-9", **{"If-Range": '"old-version"'})
    assert (response.status_code, body(response)) == (200, data)


def test_another_tenant_gets_404_for_the_segment(client, get, segment, tenant_b):
    url, _ = segment
    assert get(url, tenant=tenant_b).status_code == 404
    assert client.get(signed_url(url, "tenant-b")).status_code == 404  # a valid signature of B reads B's folder


def test_segment_credentials(client, get, segment):
    url, data = segment
    assert body(get(url)) == data  # a token in the query works too
    missing = client.get(url)
    assert (missing.status_code, missing.json()["code"]) == (401, "not_authenticated")
    forged = client.get(url, {"token": "abc.def.ghi"})
    assert forged.json() == {"detail": "Token is invalid", "code": "token_not_valid"}  # a sentence, not a repr
    for bad in (signed_url(url, "tenant-a", ttl=-1), signed_url(url, "tenant-a").replace("sig=", "sig=f")):
        assert client.get(bad).json()["code"] == "bad_signature"
    another_files_signature = signed_url(url.replace(".ts", "0.ts"), "tenant-a").split("?")[1]
    assert client.get(f"{url}?{another_files_signature}").status_code == 401
    assert get(url, scopes=("events:read",)).status_code == 403  # event readers see thumbnails, not video


@pytest.mark.parametrize(
    "exp, sig",
    [("²", None), ("9" * 5000, None), (None, "é" * 32), ("\uff11" * 10, None)],
    ids=["superscript digit", "5000 digits", "non-ascii sig", "full-width digits"],
)
def test_a_malformed_signature_is_a_json_401(client, segment, exp, sig):
    url, _ = segment
    params = dict(part.split("=") for part in signed_url(url, "tenant-a").split("?")[1].split("&"))
    params.update({key: value for key, value in (("exp", exp), ("sig", sig)) if value is not None})
    response = client.get(url, params)
    assert (response.status_code, response.json()["code"]) == (401, "bad_signature")


def write(path, data=JPEG):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_event_snapshots_need_events_read_or_playback_read(client, get, camera_a, tenant_b):
    relative = paths.new_snapshot("tenant-a", camera_a.slug, HOUR + timedelta(minutes=3))
    write(paths.recordings_path(relative))
    url = paths.url_for_file(relative)
    for scopes in (("events:read",), ("playback:read",)):
        response = get(url, scopes=scopes)
        assert (response.status_code, response["Content-Type"], body(response)) == (200, "image/jpeg", JPEG)
    assert get(url, scopes=("cameras:read",)).status_code == 403
    assert client.get(signed_url(url, "tenant-a")).status_code == 200  # a thumbnail URL of the Kalay API
    assert get(url, tenant=tenant_b, scopes=("events:read",)).status_code == 404


def first_frame(path):
    capture = cv2.VideoCapture(str(path))
    ok, frame = capture.read()
    capture.release()
    assert ok
    return frame


def difference(a, b) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_latest_snapshot_is_the_newest_segments_first_frame_made_on_request(get, camera_a, tenant_b, record):
    url = "/v2/hls/cam-front-01/latest.jpg"
    assert get(url).status_code == 404, "nothing recorded yet"
    older, newest = record(camera_a, start=timezone.now() - timedelta(minutes=1), count=2)

    response = get(url)
    assert (response.status_code, response["Content-Type"], response["Cache-Control"]) == (
        200,
        "image/jpeg",
        "no-cache",
    )
    frame = cv2.imdecode(np.frombuffer(body(response), np.uint8), cv2.IMREAD_COLOR)
    root = settings.VMS_RECORDINGS_ROOT
    assert difference(frame, first_frame(root / newest.path)) < 3 < difference(frame, first_frame(root / older.path))
    assert get(url, tenant=tenant_b).status_code == 404
    missing = get("/v2/hls/cam-other/latest.jpg")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_latest_snapshot_is_decoded_again_only_when_stale_and_newer_video_exists(get, camera_a, record, settings):
    settings.VMS_SNAPSHOT_SECONDS = 10
    url = "/v2/hls/cam-front-01/latest.jpg"
    record(camera_a, start=timezone.now() - timedelta(minutes=2), count=1)
    etag = get(url)["ETag"]
    snapshot = paths.latest_snapshot("tenant-a", camera_a.slug)

    [newest] = record(camera_a, start=timezone.now() - timedelta(seconds=30), count=1)
    assert get(url)["ETag"] == etag, "younger than VMS_SNAPSHOT_SECONDS: served as it is"

    made_before_newest = time.time() - 60
    os.utime(snapshot, (made_before_newest, made_before_newest))
    frame = cv2.imdecode(np.frombuffer(body(get(url)), np.uint8), cv2.IMREAD_COLOR)
    assert snapshot.stat().st_mtime > made_before_newest + 50, "stale, and a newer segment exists: decoded again"
    assert difference(frame, first_frame(settings.VMS_RECORDINGS_ROOT / newest.path)) < 3

    made_after_newest = time.time() - 11
    os.utime(snapshot, (made_after_newest, made_after_newest))
    assert get(url).status_code == 200
    assert snapshot.stat().st_mtime == made_after_newest, "an offline camera's frame is not decoded again and again"


@pytest.mark.parametrize(
    "url",
    ["/v2/hls/cam-front-01/2020-03-12/04/..%2F..%2Flatest.jpg", "/v2/hls/cam-front-01/2020-03-12/04/.ts",
     "/v2/hls/cam-front-01/2020-03-12/04/seg.m3u8", "/v2/hls/cam-front-01/2020-03-12/99/seg.ts",
     "/v2/hls/cam-front-01/2020-13-12/04/seg.ts", "/v2/hls/cam-front-01/2020-03-12/04/missing.ts"],
)  # fmt: skip
def test_bad_or_unknown_paths_are_404(get, camera_a, url):
    write(paths.latest_snapshot("tenant-a", camera_a.slug))
    assert get(url).status_code == 404


@pytest.mark.django_db(transaction=True)  # the view reads the index from another thread: rows must be committed
async def test_under_asgi_a_segment_streams_in_blocks_not_whole(async_client, segment):
    url, data = segment
    signed = signed_url(url, "tenant-a")
    full = await async_client.get(signed)
    # an async body: Django would otherwise read a sync one into memory whole to serve it under ASGI
    assert full.is_async
    assert b"".join([block async for block in full.streaming_content]) == data
    part = await async_client.get(signed, headers={"Range": "bytes=10-19"})
    assert (part.status_code, part.is_async) == (206, True)
    assert b"".join([block async for block in part.streaming_content]) == data[10:20]
    # That thread's connection would outlive the test and keep the test database from being dropped at the end.
    await sync_to_async(connections.close_all)()

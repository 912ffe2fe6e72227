"""playback/storage.py against a real S3 server (moto behind a proxy that can cut it off), and serve_object."""

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

import pytest
from asgiref.sync import sync_to_async
from botocore.exceptions import ClientError
from django.http import Http404
from django.test import AsyncRequestFactory, RequestFactory

from playback.media import serve_object
from playback.storage import CHUNK, Bucket, StorageUnavailable, bucket

RELATIVE = "tenant-a/cam-front-01/2020-03-12/04/1584000000000.ts"
SIZE = 1_000_000
IMMUTABLE = "private, max-age=31536000, immutable"


@pytest.fixture
def store(s3) -> Bucket:
    return bucket()


@pytest.fixture
def calls(store) -> list[str]:
    """The names of the S3 operations the bucket's client makes from now on (botocore's own event hook)."""
    made = []
    store._client.meta.events.register("before-call.s3", lambda model, **_: made.append(model.name))
    return made


@pytest.fixture
def media(store, tmp_path) -> bytes:
    """The bytes of the object stored at RELATIVE."""
    data = os.urandom(SIZE)
    (tmp_path / "media.ts").write_bytes(data)
    store.put(RELATIVE, tmp_path / "media.ts", "video/mp2t")
    return data


def keys(s3) -> list[str]:
    pages = s3.client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def put_many(s3, relatives: list[str]) -> None:
    with ThreadPoolExecutor(10) as pool:  # boto3's pool holds 10 connections
        list(pool.map(lambda r: s3.client.put_object(Bucket=s3.bucket, Key=f"rec/{r}", Body=b"x"), relatives))


def test_put_stores_one_object_under_the_prefix(s3, media):
    assert keys(s3) == [f"rec/{RELATIVE}"]
    head = s3.client.head_object(Bucket=s3.bucket, Key=f"rec/{RELATIVE}")
    assert (head["ContentType"], head["ContentLength"]) == ("video/mp2t", SIZE)
    assert "-" not in head["ETag"]  # one PUT, not a multipart upload


@pytest.mark.parametrize("path, prefix", [("", ""), ("/", ""), ("/rec/", "rec/"), ("/a/b", "a/b/")])
def test_the_key_is_the_prefix_and_the_relative_path(s3, settings, tmp_path, path, prefix):
    settings.VMS_STORAGE_URL = f"s3://{s3.bucket}{path}"
    (tmp_path / "snap.jpg").write_bytes(b"\xff\xd8\xff\xd9")
    bucket().put("tenant-a/cam/2020-03-12/04/snap-1.jpg", tmp_path / "snap.jpg", "image/jpeg")
    assert keys(s3) == [f"{prefix}tenant-a/cam/2020-03-12/04/snap-1.jpg"]


def test_a_file_above_64_mib_goes_up_in_parts(s3, store, tmp_path):
    data = os.urandom(65 * 1024 * 1024)
    (tmp_path / "export.mp4").write_bytes(data)
    store.put("tenant-a/.exports/7/cam.mp4", tmp_path / "export.mp4", "video/mp4")
    head = s3.client.head_object(Bucket=s3.bucket, Key="rec/tenant-a/.exports/7/cam.mp4")
    assert head["ETag"].endswith('-2"') and head["ContentLength"] == len(data)  # two parts of 64 MiB and 1 MiB
    boundary = 64 * 1024 * 1024
    read = store.get("tenant-a/.exports/7/cam.mp4", boundary - 10, boundary + 9)
    assert read.read() == data[boundary - 10 : boundary + 10]


@pytest.mark.parametrize(
    "first, last, part",
    [
        (None, None, slice(None)),
        (100, 199, slice(100, 200)),
        (SIZE - 10, None, slice(SIZE - 10, None)),
        (None, 10, slice(SIZE - 10, None)),  # the last 10 bytes, as HTTP's bytes=-10
        (SIZE - 5, SIZE + 100, slice(SIZE - 5, None)),  # past the end: up to the end
    ],
)
def test_get_reads_the_object_or_a_range_of_it(s3, store, media, calls, first, last, part):
    read = store.get(RELATIVE, first, last)
    chunks = list(read.chunks())
    read.close()
    assert b"".join(chunks) == media[part]
    assert all(len(chunk) <= CHUNK for chunk in chunks) and len(chunks) == -(-len(media[part]) // CHUNK)
    assert (read.size, read.length) == (SIZE, len(media[part]))
    assert read.etag == s3.client.head_object(Bucket=s3.bucket, Key=f"rec/{RELATIVE}")["ETag"]
    assert calls == ["GetObject"]  # the size comes with the range: no HEAD first


def test_a_range_past_the_end_is_a_value_error(store, media):
    with pytest.raises(ValueError):
        store.get(RELATIVE, SIZE)


def test_a_missing_object_is_file_not_found(store, media):
    with pytest.raises(FileNotFoundError):
        store.get("tenant-a/cam-front-01/2020-03-12/04/0.ts")
    assert store.exists(RELATIVE)
    assert not store.exists("tenant-a/cam-front-01/2020-03-12/04/0.ts")


def test_a_missing_bucket_is_a_client_error_not_a_missing_file(s3, settings, tmp_path):
    settings.VMS_STORAGE_URL = "s3://no-such-bucket/rec"
    (tmp_path / "x").write_bytes(b"x")
    for call in (lambda: bucket().get(RELATIVE), lambda: bucket().put(RELATIVE, tmp_path / "x", "video/mp2t")):
        with pytest.raises(ClientError) as raised:  # upload_file's own S3UploadFailedError is unwrapped too
            call()
        assert raised.value.response["Error"]["Code"] == "NoSuchBucket"


def test_delete_takes_1000_keys_a_request(s3, store, calls):
    relatives = [f"tenant-a/cam/2020-03-12/04/{i}.ts" for i in range(2500)]
    put_many(s3, relatives[::499])  # S3 deletes a missing key as well: a few that exist show each batch works
    batches = []
    store._client.meta.events.register(
        "before-parameter-build.s3.DeleteObjects", lambda params, **_: batches.append(len(params["Delete"]["Objects"]))
    )
    assert store.delete(relatives) == 2500
    assert batches == [1000, 1000, 500]
    assert keys(s3) == []
    assert store.delete([]) == 0 and calls.count("DeleteObjects") == 3  # nothing to delete: no request


def test_delete_prefix_deletes_that_folder_only(s3, store):
    put_many(s3, [f"tenant-a/cam-1/2020-03-12/04/{i}.ts" for i in range(1001)])  # two pages of a listing
    put_many(s3, ["tenant-a/cam-10/2020-03-12/04/1.ts", "tenant-a/cam-1.ts", "tenant-b/cam-1/2020-03-12/04/1.ts"])
    assert store.delete_prefix("tenant-a/cam-1") == 1001
    assert keys(s3) == ["rec/tenant-a/cam-1.ts", "rec/tenant-a/cam-10/2020-03-12/04/1.ts",
                        "rec/tenant-b/cam-1/2020-03-12/04/1.ts"]  # fmt: skip
    assert store.delete_prefix("tenant-a/cam-10/") == 1
    assert store.delete_prefix("tenant-a/cam-1") == 0


@pytest.mark.parametrize(
    "relative", ["/etc/passwd", "../rec2/x.ts", "tenant-a/../../x.ts", "tenant-a\\x.ts", "", "a//b.ts", "./x.ts", ".."]
)
def test_a_path_that_could_leave_the_prefix_is_refused(s3, store, tmp_path, relative):
    (tmp_path / "x").write_bytes(b"x")
    for call in (
        lambda: store.put(relative, tmp_path / "x", "video/mp2t"),
        lambda: store.get(relative),
        lambda: store.delete([relative]),
        lambda: store.delete_prefix(relative),
        lambda: store.exists(relative),
        lambda: store.presigned_url(relative, 60),
    ):
        with pytest.raises(ValueError, match="Not a relative media path"):
            call()
    assert keys(s3) == []


def test_a_cut_off_bucket_fails_fast_and_works_again_when_back(s3, store, media, tmp_path):
    s3.server.outage()
    for call in (
        lambda: store.get(RELATIVE),
        lambda: store.exists(RELATIVE),
        lambda: store.put("tenant-a/cam/2020-03-12/04/2.ts", tmp_path / "media.ts", "video/mp2t"),
        lambda: store.delete([RELATIVE]),
        lambda: store.delete_prefix("tenant-a"),
    ):
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            call()
        assert time.monotonic() - started < 5
    s3.server.restore()
    assert store.get(RELATIVE).read() == media  # the objects of before the outage are all there


def test_a_read_cut_off_midway_is_storage_unavailable(s3, store, tmp_path):
    # Larger than the socket buffers between the server and us can hold, so most of it is still to come.
    (tmp_path / "big.ts").write_bytes(os.urandom(40 * 1024 * 1024))
    store.put(RELATIVE, tmp_path / "big.ts", "video/mp2t")
    read = store.get(RELATIVE)
    assert len(read.read(CHUNK)) == CHUNK
    s3.server.outage()
    with pytest.raises(StorageUnavailable):
        while read.read(CHUNK):
            pass


def test_a_presigned_url_gets_the_object_without_credentials(s3, store, media, monkeypatch):
    url = store.presigned_url(RELATIVE, 120)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == s3.endpoint and parts.path == f"/{s3.bucket}/rec/{RELATIVE}"
    assert parse_qs(parts.query)["X-Amz-Expires"] == ["120"]
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with urlopen(url, timeout=10) as answer:
        assert answer.read() == media


def serve(headers: dict | None = None, relative: str = RELATIVE):
    request = RequestFactory().get("/v2/hls/x", headers=headers or {})
    return serve_object(request, relative, "video/mp2t", IMMUTABLE)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_serve_object_streams_the_whole_object(s3, media, calls):
    response = serve()
    assert response.status_code == 200
    assert body(response) == media
    assert response["Content-Length"] == str(SIZE) and response["Content-Type"] == "video/mp2t"
    assert response["Cache-Control"] == IMMUTABLE and response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == s3.client.head_object(Bucket=s3.bucket, Key=f"rec/{RELATIVE}")["ETag"]
    again = serve({"If-None-Match": response["ETag"]})
    assert again.status_code == 304 and again["ETag"] == response["ETag"]
    assert calls == ["GetObject", "GetObject"]


@pytest.mark.parametrize(
    "header, first, last",
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, SIZE - 1), ("bytes=-50", SIZE - 50, SIZE - 1),
     ("bytes=188-999999999", 188, SIZE - 1)],
)  # fmt: skip
def test_serve_object_answers_a_range_with_one_ranged_get(media, calls, header, first, last):
    response = serve({"Range": header})
    assert response.status_code == 206
    assert body(response) == media[first : last + 1]
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert calls == ["GetObject"]


def test_serve_object_sends_it_all_for_a_range_of_another_version(media):
    etag = serve()["ETag"]
    assert serve({"Range": "bytes=0-99", "If-Range": etag}).status_code == 206
    response = serve({"Range": "bytes=0-99", "If-Range": '"another"'})
    assert response.status_code == 200 and body(response) == media
    response = serve({"Range": "bytes=0-9,20-29"})  # a multi-range may be ignored
    assert response.status_code == 200 and body(response) == media


@pytest.mark.parametrize("header", ["bytes=999999999-", f"bytes={SIZE}-", "bytes=50-10", "bytes=-0"])
def test_serve_object_answers_an_unsatisfiable_range_with_416(media, header):
    response = serve({"Range": header})
    assert (response.status_code, json.loads(response.content)["code"]) == (416, "range_not_satisfiable")
    assert response["Content-Range"] == f"bytes */{SIZE}"


def test_serve_object_of_a_missing_object_is_404(media):
    with pytest.raises(Http404):
        serve(relative="tenant-a/cam-front-01/2020-03-12/04/0.ts")


def test_serve_object_is_503_while_the_bucket_is_cut_off(s3, media):
    s3.server.outage()
    started = time.monotonic()
    response = serve({"Range": "bytes=0-99"})
    assert time.monotonic() - started < 5
    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert json.loads(response.content)["code"] == "storage_unavailable"
    s3.server.restore()
    assert body(serve({"Range": "bytes=0-99"})) == media[:100]


async def test_serve_object_under_asgi_streams_from_a_worker_thread(media):
    request = AsyncRequestFactory().get("/v2/hls/x", headers={"Range": "bytes=1000-"})
    response = await sync_to_async(serve_object)(request, RELATIVE, "video/mp2t", IMMUTABLE)
    assert response.status_code == 206 and response.is_async
    assert b"".join([chunk async for chunk in response.streaming_content]) == media[1000:]

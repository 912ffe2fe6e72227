"""Recordings in a real S3 server (moto, started by the suite) through boto3: the recorder's objects are uploaded and
leave the disk after the hot window, play through the web by byte range from the bucket, wait on the disk through
an outage of the bucket and all go up after it; a worker killed mid-object leaves an object that recovery indexes."""

import hashlib
import os
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from playback import storage, unindexed
from playback.exports import run_export
from playback.models import Export, Segment
from playback.playlists import object_parts
from playback.recording.indexer import SIDECAR
from playback.recording.keeper import MediaKeeper, evict_objects, recover_objects, sweep_orphans, upload_objects
from playback.recording.recorder import RecordingObject
from playback.retention import purge_recordings
from playback.tasks import sweep_camera_folder_task

from ..factories import CameraFactory, SegmentFactory
from .test_recorder import wait_for
from .test_retention import held_export

pytestmark = pytest.mark.django_db(transaction=True)

BYTERANGE = re.compile(r"#EXT-X-BYTERANGE:(\d+)@(\d+)\n(\S+)")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def bucket_bytes(s3, relative: str) -> bytes:
    return s3.client.get_object(Bucket=s3.bucket, Key=f"rec/{relative}")["Body"].read()


def test_objects_upload_leave_the_disk_and_play_from_the_bucket(
    live_camera, start_recorder, s3, client, make_token, tenant_b, settings
):
    settings.VMS_HOT_WINDOW_S = 0
    recorder = start_recorder(live_camera)
    wait_for(lambda: Segment.objects.filter(camera=live_camera).count() >= 3, timeout=30)
    recorder.stop()
    objects = list(Segment.objects.filter(camera=live_camera).order_by("start"))
    local = {o.path: (settings.VMS_RECORDINGS_ROOT / o.path).read_bytes() for o in objects}

    assert upload_objects(storage.bucket()) == len(objects), "one PUT per object"
    assert all(bucket_bytes(s3, path) == data for path, data in local.items())
    assert not Segment.objects.filter(camera=live_camera, uploaded_at__isnull=True).exists()
    assert upload_objects(storage.bucket()) == 0, "nothing is uploaded twice"

    assert evict_objects(timezone.now()) == len(objects)
    assert not any((settings.VMS_RECORDINGS_ROOT / path).exists() for path in local)
    assert set(Segment.objects.filter(camera=live_camera).values_list("node", flat=True)) == {""}

    # The hour playlist's byte ranges, fetched with its signed URLs, are the recorded parts, now from the bucket.
    hour = objects[0].start
    token = make_token(live_camera.tenant, ("playback:read",))
    playlist = client.get(f"/v2/hls/cam-live/{hour:%Y-%m-%d/%H}/index.m3u8", {"token": token}).content.decode()
    assert "#EXT-X-VERSION:4" in playlist
    ranges = BYTERANGE.findall(playlist)
    expected = [p for o in objects for p in object_parts(o.path, o.start, o.sizes, o.durations) if p.start >= hour]
    assert len(ranges) == len(expected) >= 6
    for (size, offset, url), part in zip(ranges, expected, strict=True):
        response = client.get(url, headers={"Range": f"bytes={offset}-{int(offset) + int(size) - 1}"})
        assert response.status_code == 206
        assert body(response) == local[part.path][part.offset : part.offset + part.size]
    # Another tenant's token finds no such file, in the bucket as on disk.
    path = url.split("?")[0]
    assert client.get(path, {"token": make_token(tenant_b, ("playback:read",))}).status_code == 404


def test_an_outage_of_the_bucket_keeps_objects_on_disk_and_uploads_every_one_after(
    live_camera, start_recorder, s3, client
):
    s3.server.outage()
    recorder = start_recorder(live_camera)
    wait_for(lambda: Segment.objects.filter(camera=live_camera).count() >= 3, timeout=30)
    started = time.monotonic()
    with pytest.raises(storage.StorageUnavailable):
        upload_objects(storage.bucket())
    assert time.monotonic() - started < 10, "an unreachable bucket fails fast: the keeper goes on"
    MediaKeeper._report_backlog()
    ready = client.get("/v2/health/ready").json()
    waiting = Segment.objects.filter(uploaded_at__isnull=True).count()
    assert ready["status"] == "ok"
    assert any(w.startswith("storage: upload backlog") and f": {waiting}" in w for w in ready["warnings"]), ready
    assert evict_objects(timezone.now()) == 0, "nothing leaves the disk before it is in the bucket"

    s3.server.restore()
    recorder.stop()
    objects = list(Segment.objects.filter(camera=live_camera))
    assert upload_objects(storage.bucket()) == len(objects)
    for obj in objects:
        assert len(bucket_bytes(s3, obj.path)) == obj.bytes == (settings.VMS_RECORDINGS_ROOT / obj.path).stat().st_size
    MediaKeeper._report_backlog()
    assert "warnings" not in client.get("/v2/health/ready").json()


def test_an_object_a_killed_worker_was_filling_is_recovered_from_its_sidecar(live_camera, demo_segments):
    filling = RecordingObject(live_camera, time.time() - 30)
    for source, duration in demo_segments[:2]:
        staged = settings.VMS_RECORDINGS_ROOT / "staged.ts"
        staged.write_bytes(source.read_bytes())
        filling.append(staged, duration)
    # Killed while appending a third part: half its bytes written, its sidecar line not complete.
    filling.file.write(demo_segments[2][0].read_bytes()[:5000])
    filling.file.flush()
    filling.sidecar.write("12")
    filling.sidecar.flush()
    path = filling.listing.path
    assert recover_objects(settings.VMS_RECORDINGS_ROOT) == 0, "a recorder still fills it (its sidecar is locked)"
    filling.sidecar.close()  # what the kernel does for a killed worker
    filling.file.close()

    assert recover_objects(settings.VMS_RECORDINGS_ROOT) == 1
    obj = Segment.objects.get(path=path)
    sizes = [source.stat().st_size for source, _ in demo_segments[:2]]
    assert (obj.sizes, obj.durations) == (sizes, [round(d, 3) for _, d in demo_segments[:2]])
    assert obj.bytes == sum(sizes) == (settings.VMS_RECORDINGS_ROOT / path).stat().st_size, "the half part is cut"
    assert obj.node == settings.VMS_NODE_NAME and obj.uploaded_at is None
    assert not (settings.VMS_RECORDINGS_ROOT / (path + SIDECAR)).exists()
    assert recover_objects(settings.VMS_RECORDINGS_ROOT) == 0


def test_live_shows_the_parts_of_an_object_not_indexed_yet(live_camera, start_recorder, client, make_token, settings):
    settings.VMS_OBJECT_SECONDS = 60
    recorder = start_recorder(live_camera)
    token = {"token": make_token(live_camera.tenant, ("playback:read",))}

    def unindexed_parts() -> list[tuple[str, str, str]]:
        playlist = client.get("/v2/hls/cam-live/live.m3u8", token).content.decode()
        ranges = BYTERANGE.findall(playlist)
        indexed = set(Segment.objects.values_list("path", flat=True))
        return [r for r in ranges if paths_of(r[2]) not in indexed] if len(ranges) >= 2 else []

    def paths_of(url: str) -> str:
        return f"tenant-a/{url.split('?')[0].removeprefix('/v2/hls/')}"

    found = wait_for(unindexed_parts, timeout=30, step=0.5)
    size, offset, url = found[-1]
    assert any(o.path == paths_of(url) for o in unindexed.read(live_camera.pk))
    response = client.get(url, headers={"Range": f"bytes={offset}-{int(offset) + int(size) - 1}"})
    assert response.status_code == 206 and len(body(response)) == int(size)
    assert response["Cache-Control"] == "no-cache", "the object is still growing"
    recorder.stop()


def test_retention_deletes_objects_from_the_bucket_and_keeps_held_ones(tenant_a, s3, settings):
    settings.VMS_RECORDINGS_MIN_FREE_MB = 10**9  # with a bucket the disk floor is each record node's, not the purge's
    tenant_a.recording_retention_days = 1
    tenant_a.save()
    camera = CameraFactory(tenant=tenant_a)
    # Ten minutes apart: a legal hold keeps objects that start up to LONGEST_OBJECT before its range, none of these.
    # (DeleteObjects' batches of 1,000 keys: tests/playback/test_storage.py.)
    old = [uploaded_object(s3, camera, timedelta(days=3, minutes=10 * i)) for i in range(40)]
    held = old[2::-1]
    held_export(camera, held)
    recent = uploaded_object(s3, camera, timedelta(hours=1))

    report = purge_recordings()

    keys = {item["Key"] for page in s3.client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket)
            for item in page.get("Contents", [])}  # fmt: skip
    assert (report.by_age, report.by_disk) == (len(old) - len(held), 0)
    assert keys == {f"rec/{o.path}" for o in [*held, recent]}, "expired objects go (DeleteObjects), held ones stay"
    assert set(Segment.objects.values_list("path", flat=True)) == {o.path for o in [*held, recent]}


def test_an_export_reads_objects_from_the_bucket_and_is_stored_there(
    live_camera, start_recorder, s3, client_a, settings
):
    settings.VMS_HOT_WINDOW_S = 0
    recorder = start_recorder(live_camera)
    wait_for(lambda: Segment.objects.filter(camera=live_camera).count() >= 4, timeout=30)
    recorder.stop()
    upload_objects(storage.bucket())
    evict_objects(timezone.now())
    objects = list(Segment.objects.filter(camera=live_camera).order_by("start"))
    assert not any((settings.VMS_RECORDINGS_ROOT / o.path).exists() for o in objects), "only the bucket has them"
    start, end = objects[0].start, objects[-1].start + timedelta(seconds=objects[-1].duration)

    job = client_a.post(
        "/v2/api/exports", {"camera_ids": ["cam-live"], "start": start.isoformat(), "end": end.isoformat()}, "json"
    ).json()
    export = run_export(job["id"])

    assert export.state == Export.State.DONE, export.error
    [file] = export.files.all()
    assert not (settings.VMS_RECORDINGS_ROOT / file.path).exists(), "the export file lives in the bucket"
    assert file.duration == pytest.approx((end - start).total_seconds(), abs=2.1)
    download = client_a.get(f"/v2/exports/{export.pk}/cam-live.mp4")
    data = b"".join(download.streaming_content)
    assert download.status_code == 200 and hashlib.sha256(data).hexdigest() == file.sha256
    assert len(data) == file.size > 100_000


def test_a_deleted_camera_s_objects_leave_the_bucket(tenant_a, s3):
    camera, other = CameraFactory(tenant=tenant_a, slug="cam-1"), CameraFactory(tenant=tenant_a, slug="cam-10")
    gone = [uploaded_object(s3, camera, timedelta(minutes=i)) for i in range(3)]
    kept = uploaded_object(s3, other, timedelta(minutes=1))

    camera.delete()
    sweep_camera_folder_task(tenant_a.pk, "cam-1")  # what the delete queues, run here

    keys = {item["Key"] for item in s3.client.list_objects_v2(Bucket=s3.bucket).get("Contents", [])}
    assert keys == {f"rec/{kept.path}"}, [o.path for o in gone]


def test_object_files_the_index_no_longer_knows_are_swept_from_the_node(tenant_a, settings):
    camera = CameraFactory(tenant=tenant_a)
    root, old = settings.VMS_RECORDINGS_ROOT, time.time() - 2 * 3600

    def object_file(name: str, age: float = old) -> Path:
        file = root / f"tenant-a/{camera.slug}/2026-12-05/08/{name}.ts"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(b"\x47" * 188)
        os.utime(file, (age, age))
        return file

    orphan = object_file("1")  # retention on another machine deleted its row
    indexed = object_file("2")
    SegmentFactory(camera=camera, path=indexed.relative_to(root).as_posix())
    waiting = object_file("3")  # closed, its row kept for the index (PostgreSQL away): its sidecar is still there
    waiting.with_name(waiting.name + SIDECAR).write_text("188 2.0\n")
    young = object_file("4", age=time.time())

    assert sweep_orphans(root, time.time()) == 1
    assert [f.exists() for f in (orphan, indexed, waiting, young)] == [False, True, True, True]


def uploaded_object(s3, camera, age: timedelta) -> Segment:
    """An object `age` old that is only in the bucket."""
    obj = SegmentFactory(camera=camera, start=timezone.now() - age, uploaded_at=timezone.now(), node="")
    s3.client.put_object(Bucket=s3.bucket, Key=f"rec/{obj.path}", Body=b"\x47" * 188)
    return obj

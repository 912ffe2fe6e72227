"""Export jobs: the REST API, the job itself (real ffmpeg on real recorded segments), download and legal hold."""

import hashlib
import json
import subprocess
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from playback.exports import run_export
from playback.models import Export, Segment
from playback.retention import purge_recordings
from playback.tasks import purge_recordings_task
from tenants.catalogue import PLAYBACK_READ
from tenants.health import HELD_ONLY

from ..factories import CameraFactory
from .conftest import HOUR

pytestmark = pytest.mark.django_db

EXPORTS = "/v2/api/exports"


def body(camera_ids=("cam-front-01",), start=HOUR, end=HOUR + timedelta(seconds=20), **extra) -> dict:
    return {"camera_ids": list(camera_ids), "start": start.isoformat(), "end": end.isoformat(), **extra}


def start_export(client, **kwargs) -> dict:
    response = client.post(EXPORTS, body(**kwargs), format="json")
    assert response.status_code == 202, response.json()
    return response.json()


def finished(client, job: dict) -> dict:
    run_export(job["id"])
    return client.get(f"{EXPORTS}/{job['id']}").json()


def probe(path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration,format_name", "-of", "json",
         str(path)],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_an_export_is_a_playable_mp4_of_the_range_with_its_hash(client_a, camera_a, record):
    segments = record(camera_a)  # 20 s from HOUR
    start, end = HOUR + timedelta(seconds=4), HOUR + timedelta(seconds=14)

    job = start_export(client_a, start=start, end=end, name="Front door")
    assert (job["state"], job["progress"], job["legal_hold"]) == ("queued", 0, False)
    assert job["files"][0]["url"] is None  # nothing to download before the job is done
    done = finished(client_a, job)

    assert (done["state"], done["progress"], done["error"]) == ("done", 100, "")
    file = done["files"][0]
    assert (file["camera_id"], file["gaps"], file["progress"]) == ("cam-front-01", [], 100)
    response = client_a.get(file["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Disposition"] == f'attachment; filename="export-{job["id"]}-cam-front-01.mp4"'
    data = b"".join(response.streaming_content)
    assert len(data) == file["size"]
    assert hashlib.sha256(data).hexdigest() == file["sha256"] == response["X-Content-SHA256"]
    mp4 = settings.VMS_RECORDINGS_ROOT / f"tenant-a/.exports/{job['id']}/cam-front-01.mp4"
    info = probe(mp4)
    assert [s["codec_name"] for s in info["streams"]] == ["h264"]
    assert "mp4" in info["format"]["format_name"]
    longest = max(s.duration for s in segments)
    assert abs(float(info["format"]["duration"]) - 10) <= longest
    assert abs(file["duration"] - 10) <= longest
    assert not list(mp4.parent.glob("*.part"))  # the temporary name is gone


def test_gaps_in_the_range_are_reported_not_bridged(client_a, camera_a, record):
    record(camera_a, gap_after=4, gap=10)  # 8 s, 10 s without recording, 12 s
    done = finished(client_a, start_export(client_a, end=HOUR + timedelta(seconds=40)))

    file = done["files"][0]
    assert done["state"] == "done", done["error"]
    assert len(file["gaps"]) == 2  # the 10 s hole and the end of the range after the last segment
    hole = file["gaps"][0]
    assert timezone.datetime.fromisoformat(hole["end"]) - timezone.datetime.fromisoformat(hole["start"]) >= timedelta(
        seconds=9
    )
    assert 15 <= file["duration"] <= 24  # about the 20 s recorded, not the 40 s asked


def test_a_job_exports_each_camera_and_lists_newest_first(client_a, camera_a, record):
    side = CameraFactory(tenant=camera_a.tenant, slug="cam-side")
    record(camera_a)
    record(side)
    first = start_export(client_a, end=HOUR + timedelta(seconds=6))
    second = finished(client_a, start_export(client_a, camera_ids=("cam-front-01", "cam-side")))

    assert [f["camera_id"] for f in second["files"]] == ["cam-front-01", "cam-side"]
    assert all(client_a.get(f["url"]).status_code == 200 for f in second["files"])
    page = client_a.get(EXPORTS, {"limit": 1})
    assert [j["id"] for j in page.json()] == [second["id"]]
    assert 'rel="next"' in page["Link"]
    assert [j["id"] for j in client_a.get(EXPORTS, {"before": second["id"]}).json()] == [first["id"]]


def test_another_tenant_gets_404_on_the_job_and_the_file(client_a, client_b, camera_a, record):
    record(camera_a)
    done = finished(client_a, start_export(client_a))
    url = done["files"][0]["url"]
    path = url.split("?")[0]

    assert client_b.get(f"{EXPORTS}/{done['id']}").status_code == 404
    assert client_b.patch(f"{EXPORTS}/{done['id']}", {"legal_hold": True}, format="json").status_code == 404
    assert client_b.delete(f"{EXPORTS}/{done['id']}").status_code == 404
    assert client_b.get(EXPORTS).json() == []
    assert client_b.get(path).status_code == 404  # B's token on A's file
    forged = url.replace("tid=tenant-a", "tid=tenant-b")
    assert client_b.get(forged).status_code == 404  # a signature moved to B proves nothing; B's token finds nothing
    assert APIClient().get(forged).status_code == 401


def test_an_expired_or_bad_signature_is_refused(client_a, camera_a, record, settings):
    record(camera_a)
    done = finished(client_a, start_export(client_a))
    url = done["files"][0]["url"]
    settings.VMS_MEDIA_URL_TTL = -10
    expired = client_a.get(EXPORTS + f"/{done['id']}").json()["files"][0]["url"]
    anonymous = APIClient()
    assert anonymous.get(url).status_code == 200
    assert anonymous.get(expired).status_code == 401
    assert anonymous.get(url[:-1] + ("0" if url[-1] != "0" else "1")).status_code == 401
    assert anonymous.get(url, HTTP_RANGE="bytes=0-99").status_code == 206


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": HOUR.isoformat()}, "end"),  # end == start
        ({"end": (HOUR - timedelta(seconds=1)).isoformat()}, "end"),
        ({"end": (HOUR + timedelta(seconds=86401)).isoformat()}, "end"),  # over max_export_seconds
        ({"camera_ids": ["cam-nowhere"]}, "camera_ids"),
        ({"camera_ids": ["cam-of-b"]}, "camera_ids"),  # another tenant's camera
        ({"start": (HOUR + timedelta(hours=3)).isoformat(), "end": (HOUR + timedelta(hours=4)).isoformat()},
         "camera_ids"),  # no recording in the range
        ({"camera_ids": []}, "camera_ids"),
        ({"start": "yesterday"}, "start"),
        ({"start": "0001-01-01T00:00:00Z", "end": "0001-01-01T00:10:00Z"}, "start"),  # start - 2 s overflowed: a 500
        ({"start": "0001-01-01T00:00:00+05:00"}, "start"),
        ({"start": "9999-12-31T23:00:00Z", "end": "9999-12-31T23:30:00Z"}, "start"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(client_a, camera_a, tenant_b, record, change, field):
    CameraFactory(tenant=tenant_b, slug="cam-of-b")
    record(camera_a)
    response = client_a.post(EXPORTS, {**body(), **change}, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]
    assert not Export.objects.exists()


def test_the_plan_limits_the_range(client_a, tenant_a, camera_a, record):
    record(camera_a)
    tenant_a.max_export_seconds = 10
    tenant_a.save()
    assert client_a.post(EXPORTS, body(), format="json").status_code == 400
    assert client_a.post(EXPORTS, body(end=HOUR + timedelta(seconds=10)), format="json").status_code == 202


def test_reading_needs_playback_read_and_starting_needs_exports_write(make_client, tenant_a, camera_a, record):
    record(camera_a)
    viewer = make_client(tenant_a, scopes=[PLAYBACK_READ])
    assert viewer.get(EXPORTS).status_code == 200
    response = viewer.post(EXPORTS, body(), format="json")
    assert response.status_code == 403
    assert "exports:write" in response.json()["detail"]


def test_legal_hold_survives_retention_and_keeps_the_source_segments(client_a, tenant_a, camera_a, record):
    segments = record(camera_a)  # 2020: long past the plan's 7 days of recording retention
    record(camera_a, HOUR + timedelta(minutes=30), count=3)  # outside the held range
    held = finished(client_a, start_export(client_a, legal_hold=True))
    assert (held["legal_hold"], held["expires"]) == (True, None)
    Export.objects.filter(pk=held["id"]).update(expires=timezone.now() - timedelta(days=1))
    mp4 = settings.VMS_RECORDINGS_ROOT / f"tenant-a/.exports/{held['id']}/cam-front-01.mp4"

    report = purge_recordings()

    assert report.by_age == 3  # only the segments outside the held range
    assert set(Segment.objects.values_list("pk", flat=True)) == {s.pk for s in segments}
    assert all((settings.VMS_RECORDINGS_ROOT / s.path).is_file() for s in segments)
    assert mp4.is_file() and Export.objects.filter(pk=held["id"]).exists()

    released = client_a.patch(f"{EXPORTS}/{held['id']}", {"legal_hold": False}, format="json")
    assert released.status_code == 200
    assert released.json()["legal_hold"] is False
    assert released.json()["expires"] is not None
    Export.objects.filter(pk=held["id"]).update(expires=timezone.now() - timedelta(seconds=1))
    report = purge_recordings()
    assert report.exports == 1 and report.by_age == len(segments)
    assert not mp4.exists() and not Export.objects.exists()


def test_the_disk_floor_purge_keeps_held_segments_and_says_so(client, client_a, camera_a, record, settings):
    segments = record(camera_a, timezone.now().replace(microsecond=0) - timedelta(minutes=5))
    start = segments[0].start
    start_export(client_a, start=start, end=start + timedelta(seconds=20), legal_hold=True)
    settings.VMS_RECORDINGS_MIN_FREE_MB = 10**12  # never enough free disk

    report = purge_recordings()

    assert report.by_disk == 0 and report.held_only
    assert Segment.objects.count() == len(segments)
    purge_recordings_task()  # the beat's task tells readiness
    ready = client.get("/v2/health/ready")
    assert ready.status_code == 200
    assert ready.json()["warnings"] == [HELD_ONLY]
    settings.VMS_RECORDINGS_MIN_FREE_MB = 0
    purge_recordings_task()
    assert "warnings" not in client.get("/v2/health/ready").json()


def test_delete_removes_the_job_and_its_files(client_a, camera_a, record):
    record(camera_a)
    done = finished(client_a, start_export(client_a))
    folder = settings.VMS_RECORDINGS_ROOT / f"tenant-a/.exports/{done['id']}"
    assert folder.is_dir()

    assert client_a.delete(f"{EXPORTS}/{done['id']}").status_code == 204
    assert not folder.exists()
    assert client_a.get(f"{EXPORTS}/{done['id']}").status_code == 404


def test_a_job_whose_recordings_are_gone_fails_with_a_readable_error(client_a, camera_a, record):
    record(camera_a)
    job = start_export(client_a)
    Segment.objects.all().delete()

    done = finished(client_a, job)

    assert done["state"] == "failed"
    assert "no recording" in done["error"]
    assert done["files"][0]["url"] is None
    assert not list((settings.VMS_RECORDINGS_ROOT / f"tenant-a/.exports/{job['id']}").glob("*.mp4"))


def test_the_list_costs_the_same_queries_for_one_job_or_many(client_a, camera_a, record):
    record(camera_a)
    start_export(client_a)
    with CaptureQueriesContext(connection) as one:
        assert len(client_a.get(EXPORTS).json()) == 1
    for _ in range(4):
        start_export(client_a)
    with CaptureQueriesContext(connection) as five:
        assert len(client_a.get(EXPORTS).json()) == 5
    assert len(five) == len(one)


def test_a_job_deleted_before_it_runs_does_nothing(client_a, camera_a, record):
    record(camera_a)
    job = start_export(client_a)
    assert client_a.delete(f"{EXPORTS}/{job['id']}").status_code == 204

    assert run_export(job["id"]) is None
    assert not (settings.VMS_RECORDINGS_ROOT / f"tenant-a/.exports/{job['id']}").exists()

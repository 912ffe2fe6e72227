"""A deleted camera's recordings and snapshots: gone from the served tree at commit, from the disk soon after,
however the camera is deleted; nothing of it is served from then on, signed URLs taken before included."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from cameras.models import Camera
from cameras.pipeline.lease import client as redis_client
from playback import paths
from playback.models import Segment
from playback.retention import TRASH, discard_camera_folder, empty_trash
from playback.signing import signed_url
from playback.tasks import sweep_camera_folder_task

from ..factories import CameraFactory
from .conftest import HOUR


def camera_folder(camera) -> Path:
    return settings.VMS_RECORDINGS_ROOT / camera.tenant_id / camera.slug


def trash() -> list[Path]:
    folder = settings.VMS_RECORDINGS_ROOT / TRASH
    return list(folder.iterdir()) if folder.exists() else []


def wait_until(predicate, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def _no_queued_tasks():
    """These tests queue tasks with no worker to run them: leave none for a later test's worker."""
    yield
    redis_client().flushdb()


@pytest.mark.django_db(transaction=True)
def test_an_api_delete_removes_the_files_and_a_late_segment_of_its_recorder(
    client, client_a, camera_a, record, settings, default_worker
):
    settings.VMS_PIPELINE_LEASE_MS = 500  # the sweep comes 1 s after the delete
    segment, *_ = record(camera_a, count=3)
    snapshot = paths.recordings_path(segment.path).with_name("snap-1584000000000.jpg")
    snapshot.write_bytes(b"\xff\xd8\xff\xd9")
    path = snapshot.relative_to(settings.VMS_RECORDINGS_ROOT).as_posix()
    signed_segment, signed_snapshot = (signed_url(paths.url_for_file(p), "tenant-a") for p in (segment.path, path))
    assert client.get(signed_segment).status_code == 200
    assert client.get(signed_snapshot).status_code == 200
    folder = camera_folder(camera_a)

    assert client_a.delete("/v2/api/cameras/cam-front-01").status_code == 204
    assert not folder.exists()  # at commit: one rename out of the served tree
    assert not Segment.objects.filter(camera_id=camera_a.pk).exists()
    assert client.get(signed_segment).status_code == 404
    assert client.get(signed_snapshot).status_code == 404
    # its recorder, still finishing a segment, writes it after the delete
    late = folder / "2020-03-12" / "04" / "seg-1584000000000.ts"
    late.parent.mkdir(parents=True)
    late.write_bytes(b"late")

    wait_until(lambda: not trash() and not folder.exists())  # the worker emptied the trash, then swept the folder


@pytest.mark.django_db
@pytest.mark.usefixtures("_no_queued_tasks")
@pytest.mark.parametrize("how", ["queryset", "admin", "tenant"])
def test_every_way_of_deleting_a_camera_moves_its_folder_out_at_commit(
    how, tenant_b, staff_b, record, django_capture_on_commit_callbacks
):
    camera = CameraFactory(tenant=tenant_b, slug="cam-back")
    other = CameraFactory(tenant=tenant_b, slug="cam-other")
    files = {p.path.rsplit("/", 1)[1] for p in record(camera, count=2)}
    other_files = {p.path.rsplit("/", 1)[1] for p in record(other, count=1, start=HOUR + timedelta(minutes=5))}
    with django_capture_on_commit_callbacks(execute=True):
        if how == "queryset":
            Camera.objects.filter(pk=camera.pk).delete()
        elif how == "admin":
            response = staff_b.post(f"/admin/cameras/camera/{camera.pk}/delete/", {"post": "yes"})
            assert response.status_code == 302
        else:
            tenant_b.delete()
    assert not camera_folder(camera).exists()
    in_trash = {p.name for folder in trash() for p in folder.rglob("*.ts")}
    if how == "tenant":  # every camera of the tenant goes
        assert not camera_folder(other).exists() and in_trash == files | other_files
    else:
        assert in_trash == files and {p.name for p in camera_folder(other).rglob("*.ts")} == other_files


@pytest.mark.django_db
def test_the_sweep_leaves_the_folder_of_a_camera_created_again_with_that_id(camera_a, record):
    record(camera_a, count=1)
    assert discard_camera_folder(camera_a.tenant_id, camera_a.slug) is None
    sweep_camera_folder_task(camera_a.tenant_id, "CAM-FRONT-01")  # ids are unique ignoring case
    assert len(list(camera_folder(camera_a).rglob("*.ts"))) == 1


@pytest.mark.django_db
def test_empty_trash_deletes_only_inside_the_trash(camera_a, record):
    record(camera_a, count=1)
    (settings.VMS_RECORDINGS_ROOT / TRASH).mkdir()
    for name in ("../tenant-a", "..", "/", ""):
        empty_trash(name)
    assert camera_folder(camera_a).exists()

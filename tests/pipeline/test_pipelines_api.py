"""Pipeline state and status changes as operators see them: camera detail, metrics, admin."""

import pytest
from django.utils import timezone

from cameras.models import Camera, PipelineState, StatusChange
from cameras.pipeline.status import set_status
from cameras.pipeline.supervisor import report

from ..factories import CameraFactory
from ..tenants.test_health import basic

pytestmark = pytest.mark.django_db


def test_camera_detail_shows_its_pipelines_to_its_tenant_only(client_a, client_b, camera_a):
    since = timezone.now()
    PipelineState.objects.create(camera=camera_a, kind="record", state="running", worker="rec1 pid 7", since=since)
    report(camera_a, "record", "stream ended (ffmpeg exit 1)")
    body = client_a.get("/v2/api/cameras/cam-front-01").json()
    record = body["pipelines"]["record"]
    assert (record["state"], record["worker"]) == ("running", "rec1 pid 7")
    assert record["detail"] == "stream ended (ffmpeg exit 1)"
    assert record["last_error"] == "" and record["since"].startswith(since.strftime("%Y-%m-%dT%H:%M"))
    assert body["id"] == "cam-front-01" and "rtsp_url" in body  # the seed's fields stay as they are
    assert client_a.get("/v2/api/cameras").json()[0]["pipelines"] == body["pipelines"]  # the list shows them too
    assert client_b.get("/v2/api/cameras/cam-front-01").status_code == 404
    assert client_b.get("/v2/api/cameras").json() == []


@pytest.mark.parametrize("cameras", [1, 5])
def test_camera_list_shows_every_cameras_pipelines_in_the_same_queries(
    client_a, tenant_a, django_assert_num_queries, cameras
):
    for camera in CameraFactory.create_batch(cameras, tenant=tenant_a):
        PipelineState.objects.create(camera=camera, kind="record", state="running", worker=f"rec {camera.pk}")
        PipelineState.objects.create(camera=camera, kind="detect", state="failed", last_error="no model")
    with django_assert_num_queries(3):  # the tenant, the cameras, all their pipelines
        listed = client_a.get("/v2/api/cameras").json()
    assert len(listed) == cameras
    for camera in listed:
        assert set(camera["pipelines"]) == {"record", "detect"}
        assert camera["pipelines"]["record"]["worker"] == f"rec {Camera.objects.get(slug=camera['id']).pk}"
        assert (camera["pipelines"]["detect"]["state"], camera["pipelines"]["detect"]["last_error"]) == (
            "failed",
            "no model",
        )


def test_status_changes_are_stored_once_per_transition_and_counted(client, settings, camera_a, tenant_b):
    assert set_status(camera_a, "online", "recording")
    assert not set_status(camera_a, "online", "recording")  # no transition, no row
    assert set_status(camera_a, "offline", "stream ended")
    set_status(CameraFactory(tenant=tenant_b), "online")
    assert list(StatusChange.objects.filter(camera=camera_a).values_list("status", "reason")) == [
        ("online", "recording"),
        ("offline", "stream ended"),
    ]
    camera_a.refresh_from_db()
    assert camera_a.status == "offline"

    settings.METRICS_PASSWORD = "m-secret"
    text = client.get("/v2/metrics", HTTP_AUTHORIZATION=basic(settings.METRICS_USER, "m-secret")).content.decode()
    assert 'vms_camera_status_changes_total{status="online"} 2.0' in text
    assert 'vms_camera_status_changes_total{status="offline"} 1.0' in text


def test_admin_camera_page_shows_pipelines_and_status_changes(admin_client, camera_a):
    PipelineState.objects.create(camera=camera_a, kind="record", state="failed", last_error="RuntimeError: boom")
    set_status(camera_a, "online", "recording")
    page = admin_client.get(f"/admin/cameras/camera/{camera_a.pk}/change/").content.decode()
    assert "RuntimeError: boom" in page and "recording" in page

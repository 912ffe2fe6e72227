"""Placement by capacity: reconcile gives each pipeline to the announced node with the most room, through the node's
own queue; a pipeline that fits nowhere waits for capacity (pipelines API, readiness, metrics) and is placed as soon
as room appears. Nodes announce themselves here as workers do (nodes.announce); the queues are Redis lists."""

import time

import pytest
from django.conf import settings

from cameras.models import PipelineState
from cameras.pipeline import supervisor
from cameras.pipeline.lease import Lease, client
from cameras.pipeline.nodes import announce, capacity

from ..factories import CameraFactory
from ..tenants.test_health import basic

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _long_lived_announcements(settings):
    settings.VMS_PIPELINE_LEASE_MS = 60_000  # nodes announced by a test outlive it on a busy machine


def queued(queue: str) -> int:
    return client().llen(settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] + queue)


def given_to() -> dict[str, str]:
    """Camera slug -> the node its queued record start was given to."""
    keys = client().keys(f"{settings.VMS_REDIS_PREFIX}:pipeline:record:*:pending")
    nodes = {int(key.decode().split(":")[-2]): client().get(key).decode() for key in keys}
    return {camera.slug: nodes[camera.pk] for camera in CameraFactory._meta.model.objects.filter(pk__in=nodes)}


def test_six_cameras_over_two_equal_nodes_are_three_and_three(tenant_a):
    for name in ("node-a", "node-b"):
        announce(name, "record", capacity=8, slots=8, since=time.time())
    CameraFactory.create_batch(6, tenant=tenant_a, features=[])
    assert supervisor.reconcile() == {"started": 6, "stopped": 0, "waiting": 0}
    assert sorted(given_to().values()) == ["node-a"] * 3 + ["node-b"] * 3
    assert (queued("record.node-a"), queued("record.node-b"), queued("record")) == (3, 3, 0)
    assert supervisor.reconcile()["started"] == 0, "queued once"


def test_least_loaded_first_counts_what_nodes_run(tenant_a):
    announce("node-a", "record", capacity=4, slots=4, since=time.time())
    announce("node-b", "record", capacity=4, slots=4, since=time.time())
    running = CameraFactory.create_batch(2, tenant=tenant_a, features=[])
    for camera in running:  # node-a runs two: its leases say so
        assert Lease(supervisor.lease_key("record", camera.pk), 60_000, holder="node-a pid 7").acquire()
    new = CameraFactory.create_batch(2, tenant=tenant_a, features=[])
    supervisor.reconcile()
    assert given_to() == {camera.slug: "node-b" for camera in new}


def test_a_camera_that_fits_nowhere_waits_for_capacity_and_starts_when_room_appears(
    tenant_a, client_a, client, settings
):
    announce("node-a", "record", capacity=2, slots=8, since=time.time())  # two streams, whatever its slots
    cameras = CameraFactory.create_batch(3, tenant=tenant_a, features=[])
    assert supervisor.reconcile() == {"started": 2, "stopped": 0, "waiting": 1}
    waiting = PipelineState.objects.get(kind="record", state="waiting")
    assert waiting.camera == cameras[2] and waiting.detail.startswith("waiting for capacity")
    record = client_a.get(f"/v2/api/cameras/{cameras[2].slug}").json()["pipelines"]["record"]
    assert (record["state"], record["detail"]) == ("waiting", "waiting for capacity: no record node has room for it")
    ready = client.get("/v2/health/ready").json()
    assert ready["status"] == "ok"
    assert ready["warnings"] == ["pipelines: 1 waiting for capacity (no worker node has room)"]
    settings.METRICS_PASSWORD = "m-secret"
    text = client.get("/v2/metrics", HTTP_AUTHORIZATION=basic(settings.METRICS_USER, "m-secret")).content.decode()
    assert 'vms_pipelines{kind="record",state="waiting"} 1.0' in text

    cameras[0].delete()  # a camera removed makes room
    assert supervisor.reconcile() == {"started": 1, "stopped": 0, "waiting": 0}
    assert given_to() == {cameras[1].slug: "node-a", cameras[2].slug: "node-a"}
    assert "warnings" not in client.get("/v2/health/ready").json()

    extra = CameraFactory(tenant=tenant_a, features=[])
    assert supervisor.reconcile()["waiting"] == 1
    announce("node-b", "record", capacity=2, slots=8, since=time.time())  # a node joins
    assert supervisor.reconcile()["started"] == 1
    assert given_to()[extra.slug] == "node-b"


def test_a_waiting_camera_disabled_waits_no_more(tenant_a):
    announce("node-a", "record", capacity=1, slots=1, since=time.time())
    second = CameraFactory.create_batch(2, tenant=tenant_a, features=[])[1]
    assert supervisor.reconcile()["waiting"] == 1
    second.enabled = False
    second.save()
    assert supervisor.reconcile() == {"started": 0, "stopped": 0, "waiting": 0}
    assert PipelineState.objects.get(camera=second).state == "stopped"


def test_detection_is_placed_by_frames_per_second_and_slots(tenant_a):
    announce("node-a", "detect", capacity=12, slots=8, since=time.time())  # the model's speed on that node
    announce("node-b", "detect", capacity=100, slots=1, since=time.time())  # fast, but one pipeline at a time
    cameras = [CameraFactory(tenant=tenant_a, record=False, fps=fps) for fps in (10, 5, 5, 5)]
    assert supervisor.reconcile() == {"started": 3, "stopped": 0, "waiting": 1}
    keys = {camera.pk: client().get(supervisor._pending_key("detect", camera.pk)) for camera in cameras}
    assert [keys[camera.pk] for camera in cameras] == [b"node-b", b"node-a", b"node-a", None]
    assert queued("detect.node-a") == 2 and queued("detect.node-b") == 1


def test_a_start_given_to_a_node_that_died_is_placed_again(tenant_a):
    announce("node-a", "record", capacity=4, slots=4, since=time.time())
    camera = CameraFactory(tenant=tenant_a, features=[])
    supervisor.reconcile()
    assert given_to() == {camera.slug: "node-a"}
    client().delete(f"{settings.VMS_REDIS_PREFIX}:node:node-a:record")  # its announcement expired
    announce("node-b", "record", capacity=4, slots=4, since=time.time())
    assert supervisor.reconcile()["started"] == 1
    assert given_to() == {camera.slug: "node-b"}


def test_a_node_takes_its_setting_else_the_model_s_measured_speed_else_its_slots(settings):
    settings.VMS_NODE_RECORD_STREAMS, settings.VMS_NODE_DETECT_FPS = 0, 0
    assert capacity("record", slots=64) == 64
    measured = capacity("detect", slots=8)  # the shared model, timed on this machine
    assert 1 < measured < 10_000
    settings.VMS_NODE_DETECT_FPS, settings.VMS_NODE_RECORD_STREAMS = 30, 20
    assert (capacity("detect", slots=8), capacity("record", slots=64)) == (30, 20)
    settings.VMS_NODE_DETECT_FPS, settings.VMS_DETECTOR_MODEL = 0, "/nonexistent/model.pt"
    assert capacity("detect", slots=8) == 8 * 30, "no model: motion only, the slots alone limit it"

"""Camera health events: debounced camera_offline / camera_online, told once per outage, per tenant, and end to end
from a real RTSP camera cut under a real recorder worker and relay to REST and Kalay."""

import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from cameras.models import Camera, PipelineState, StatusChange
from cameras.pipeline import supervisor
from cameras.pipeline.lease import client
from cameras.pipeline.status import set_status
from events.models import CameraHealth, Event
from events.notify import health
from events.notify.health import check_cameras, report_health

from ..events.kalay import arguments, data, post
from ..factories import CameraFactory
from ..pipeline.test_recorder import wait_for
from ..processes import running_relay, running_worker
from ..rtsp_camera import RtspCamera
from .concurrency import second_waits_for_first

DEBOUNCE_S = 5  # VMS_CAMERA_HEALTH_DEBOUNCE's default, which the tests keep


def went(camera: Camera, status: str, seconds_ago: float, reason: str = "") -> StatusChange:
    """The camera's status changed (through the recorder's own set_status) `seconds_ago`."""
    assert set_status(camera, status, reason)
    change = StatusChange.objects.filter(camera=camera).latest("id")
    change.at = timezone.now() - timedelta(seconds=seconds_ago)
    change.save(update_fields=["at"])
    return change


def health_events(camera: Camera) -> list[Event]:
    return list(Event.objects.filter(camera_id=camera.slug, type__startswith="camera_").order_by("seq"))


@pytest.fixture
def cam_a(tenant_a):
    camera = CameraFactory(tenant=tenant_a, slug="cam-a", features=[])
    went(camera, "online", 600)
    return camera


@pytest.mark.django_db
def test_offline_past_the_debounce_is_one_alert_with_the_masked_reason(cam_a):
    down = went(cam_a, "offline", DEBOUNCE_S - 1, "stream ended: rtsp://viewer:s3cret@10.0.0.5:554/stream refused")
    assert report_health() == 0  # not down long enough yet

    down.at = timezone.now() - timedelta(seconds=DEBOUNCE_S + 1)
    down.save(update_fields=["at"])
    assert report_health() == 1
    [event] = health_events(cam_a)
    assert (event.type, event.event_id, event.severity, event.confidence) == ("camera_offline", 6, "alert", 1.0)
    assert event.ts == down.at and event.tenant_id == cam_a.tenant_id
    assert event.payload == {"since": down.at.isoformat(), "reason": down.reason}
    assert "s3cret" not in event.payload["reason"] and "viewer:***@10.0.0.5" in event.payload["reason"]
    assert CameraHealth.objects.filter(camera=cam_a, reported="offline", since=down.at).exists()

    assert report_health() == 0  # told once
    assert len(health_events(cam_a)) == 1


@pytest.mark.django_db
def test_back_online_past_the_debounce_tells_how_long_it_was_down(cam_a):
    down = went(cam_a, "offline", 60)
    assert report_health() == 1
    back = went(cam_a, "online", DEBOUNCE_S - 1)
    assert report_health() == 0  # not settled yet

    back.at = timezone.now() - timedelta(seconds=DEBOUNCE_S + 1)
    back.save(update_fields=["at"])
    assert report_health() == 1
    _, online = health_events(cam_a)
    assert (online.type, online.event_id, online.severity, online.confidence) == ("camera_online", 7, "detection", 1.0)
    assert online.ts == back.at
    assert online.payload == {
        "since": back.at.isoformat(),
        "offline_since": down.at.isoformat(),
        "down_seconds": (back.at - down.at).total_seconds(),
    }
    assert 50 < online.payload["down_seconds"] < 60
    assert CameraHealth.objects.filter(camera=cam_a, reported="online", since=back.at).exists()
    assert report_health() == 0


@pytest.mark.django_db
def test_flaps_shorter_than_the_debounce_tell_nothing(cam_a):
    went(cam_a, "offline", 50)
    went(cam_a, "online", 50 - DEBOUNCE_S + 1)  # back before it was down long enough
    assert report_health() == 0

    first_down = went(cam_a, "offline", 30)
    assert report_health() == 1
    went(cam_a, "online", 20)  # back for less than the debounce, then down again: still the same outage
    went(cam_a, "offline", 18)
    assert report_health() == 0
    back = went(cam_a, "online", DEBOUNCE_S + 1)
    assert report_health() == 1
    assert [e.type for e in health_events(cam_a)] == ["camera_offline", "camera_online"]
    assert health_events(cam_a)[-1].payload["offline_since"] == first_down.at.isoformat()
    assert health_events(cam_a)[-1].payload["since"] == back.at.isoformat()


@pytest.mark.django_db
def test_cameras_never_online_or_not_recording_tell_nothing(tenant_a, cam_a):
    CameraFactory(tenant=tenant_a, slug="cam-new", features=[])  # offline from the start: no change stored
    disabled = CameraFactory(tenant=tenant_a, slug="cam-disabled", features=[])
    went(disabled, "online", 600)
    went(disabled, "offline", 60, "recorder stopped")
    Camera.objects.filter(pk=disabled.pk).update(enabled=False)  # the operator's doing, not a failure
    unrecorded = CameraFactory(tenant=tenant_a, slug="cam-unrecorded", features=[])
    went(unrecorded, "online", 600)
    went(unrecorded, "offline", 60, "recorder stopped")
    Camera.objects.filter(pk=unrecorded.pk).update(record=False)

    assert report_health() == 0
    assert not Event.objects.exists() and not CameraHealth.objects.exists()


@pytest.mark.django_db
def test_each_tenant_gets_its_own_events_in_few_queries(tenant_a, tenant_b, client_a, client_b,
                                                        django_assert_num_queries):  # fmt: skip
    cameras = [CameraFactory(tenant=tenant, slug=f"cam-{n}", features=[]) for tenant in (tenant_a, tenant_b)
               for n in range(5)]  # fmt: skip
    for camera in cameras:
        went(camera, "online", 600)
    with django_assert_num_queries(1):  # nothing to tell: one query, however many cameras
        assert report_health() == 0

    for camera in cameras:
        went(camera, "offline", 60)
    # The candidates and the tenants, then per tenant (not per camera): the claim, create_events' camera check,
    # order lock, COPY and usage count, and two savepoints' SAVEPOINT and RELEASE (the test runs in a transaction).
    with django_assert_num_queries(2 + 2 * 9):
        assert report_health() == 10
    for api, tenant in ((client_a, tenant_a), (client_b, tenant_b)):
        listed = api.get("/v2/api/events", {"type": "camera_offline"}).json()
        assert sorted(e["camera_id"] for e in listed) == [f"cam-{n}" for n in range(5)]
        assert all(Event.objects.get(pk=e["id"]).tenant_id == tenant.id for e in listed)


@pytest.mark.django_db(transaction=True)
def test_two_relays_racing_tell_an_outage_once(cam_a):
    went(cam_a, "offline", 60)
    # The second sees the candidate (the first has not committed), waits for the first's claim, then writes nothing.
    assert second_waits_for_first(report_health, report_health) == (1, 0)
    assert len(health_events(cam_a)) == 1


@pytest.mark.django_db
def test_check_cameras_runs_at_most_once_a_second(cam_a, monkeypatch):
    monkeypatch.setattr(health, "_next_check", 0.0)
    went(cam_a, "offline", 60)
    assert check_cameras() == 1
    went(cam_a, "online", 30)
    assert check_cameras() is None  # due again only after CHECK_INTERVAL_S
    time.sleep(health.CHECK_INTERVAL_S)
    assert check_cameras() == 1


@pytest.fixture
def empty_redis():
    """Queued pipeline starts and leases of earlier runs would name the same camera primary keys."""
    client().flushdb()
    yield
    client().flushdb()


def kalay_events(api, camera: Camera, event_id: int) -> list[dict]:
    window = {"start_time": str(int(time.time() * 1000) - 600_000), "end_time": str(int(time.time() * 1000) + 1000)}
    query = f"{{get_event_list({arguments(device=camera.slug, **window, event_id=event_id)}){{pk event_id}}}}"
    return data(post(api, query))["get_event_list"]


def freeze(server) -> None:
    server.proc.send_signal(signal.SIGSTOP)  # the connection stays open and silent, like a hung camera


def thaw(server) -> None:
    server.proc.send_signal(signal.SIGCONT)


CUTS = {"stopped": (RtspCamera.stop, RtspCamera.start), "frozen": (freeze, thaw)}


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.django_db(transaction=True)
def test_a_cut_rtsp_camera_is_told_offline_within_15_s_and_online_on_its_return(
    cut, rtsp_server, tenant_a, client_a, empty_redis, tmp_path
):
    cut_off, bring_back = CUTS[cut]
    camera = CameraFactory(tenant=tenant_a, slug="cam-cut", rtsp_url=rtsp_server.url, features=[])
    with running_worker(tmp_path / "record.log", queue="record"), running_relay(tmp_path / "relay.log"):

        def recording() -> bool:
            supervisor.reconcile()  # what the beat does every 5 s
            return PipelineState.objects.filter(camera=camera, state="running").exists()

        wait_for(recording, timeout=60, step=1)
        wait_for(lambda: Camera.objects.get(pk=camera.pk).status == "online", timeout=30)
        time.sleep(DEBOUNCE_S + 2)
        assert not health_events(camera), "coming online the first time is not news"

        cut_off(rtsp_server)
        cut_at = time.monotonic()
        offline = wait_for(lambda: Event.objects.filter(camera_id=camera.slug, type="camera_offline").first(), 15)
        told_after = time.monotonic() - cut_at
        assert told_after < 15

        bring_back(rtsp_server)
        back_at = time.monotonic()
        online = wait_for(lambda: Event.objects.filter(camera_id=camera.slug, type="camera_online").first(), 45)
        assert time.monotonic() - back_at < 45
    assert offline.severity == "alert" and offline.payload["reason"]
    assert online.payload["offline_since"] == offline.payload["since"]
    # Down from the cut until its first segment after the return: at least the time the server was away.
    assert online.payload["down_seconds"] >= back_at - cut_at - told_after
    assert online.ts > offline.ts

    listed = client_a.get("/v2/api/events", {"camera_id": camera.slug}).json()
    assert [(e["id"], e["type"]) for e in listed if e["type"].startswith("camera_")] == [
        (online.id, "camera_online"),
        (offline.id, "camera_offline"),
    ]
    assert kalay_events(client_a, camera, 6) == [{"pk": offline.id, "event_id": 6}]
    assert kalay_events(client_a, camera, 7) == [{"pk": online.id, "event_id": 7}]
    down_s = online.payload["down_seconds"]
    print(f"{cut}: camera_offline told {told_after:.1f} s after the cut; camera_online down_seconds {down_s:.1f}")

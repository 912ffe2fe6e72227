from datetime import timedelta

import pytest

from ..factories import CameraFactory, EventFactory
from .conftest import HOUR

pytestmark = pytest.mark.django_db


def event_playback(client, event_id):
    return client.get(f"/v2/api/playback/event/{event_id}")


def test_offset_is_the_event_time_into_the_hour_playlist_less_the_pre_roll(client_a, camera_a, record):
    record(camera_a, HOUR + timedelta(minutes=1))  # 04:01:00 - 04:01:20
    event = EventFactory(tenant=camera_a.tenant, camera_id=camera_a.slug, ts=HOUR + timedelta(minutes=1, seconds=12.5))

    response = event_playback(client_a, event.id)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["event_id"], body["camera_id"], body["pre_roll"]) == (event.id, "cam-front-01", 5.0)
    assert body["offset"] == pytest.approx(7.5)
    assert body["playlist_url"].startswith("/v2/hls/cam-front-01/2020-03-12/04/index.m3u8?tid=tenant-a&")
    assert client_a.get(body["playlist_url"]).status_code == 200


def test_a_gap_before_the_event_takes_no_playback_time(client_a, camera_a, record):
    record(camera_a, gap_after=3, gap=60)  # 04:00:00-04:00:06, then 04:01:06-04:01:20
    event = EventFactory(tenant=camera_a.tenant, camera_id=camera_a.slug, ts=HOUR + timedelta(minutes=1, seconds=15))
    assert event_playback(client_a, event.id).json()["offset"] == pytest.approx(6 + 4)
    # pre-roll reaching into the gap starts at the first segment after it
    early = EventFactory(tenant=camera_a.tenant, camera_id=camera_a.slug, ts=HOUR + timedelta(minutes=1, seconds=8))
    assert event_playback(client_a, early.id).json()["offset"] == pytest.approx(6)


def test_pre_roll_stops_at_the_start_of_the_hour(client_a, camera_a, record):
    record(camera_a)
    event = EventFactory(tenant=camera_a.tenant, camera_id=camera_a.slug, ts=HOUR + timedelta(seconds=3))
    body = event_playback(client_a, event.id).json()
    assert (body["offset"], body["pre_roll"]) == (0.0, 3.0)
    assert "/2020-03-12/04/" in body["playlist_url"]


def test_an_event_just_before_recording_began_in_the_next_hour_plays_from_it(client_a, camera_a, record):
    record(camera_a)  # 04:00:00 - 04:00:20: the recorder started after the detector's first frames, at 03:59:57
    event = EventFactory(tenant=camera_a.tenant, camera_id=camera_a.slug, ts=HOUR - timedelta(seconds=3))
    response = event_playback(client_a, event.id)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["offset"], body["pre_roll"]) == (0.0, 0.0)
    assert "/2020-03-12/04/" in body["playlist_url"] and client_a.get(body["playlist_url"]).status_code == 200
    long_before = EventFactory(tenant=camera_a.tenant, camera_id=camera_a.slug, ts=HOUR - timedelta(seconds=30))
    assert event_playback(client_a, long_before.id).json()["code"] == "no_recording"


def test_an_event_without_recording_is_404_no_recording(client_a, camera_a, record):
    record(camera_a)  # 04:00:00 - 04:00:20
    after = EventFactory(tenant=camera_a.tenant, camera_id=camera_a.slug, ts=HOUR + timedelta(minutes=30))
    response = event_playback(client_a, after.id)
    assert (response.status_code, response.json()["code"]) == (404, "no_recording")
    gone = EventFactory(tenant=camera_a.tenant, camera_id="deleted-camera", ts=HOUR)
    assert event_playback(client_a, gone.id).json()["code"] == "no_recording"


def test_another_tenants_event_is_404(client_a, client_b, camera_a, tenant_b, record):
    record(camera_a)
    event = EventFactory(tenant=camera_a.tenant, camera_id=camera_a.slug, ts=HOUR + timedelta(seconds=10))
    # tenant B even has a camera with the same id and recordings at that time
    record(CameraFactory(tenant=tenant_b, slug=camera_a.slug))
    response = event_playback(client_b, event.id)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert event_playback(client_a, "evt-unknown").status_code == 404
    assert event_playback(client_a, event.id).status_code == 200


def test_needs_the_playback_read_scope(make_client, tenant_a, camera_a, record):
    record(camera_a)
    event = EventFactory(tenant=tenant_a, camera_id=camera_a.slug, ts=HOUR + timedelta(seconds=10))
    assert event_playback(make_client(tenant_a, scopes=["events:read"]), event.id).status_code == 403

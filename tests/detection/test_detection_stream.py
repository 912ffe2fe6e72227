"""The detector on the real RTSP demo stream (a bus and 4-6 people, then 2-3 people): one event per object."""

from collections import Counter

import cv2
import pytest

from events.models import Event
from playback.paths import recordings_path, url_for_file
from tests.events.kalay import arguments, data, post

from .conftest import run_detectors

pytestmark = pytest.mark.django_db(transaction=True)

STREAM_SECONDS = 12  # the clip's first scene (bus and people) and a bit of the second


def test_stream_events(tenant_a, tenant_b, stream_camera, client_a, client_b, settings):
    """One stream run (the costly part) checked for every behaviour below, on two cameras of tenant A."""
    full = stream_camera(tenant_a, "cam-street", ["person", "vehicle", "license_plate", "motion"])
    vehicles = stream_camera(tenant_a, "cam-vehicles", ["vehicle"])
    run_detectors([full, vehicles], STREAM_SECONDS)
    check_one_event_per_tracked_object(full)
    check_no_person_events_without_the_feature(vehicles)
    check_snapshot_served_only_to_its_tenant(full, client_a, client_b, settings)
    check_kalay_lists_person_and_vehicle_categories(full, client_a, client_b)


def check_one_event_per_tracked_object(full):
    events = list(Event.objects.filter(tenant_id="tenant-a", camera_id=full.slug))
    types = Counter(e.type for e in events)
    assert types["person"] >= 3
    assert types["vehicle"] >= 1
    assert types["motion"] == 1  # the clip moves all the time: one debounced episode
    # ~100 frames with 3-6 people in most of them: per-frame events would be hundreds.
    assert types["person"] <= 12
    tracked = [e for e in events if e.type in ("person", "vehicle")]
    keys = [(e.payload["track_id"], e.payload["label"]) for e in tracked]
    assert len(keys) == len(set(keys))  # never two events for one track
    assert {e.payload["label"] for e in tracked if e.type == "vehicle"} <= {
        "car",
        "truck",
        "bus",
        "motorcycle",
        "bicycle",
    }
    assert "bus" in {e.payload["label"] for e in tracked}
    for event in events:
        frame = event.payload["frame"]
        assert frame == {"width": 1280, "height": 720}
        for x1, y1, x2, y2 in event.payload["boxes"]:
            assert 0 <= x1 < x2 <= frame["width"] and 0 <= y1 < y2 <= frame["height"]
        assert 0 < event.confidence <= 1
        assert event.event_id == {"motion": 1, "person": 2, "vehicle": 3, "license_plate": 4}[event.type]
    for event in tracked:
        assert event.confidence >= 0.5
        assert event.model_version == "yolo11n_int8_openvino_model@ultralytics-8.3.167"
        assert event.tags == [event.payload["label"]]
    assert len({e.trace_id for e in events}) == len(events)
    assert len({e.snapshot for e in events}) == len(events)  # people first seen together: one file each


def check_no_person_events_without_the_feature(vehicles):
    types = Counter(Event.objects.filter(tenant_id="tenant-a", camera_id=vehicles.slug).values_list("type", flat=True))
    assert types["vehicle"] >= 1
    assert set(types) == {"vehicle"}
    assert not Event.objects.filter(tenant_id="tenant-b").exists()


def check_snapshot_served_only_to_its_tenant(full, client_a, client_b, settings):
    event = Event.objects.filter(tenant_id="tenant-a", camera_id=full.slug, type="person").first()
    assert event.snapshot.startswith(f"tenant-a/{full.slug}/") and event.snapshot.endswith(".jpg")
    url, path = url_for_file(event.snapshot), recordings_path(event.snapshot)
    image = cv2.imread(str(path))
    assert image.shape == (720, 1280, 3)
    response = client_a.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content if response.streaming else [response.content]) == path.read_bytes()
    assert client_b.get(url).status_code == 404


def check_kalay_lists_person_and_vehicle_categories(full, client_a, client_b):
    window = {"device": full.slug, "start_time": "1", "end_time": "9999999999999", "limit": 100}
    query = f"{{get_event_list({arguments(**window)}){{pk,event_id}}}}"
    listed = data(post(client_a, query))["get_event_list"]
    assert {2, 3} <= {row["event_id"] for row in listed}
    assert data(post(client_b, query))["get_event_list"] == []

"""The aim's geometry rules without a model: masks, filters, zone inertia, required zones, line directions, reload."""

import time
from types import SimpleNamespace

import numpy as np
import pytest

from cameras.models import Camera
from events.detection.aim import ZONE_INERTIA, Aim, LineState, ZoneMembership, bottom_centre
from events.detection.detector import AIM_POLL_S, CameraDetector
from events.detection.vision import Frame, MotionGate
from tenants.models import Tenant
from tests.factories import CameraFactory

W, H = 1000, 500
LEFT_HALF = [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
DOWN_THE_MIDDLE = {"name": "door", "a": [0.5, 0.2], "b": [0.5, 0.8], "direction": "a_to_b"}


def box_at(x: float, y: float, size: int = 100) -> list[int]:
    """A box whose bottom centre is at (x, y) in 0-1 coordinates of a W x H frame."""
    cx, bottom = round(x * W), round(y * H)
    return [cx - size // 2, bottom - size, cx + size // 2, bottom]


def obj(track_id: int, x: float, y: float, confidence: float = 0.9, label: str = "person", size: int = 100) -> dict:
    return {"track_id": track_id, "label": label, "confidence": confidence, "box": box_at(x, y, size)}


def frame(index: int = 0) -> Frame:
    return Frame(image=np.full((H, W, 3), index % 255, np.uint8), ts=time.time(), mono=float(index))


def detector_for(settings, tmp_path, **aim) -> tuple[CameraDetector, list[dict]]:
    settings.VMS_RECORDINGS_ROOT = tmp_path
    camera = Camera(tenant=Tenant(id="t"), slug="cam", features=["person", "vehicle"], **aim)
    events: list[dict] = []
    model = SimpleNamespace(version="fake")
    return CameraDetector(camera, model, emit=lambda **kw: events.append(kw)), events


def walk(detector: CameraDetector, track_id: int, points: list[tuple[float, float]], **kw) -> None:
    for index, (x, y) in enumerate(points):
        detector._observe(frame(index), obj(track_id, x, y, **kw))


def test_bottom_centre_places_an_object_where_it_stands():
    assert bottom_centre([100, 50, 300, 450], W, H) == (0.2, 0.9)


def test_object_mask_ignores_objects_standing_in_it_for_its_labels_only():
    aim = Aim({"masks": [{"name": "m", "points": LEFT_HALF, "kind": "object", "labels": ["vehicle"]}]})
    assert aim.masked("vehicle", (0.2, 0.5))
    assert not aim.masked("vehicle", (0.7, 0.5))
    assert not aim.masked("person", (0.2, 0.5))
    assert Aim({"masks": [{"name": "m", "points": LEFT_HALF, "kind": "object"}]}).masked("person", (0.2, 0.5))
    assert not Aim({"masks": [{"name": "m", "points": LEFT_HALF, "kind": "motion"}]}).masked("person", (0.2, 0.5))


def test_filters_replace_the_fixed_half_score():
    assert Aim({}).passes("person", 0.5, 0.1) and not Aim({}).passes("person", 0.49, 0.1)
    aim = Aim({"filters": {"person": {"min_score": 0.3, "min_area": 0.01, "max_area": 0.5}}})
    assert aim.passes("person", 0.3, 0.01)
    assert not aim.passes("person", 0.9, 0.009)
    assert not aim.passes("person", 0.9, 0.6)
    assert aim.passes("vehicle", 0.5, 0.0001) and not aim.passes("vehicle", 0.4, 0.1)


def test_zone_membership_has_inertia_both_ways():
    assert ZONE_INERTIA == 2
    zones = ZoneMembership()
    zones.update({"a"})
    assert zones.inside == set() and zones.entered == set()  # one frame is a glimpse
    zones.update(set())
    zones.update({"a"})
    assert zones.inside == set()  # the streak broke
    zones.update({"a"})
    assert zones.inside == {"a"} and zones.entered == {"a"}
    zones.update(set())
    assert zones.inside == {"a"}  # one frame out is jitter on the edge
    zones.update({"a"})
    zones.update(set())
    zones.update(set())
    assert zones.inside == set() and zones.entered == {"a"}


def test_line_directions_once_per_track_and_line():
    aim = Aim({"lines": [DOWN_THE_MIDDLE, {**DOWN_THE_MIDDLE, "name": "back", "direction": "b_to_a"},
                         {**DOWN_THE_MIDDLE, "name": "any", "direction": "both"}]})  # fmt: skip
    state = LineState()
    assert state.move(aim.lines, (0.4, 0.5)) == []
    crossed = state.move(aim.lines, (0.6, 0.5))  # left to right across a line drawn top to bottom
    assert [(line.name, direction) for line, direction in crossed] == [("door", "a_to_b"), ("any", "a_to_b")]
    assert state.move(aim.lines, (0.4, 0.5))[0][0].name == "back"  # and back: only the b_to_a line counts it
    assert state.move(aim.lines, (0.6, 0.5)) == []  # each line counts a track once
    beside = LineState()
    beside.move(aim.lines, (0.4, 0.9))
    assert beside.move(aim.lines, (0.6, 0.9)) == []  # below the segment's end
    along = LineState()
    along.move(aim.lines, (0.5, 0.3))
    assert along.move(aim.lines, (0.5, 0.6)) == []  # walking on the line is not crossing it
    touch = LineState()
    touch.move(aim.lines, (0.4, 0.5))
    assert [ln.name for ln, _ in touch.move(aim.lines, (0.5, 0.5))] == ["door", "any"]  # reaching it counts once
    assert touch.move(aim.lines, (0.6, 0.5)) == []
    horizontal = Aim({"lines": [{"name": "h", "a": [0.2, 0.5], "b": [0.8, 0.5], "direction": "both"}]})
    down = LineState()
    down.move(horizontal.lines, (0.5, 0.4))
    assert down.move(horizontal.lines, (0.5, 0.6))[0][1] == "b_to_a"  # a left, b right: going down is b_to_a


def test_a_masked_or_filtered_object_makes_no_event(settings, tmp_path):
    detector, events = detector_for(
        settings,
        tmp_path,
        masks=[{"name": "left", "points": LEFT_HALF, "kind": "object"}],
        filters={"person": {"min_area": 0.01}},
    )
    walk(detector, 1, [(0.2, 0.5)] * 5)  # in the mask
    walk(detector, 2, [(0.7, 0.5)] * 5, size=50)  # 0.005 of the frame: too small
    walk(detector, 3, [(0.7, 0.5)] * 2, confidence=0.45)  # below the default 0.5
    assert events == []
    walk(detector, 4, [(0.7, 0.5)] * 2)
    assert [e["type"] for e in events] == ["person"]
    assert events[0]["severity"] == "alert"  # person is an alert label by default, and no zone is marked alert
    assert "zones" not in events[0]["payload"]  # the camera has no zones


def test_a_required_zone_holds_the_event_until_the_track_is_in_it(settings, tmp_path):
    right = [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]
    detector, events = detector_for(
        settings,
        tmp_path,
        zones=[{"name": "right", "points": right, "required": True, "alert": True},
               {"name": "top", "points": [[0, 0], [1, 0], [1, 0.3], [0, 0.3]]}],
        alert_labels=["person"],
    )  # fmt: skip
    walk(detector, 1, [(0.2, 0.5)] * 6)  # never in it: no event
    assert events == []
    walk(detector, 2, [(0.2, 0.5), (0.3, 0.5), (0.6, 0.5), (0.7, 0.5), (0.8, 0.5)])
    [event] = events
    assert event["payload"]["track_id"] == 2
    assert event["payload"]["zones"] == ["right"]
    assert event["payload"]["boxes"] == [box_at(0.7, 0.5)]  # the first frame inside after the inertia
    assert event["severity"] == "alert"
    walk(detector, 3, [(0.6, 0.2)] * 3, label="car")  # a vehicle: in both zones, not an alert label
    assert events[-1]["type"] == "vehicle" and events[-1]["payload"]["zones"] == ["right", "top"]
    assert events[-1]["severity"] == "detection"


def test_a_line_crossing_is_one_event_with_its_frame(settings, tmp_path):
    detector, events = detector_for(settings, tmp_path, lines=[{**DOWN_THE_MIDDLE, "labels": ["person"]}])
    walk(detector, 1, [(0.3, 0.5), (0.4, 0.5), (0.6, 0.5), (0.7, 0.5), (0.4, 0.5), (0.6, 0.5)])
    walk(detector, 2, [(0.7, 0.5), (0.6, 0.5), (0.4, 0.5)])  # the other way
    walk(detector, 3, [(0.3, 0.5), (0.6, 0.5)], label="car")  # not a label of the line
    crossings = [e for e in events if e["type"] == "line_crossing"]
    [crossing] = crossings
    payload = crossing["payload"]
    assert {k: payload[k] for k in ("line", "direction", "label", "track_id")} == {
        "line": "door", "direction": "a_to_b", "label": "person", "track_id": 1,
    }  # fmt: skip
    assert payload["boxes"] == [box_at(0.6, 0.5)] and payload["frame"] == {"width": W, "height": H}
    assert crossing["tags"] == ["person"] and crossing["severity"] == "alert"
    assert {e["type"] for e in events} == {"person", "vehicle", "line_crossing"}


def test_a_vehicle_crossing_is_labelled_by_its_feature(settings, tmp_path):
    detector, events = detector_for(settings, tmp_path, lines=[{**DOWN_THE_MIDDLE, "direction": "both"}])
    walk(detector, 1, [(0.6, 0.5), (0.55, 0.5), (0.4, 0.5)], label="bus")
    crossing = events[-1]
    assert crossing["type"] == "line_crossing" and crossing["payload"]["direction"] == "b_to_a"
    assert crossing["payload"]["label"] == "vehicle" and crossing["tags"] == ["bus"]


def test_a_crossing_before_the_track_qualifies_waits_for_it(settings, tmp_path):
    detector, events = detector_for(settings, tmp_path, lines=[DOWN_THE_MIDDLE])
    detector._observe(frame(0), obj(1, 0.4, 0.5, confidence=0.3))
    detector._observe(frame(1), obj(1, 0.6, 0.5, confidence=0.3))  # crosses, but not sure enough yet
    assert events == []
    detector._observe(frame(2), obj(1, 0.7, 0.5, confidence=0.8))
    assert [e["type"] for e in events] == ["person", "line_crossing"]
    assert events[1]["payload"]["boxes"] == [box_at(0.6, 0.5)]  # the frame of crossing


def test_motion_mask_hides_change_inside_it():
    def moving(gate: MotionGate, x: int) -> list:
        results = []
        for index in range(30):
            image = np.zeros((360, 640, 3), np.uint8)
            if index >= 20:
                image[100:200, x + index * 4 : x + 80 + index * 4] = 255
            results.append(gate.update(image))
        return results[20:]

    assert any(moving(MotionGate(), 20))
    masked = MotionGate([LEFT_HALF])
    assert not any(moving(masked, 20))  # all of it happens in the left half
    assert any(moving(MotionGate([LEFT_HALF]), 400))


@pytest.mark.django_db
def test_the_running_detector_picks_up_an_aim_change(tenant_a, settings, tmp_path):
    settings.VMS_RECORDINGS_ROOT = tmp_path
    camera = CameraFactory(tenant=tenant_a, slug="cam-aim", features=["person"])
    model = SimpleNamespace(version="fake")
    events: list[dict] = []
    detector = CameraDetector(camera, model, emit=lambda **kw: events.append(kw))
    detector._poll_aim(0.0)
    assert detector.aim.zones == []
    mask = {"name": "all", "points": [[0, 0], [1, 0], [1, 1], [0, 1]], "kind": "object"}
    Camera.objects.filter(pk=camera.pk).update(masks=[mask])
    detector._poll_aim(AIM_POLL_S - 1)
    assert detector.aim.object_masks == []  # not yet: it polls every AIM_POLL_S
    rules = detector.aim
    detector._poll_aim(AIM_POLL_S)
    assert detector.aim is not rules and len(detector.aim.object_masks) == 1
    assert detector.detector is model  # the model stays loaded
    walk(detector, 1, [(0.5, 0.5)] * 3)
    assert events == []
    detector._poll_aim(2 * AIM_POLL_S)
    assert detector.aim.source["masks"] == [mask]

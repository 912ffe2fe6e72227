"""The detector's parts that the demo stream cannot show: plate events, the `detect` kind, stream loss."""

import time

import cv2
import numpy as np
import pytest
from django.conf import settings

from cameras.pipeline.registry import KINDS
from events.detection.detector import HEALTH_WINDOW_S, MOTION_QUIET_S, CameraDetector, Health, Track, detect_labels
from events.detection.vision import Frame, StreamEnded, load_detector, read_frames
from tests.factories import CameraFactory
from tests.shared import DEMO_CLIP


def test_detect_kind_runs_on_its_queue_for_enabled_cameras_with_features(db):
    kind = KINDS["detect"]
    assert kind.queue == "detect"
    assert settings.VMS_PIPELINE_RUNNERS["detect"] == "events.detection.detector.run"
    assert kind.wanted(CameraFactory.build(enabled=True, features=["motion"]))
    assert not kind.wanted(CameraFactory.build(enabled=True, features=[]))
    assert not kind.wanted(CameraFactory.build(enabled=False, features=["person"]))


def test_model_classes_follow_the_features():
    assert detect_labels(["person"]) == ["person"]
    assert detect_labels(["motion"]) == []
    assert detect_labels(["license_plate"]) == ["car", "truck", "bus", "motorcycle", "bicycle"]


@pytest.mark.django_db
def test_vehicle_with_readable_plate_gives_a_license_plate_event(tenant_a):
    camera = CameraFactory(tenant=tenant_a, slug="cam-gate", features=["vehicle", "license_plate"])
    frame = np.full((720, 1280, 3), 60, np.uint8)
    cv2.rectangle(frame, (500, 300), (900, 560), (120, 120, 120), -1)  # the "car"
    cv2.rectangle(frame, (590, 470), (810, 525), (255, 255, 255), -1)
    cv2.putText(frame, "51F-123.45", (600, 512), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (0, 0, 0), 3)
    events: list[dict] = []
    detector = CameraDetector(camera, load_detector(settings.VMS_DETECTOR_MODEL), emit=lambda **kw: events.append(kw))
    track = Track(
        7, "car", time.time(), time.monotonic(), time.monotonic(), hits=2, confidence=0.8, box=[500, 300, 900, 560]
    )
    track.image = frame
    detector._emit_track(track)

    vehicle, plate = events
    assert vehicle["type"] == "vehicle" and vehicle["payload"]["track_id"] == 7
    assert plate["type"] == "license_plate"
    assert plate["payload"]["plate"] == "51F12345" and plate["payload"]["text"] == "51F-123.45"
    assert plate["payload"]["vehicle_box"] == [500, 300, 900, 560]
    x1, y1, x2, y2 = plate["payload"]["boxes"][0]
    assert 585 <= x1 < x2 <= 815 and 465 <= y1 < y2 <= 530  # in frame coordinates, on the plate
    assert plate["tags"] == ["51F12345"]
    assert plate["model_version"].endswith("+rapidocr")
    assert plate["snapshot"] != vehicle["snapshot"]
    assert track.image is None  # the frame is let go once the events are written


def test_frames_come_at_the_camera_fps_and_a_lost_stream_raises(rtsp_server):
    frames = []
    with pytest.raises(StreamEnded):
        for frame in read_frames(rtsp_server.url, 5, lambda: False):
            frames.append(frame)
            if len(frames) == 11:
                rtsp_server.stop()
    assert frames[0].image.shape == (720, 1280, 3)
    rate = 10 / (frames[10].mono - frames[0].mono)
    assert 4 <= rate <= 6.5


def test_should_stop_is_honoured_within_a_second(rtsp_url):
    stop_at = time.monotonic() + 2
    frames = list(read_frames(rtsp_url, 1, lambda: time.monotonic() > stop_at))
    assert time.monotonic() - stop_at < 1.5
    assert len(frames) <= 3


def small_grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.resize(image, (160, 90), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)


def clip_position(image: np.ndarray, clip: list[np.ndarray]) -> int:
    """The index of the demo clip's frame that `image` shows (clip: its frames through small_grey)."""
    small = small_grey(image)
    return int(np.argmin([cv2.absdiff(small, frame).mean() for frame in clip]))


def test_a_busy_camera_loop_gets_the_newest_frame_not_a_backlog(rtsp_url):
    capture = cv2.VideoCapture(DEMO_CLIP)
    clip = []
    while (read := capture.read())[0]:
        clip.append(small_grey(read[1]))
    capture.release()
    frames = read_frames(rtsp_url, 5, lambda: False)  # each RTSP session starts at the clip's first frame
    first = next(frames)
    time.sleep(3)  # the loop is busy: 15 frames come meanwhile
    second = next(frames)
    frames.close()
    assert second.skipped >= 10
    # 3 s later at the clip's 10 fps is ~30 frames on; the next frame of a backlog would be 2 on.
    frames_on = (clip_position(second.image, clip) - clip_position(first.image, clip)) % len(clip)
    assert frames_on >= 25


def test_a_detector_falling_behind_is_reported_once_a_minute_and_cleared_when_it_keeps_up():
    reports: list[str] = []
    health = Health(CameraFactory.build(slug="cam-busy", fps=5), reports.append)
    health.model_unavailable("model gone")
    blank = np.zeros((2, 2, 3), np.uint8)

    def minute(start: float, fps: float, skipped: int) -> None:
        for i in range(int(HEALTH_WINDOW_S * fps) + 1):
            health.count(Frame(image=blank, ts=0, mono=start + i / fps, skipped=skipped))

    minute(0, fps=5, skipped=0)  # kept up: nothing new to tell
    assert reports == ["model gone"]
    minute(HEALTH_WINDOW_S, fps=2.5, skipped=1)  # took every other frame
    assert len(reports) == 2
    assert reports[1].startswith("model gone; falling behind: analysed 2.5 of 5 fps over the last 60 s")
    minute(2 * HEALTH_WINDOW_S, fps=5, skipped=0)
    assert reports[2:] == ["model gone"]  # kept up again: the other problem stays
    minute(3 * HEALTH_WINDOW_S, fps=5, skipped=0)
    assert len(reports) == 3


def demo_picture() -> np.ndarray:
    capture = cv2.VideoCapture(DEMO_CLIP)
    ok, image = capture.read()
    capture.release()
    assert ok
    return image


@pytest.mark.django_db
def test_yolo_runs_only_on_motion_and_motion_episodes_are_debounced(tenant_a):
    camera = CameraFactory(tenant=tenant_a, slug="cam-gate", features=["person", "vehicle", "motion"])
    events: list[dict] = []
    detector = CameraDetector(camera, load_detector(settings.VMS_DETECTOR_MODEL), emit=lambda **kw: events.append(kw))
    still = demo_picture()  # a bus and people, standing still
    moved = still.copy()
    moved[300:400, 100:300] = still[300:400, 400:600]
    t0 = time.time()

    def feed(image: np.ndarray, second: float) -> None:
        detector.process(Frame(image=image, ts=t0 + second, mono=1000 + second))

    for i in range(10):
        feed(still, i * 0.2)
    assert detector.inferences == 0 and events == []  # nothing moves: the model never runs

    feed(moved, 2.0)
    feed(still, 2.2)
    feed(moved, 2.4)
    assert detector.inferences == 2  # the two frames with motion, not the still one between them
    assert [e["type"] for e in events].count("motion") == 1
    assert {e["payload"]["label"] for e in events if e["type"] != "motion"} >= {"bus", "person"}

    feed(still, 2.4 + MOTION_QUIET_S - 1.2)
    feed(moved, 2.4 + MOTION_QUIET_S - 1)  # within the episode: same motion event
    assert [e["type"] for e in events].count("motion") == 1
    for i in range(5):
        feed(still, 20 + i * 0.2)
    elsewhere = still.copy()  # a new change: MOG2 has learnt `moved` as a second background mode by now
    elsewhere[100:200, 700:900] = 255 - still[100:200, 700:900]
    feed(elsewhere, 20 + MOTION_QUIET_S + 2)  # after a quiet spell: a new episode
    motion = [e for e in events if e["type"] == "motion"]
    assert len(motion) == 2
    assert motion[0]["model_version"] == "mog2" and 0 < motion[0]["confidence"] <= 1

"""The shared model: mosaics of regions and whole frames from any cameras, each view's detections handed back to it
in its frame's pixels."""

import threading

import cv2
import numpy as np
import pytest
from django.conf import settings

from events.detection.model import ModelUnavailable, View, load_model
from events.detection.vision import load_detector, nms
from tests.shared import DEMO_CLIP


def demo_frames(indices: list[int]) -> list[np.ndarray]:
    capture = cv2.VideoCapture(DEMO_CLIP)
    frames = []
    for index in indices:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, image = capture.read()
        assert ok
        frames.append(image)
    capture.release()
    return frames


def whole(image: np.ndarray) -> View:
    return View(image, (0, 0, image.shape[1], image.shape[0]), whole=True)


def objects(detections, least: float = 0.5) -> list[tuple[str, list[float]]]:
    """(label, box) of the confident detections, after per-class NMS, left to right."""
    kept = detections[nms(detections)]
    kept = kept[kept.conf >= least]
    names = load_model(settings.VMS_DETECTOR_MODEL).names
    found = [(names[int(c)], box.tolist()) for c, box in zip(kept.cls, kept.xyxy, strict=True)]
    return sorted(found, key=lambda o: o[1])


def iou(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    overlap = width * height
    return overlap / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap)


def matches(found, expected, least_iou: float = 0.8) -> bool:
    """Every expected object found: same label, boxes overlapping by `least_iou` or more."""
    return all(any(label == other and iou(box, other_box) >= least_iou for other, other_box in found)
               for label, box in expected)  # fmt: skip


def test_cameras_share_one_compiled_model_and_keep_their_own_tracker():
    first, second = load_detector(settings.VMS_DETECTOR_MODEL), load_detector(settings.VMS_DETECTOR_MODEL)
    assert first.model is second.model is load_model(settings.VMS_DETECTOR_MODEL)
    assert first.tracker is not second.tracker
    assert first.model.requests >= 1


def test_a_region_finds_what_the_whole_frame_finds_there_in_frame_pixels():
    [image] = demo_frames([0])  # the bus and people in front of it
    model = load_model(settings.VMS_DETECTOR_MODEL)
    [full] = model.detect([whole(image)])
    people = [o for o in objects(full) if o[0] == "person"]
    assert people
    x1, y1, x2, y2 = people[0][1]
    side = 400
    left, top = max(0, int(x1 + x2 - side) // 2), max(0, min(720 - side, int(y1 + y2 - side) // 2))
    [region] = model.detect([View(image, (left, top, left + side, top + side))])
    found = objects(region)
    assert matches(found, [people[0]]), (found, people[0])
    for _, (bx1, by1, bx2, by2) in found:  # mapped back into the region's place in the frame
        assert left <= bx1 < bx2 <= left + side and top <= by1 < by2 <= top + side


def test_views_of_cameras_detecting_at_once_each_get_their_own_frame():
    frames = demo_frames([0, 50, 100, 150, 199])  # the bus and the people at different places
    model = load_model(settings.VMS_DETECTOR_MODEL)
    # What a frame's neighbour in the mosaic changes is a little confidence (YOLO11's attention sees the whole
    # input): the sure objects of a lone run must be among the likely ones of each shared run.
    expected = [objects(model.detect([whole(image)])[0], least=0.6) for image in frames]
    assert len({str(rows) for rows in expected}) == len(frames)  # a mix-up between cameras would show
    mismatches: list[str] = []
    start = threading.Barrier(len(frames))

    def detect(index: int) -> None:
        start.wait()
        for _ in range(6):  # mosaics of two frames of different cameras, in every pairing that comes
            found = objects(model.detect([whole(frames[index])])[0], least=0.4)
            if not matches(found, expected[index]):
                mismatches.append(f"frame {index}: {found} != {expected[index]}")

    threads = [threading.Thread(target=detect, args=(i,)) for i in range(len(frames))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a detection hung"
    assert mismatches == []


def test_a_mosaic_takes_two_whole_frames_or_four_regions():
    model = load_model(settings.VMS_DETECTOR_MODEL)
    [image] = demo_frames([0])
    regions = [View(image, (x, 0, x + 320, 320)) for x in (0, 320, 640, 960)]
    with model._changed:  # what one free infer request would take, with these waiting
        model._waiting.extend(_jobs([whole(image), *regions, whole(image)]))
        first, second = model._pack(), model._pack()
        assert not model._waiting
    # Oldest first; a whole frame in a free half, a region in the first free quarter.
    assert [(p.job.view.whole, p.place) for p in first] == [
        (True, (0, 0, 640, 320)),
        (False, (0, 320, 320, 320)),
        (False, (320, 320, 320, 320)),
    ]
    assert [(p.job.view.whole, p.place) for p in second] == [
        (False, (0, 0, 320, 320)),
        (False, (320, 0, 320, 320)),
        (True, (0, 320, 640, 320)),
    ]
    assert first[0].scale == pytest.approx(320 / 720)  # 1280x720 letterboxed into 640x320
    assert first[1].scale == 1.0


def _jobs(views: list[View]):
    from events.detection.model import _Job

    return [_Job(view) for view in views]


def test_a_model_that_is_not_an_openvino_export_is_unavailable(tmp_path):
    with pytest.raises(ModelUnavailable, match="no OpenVINO IR"):
        load_model(str(tmp_path))

"""The cameras of one worker share one compiled OpenVINO model, and call it from their threads at once."""

import threading

import cv2
import numpy as np
from django.conf import settings

from events.detection.vision import SharedOpenVINOModel, load_detector
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


def boxes(detector, image: np.ndarray) -> np.ndarray:
    """(class, confidence, x1, y1, x2, y2) rows of a plain predict, in a stable order."""
    result = detector.model.predict(image, verbose=False)[0].boxes
    rows = np.column_stack([result.cls.numpy(), result.conf.numpy(), result.xyxy.numpy()])
    return rows[np.lexsort(rows.T[::-1])]


def test_detectors_of_a_process_share_one_throughput_model():
    first, second = load_detector(settings.VMS_DETECTOR_MODEL), load_detector(settings.VMS_DETECTOR_MODEL)
    shared = first.model.predictor.model.backend.ov_compiled_model
    assert isinstance(shared, SharedOpenVINOModel)
    assert second.model.predictor.model.backend.ov_compiled_model is shared
    assert str(shared.compiled.get_property("PERFORMANCE_HINT")) == "THROUGHPUT"
    assert shared.streams >= 1
    assert first.model.predictor is not second.model.predictor  # each camera keeps its own tracker


def test_cameras_inferring_at_once_each_get_the_results_of_their_own_frame():
    frames = demo_frames([0, 50, 100, 150, 199])  # the bus and the people at different places
    detectors = [load_detector(settings.VMS_DETECTOR_MODEL) for _ in frames]
    expected = [boxes(detectors[0], image) for image in frames]
    assert len({rows.tobytes() for rows in expected}) == len(frames)  # a mix-up between cameras would show
    mismatches: list[str] = []
    start = threading.Barrier(len(frames))

    def infer(index: int) -> None:
        start.wait()
        for _ in range(6):
            rows = boxes(detectors[index], frames[index])
            if rows.shape != expected[index].shape or not np.allclose(rows, expected[index], atol=1e-3):
                mismatches.append(f"frame {index}: {rows.tolist()} != {expected[index].tolist()}")

    threads = [threading.Thread(target=infer, args=(i,)) for i in range(len(frames))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "an inference hung"
    assert mismatches == []

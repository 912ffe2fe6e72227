"""What a detect node takes: the loaded model's own speed on this machine, timed once at worker start-up
(settings.VMS_NODE_MEASURES points the node's announcement here; cameras/pipeline/nodes.py)."""

import time

import numpy as np
from django.conf import settings

from .vision import MAX_FRAME_WIDTH, load_detector

TIMED_FRAMES = 5


def frames_per_second() -> float:
    """Frames per second the model infers one after another on a full-width 16:9 frame (the motion gate lets
    fewer reach it, so cameras' fps may add up to more); raises ModelUnavailable when it cannot be loaded."""
    detector = load_detector(settings.VMS_DETECTOR_MODEL)  # loads and runs it once: the timing below is warm
    frame = np.zeros((MAX_FRAME_WIDTH * 9 // 16, MAX_FRAME_WIDTH, 3), np.uint8)
    started = time.perf_counter()
    for _ in range(TIMED_FRAMES):
        detector.model.predict(frame, conf=0.1, verbose=False)
    return round(TIMED_FRAMES / (time.perf_counter() - started), 1)

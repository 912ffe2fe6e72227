"""What a detect node takes: the shared model's own speed on this machine, timed once at worker start-up
(settings.VMS_NODE_MEASURES points the node's announcement here; cameras/pipeline/nodes.py)."""

import time

import numpy as np
from django.conf import settings

from .model import View, load_model
from .vision import MAX_FRAME_WIDTH

TIMED_ROUNDS = 4


def frames_per_second() -> float:
    """Whole full-width 16:9 frames per second the shared model takes when cameras keep all its infer requests
    busy (two frames a mosaic); the motion gate lets fewer reach it and regions cost half a whole frame, so
    cameras' fps may add up to more. Raises ModelUnavailable when it cannot be loaded."""
    model = load_model(settings.VMS_DETECTOR_MODEL)
    height = MAX_FRAME_WIDTH * 9 // 16
    frames = [View(np.zeros((height, MAX_FRAME_WIDTH, 3), np.uint8), (0, 0, MAX_FRAME_WIDTH, height), whole=True)]
    frames *= 2 * model.requests  # enough waiting to fill every request's mosaic
    model.detect(frames)  # the timing below is warm
    started = time.perf_counter()
    for _ in range(TIMED_ROUNDS):
        model.detect(frames)
    return round(TIMED_ROUNDS * len(frames) / (time.perf_counter() - started), 1)

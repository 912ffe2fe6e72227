"""The detector's building blocks: decoded frames from ffmpeg, a motion gate, and a camera's Detector.

Frames come from an ffmpeg subprocess (RTSP over TCP -> raw BGR24 on a pipe at the camera's fps, at most
`MAX_FRAME_WIDTH` wide): ffmpeg drops the surplus source frames after decoding, so Python only ever sees the
frames it will use. A thread drains the pipe as frames come; the camera's loop takes the newest, so a loop that
falls behind skips frames instead of working through a growing backlog of old ones. Ultralytics is imported
lazily (for its ByteTrack) and offline: nothing is downloaded or installed at run time.

Every camera has its own Detector (its ByteTrack state is that stream's), but the model is compiled once per
process and shared by all of them (events/detection/model.py).
"""

import contextlib
import fcntl
import logging
import os
import select
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import cv2
import numpy as np

from cameras.rtsp import mask_credentials

from .model import MIN_CONFIDENCE, Box, Detections, Model, View, load_model
from .regions import regions

logger = logging.getLogger(__name__)

MAX_FRAME_WIDTH = 1280
MOTION_WIDTH = 160  # the motion gate works on a small grey copy: cheap and less noisy
MOTION_MIN_AREA = 0.003  # share of the picture that must change to count as motion
READ_TIMEOUT_S = 10.0
FULL_FRAME_S = 4.0  # while there is motion, the model sees the whole frame at least this often (ByteTrack keeps
# a track it lost for 30 of its updates: 6 s at 5 fps)
# The size comes from the SPS (in the RTSP SDP or the first key frame): no need for ffmpeg's default
# 5 s of stream analysis before the first frame.
FAST_START = ["-probesize", "100000", "-analyzeduration", "200000"]

# The COCO labels behind each feature a camera can have; license plates are read from vehicles.
FEATURE_CLASSES: dict[str, tuple[str, ...]] = {
    "person": ("person",),
    "vehicle": ("car", "truck", "bus", "motorcycle", "bicycle"),
}
FEATURE_OF_LABEL = {label: feature for feature, labels in FEATURE_CLASSES.items() for label in labels}


class StreamEnded(Exception):
    """The camera's stream stopped delivering frames (ffmpeg exited or stalled)."""


@dataclass(frozen=True)
class Frame:
    image: np.ndarray
    ts: float  # wall-clock epoch seconds when the frame arrived
    mono: float  # monotonic arrival time, for latencies
    skipped: int = 0  # frames that arrived after the previous one taken and were dropped for this newer one


def probe_size(url: str) -> tuple[int, int]:
    """(width, height) of the stream's first video track, via ffprobe."""
    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", *FAST_START, "-rtsp_transport", "tcp", "-select_streams", "v:0",
             "-show_entries", "stream=width,height", "-of", "csv=p=0:s=x", url],
            capture_output=True, text=True, timeout=READ_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:  # a camera (or a machine) too busy to answer: the runner retries
        raise StreamEnded(f"ffprobe had no answer in {READ_TIMEOUT_S:.0f} s") from exc
    try:
        width, height = (int(v) for v in out.stdout.strip().splitlines()[0].split("x"))
    except (ValueError, IndexError) as exc:
        raise StreamEnded(f"ffprobe could not read the stream: {mask_credentials(out.stderr.strip())[-300:]}") from exc
    return width, height


def output_size(width: int, height: int) -> tuple[int, int]:
    """The decoded size: the source size, scaled down to MAX_FRAME_WIDTH wide, even numbers."""
    if width > MAX_FRAME_WIDTH:
        height = round(height * MAX_FRAME_WIDTH / width)
        width = MAX_FRAME_WIDTH
    return width - width % 2, height - height % 2


def read_frames(url: str, fps: int, should_stop: Callable[[], bool]) -> Iterator[Frame]:
    """The newest decoded BGR frame of `url` at `fps`, each time the caller asks, until should_stop() (asked at
    least every second).

    Raises StreamEnded when ffmpeg exits or no frame comes for READ_TIMEOUT_S.
    """
    width, height = output_size(*probe_size(url))
    input_args = [*FAST_START, *(["-rtsp_transport", "tcp"] if url.startswith("rtsp") else ["-re"])]
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", *input_args, "-i", url, "-an",
           "-vf", f"fps={fps},scale={width}:{height}", "-pix_fmt", "bgr24", "-f", "rawvideo", "pipe:1"]  # fmt: skip
    # stderr goes to a file: a pipe nobody drains would fill up on a long run and stall ffmpeg.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, bufsize=0)
        newest = NewestFrame()
        drain = threading.Thread(
            target=_drain, args=(proc, (height, width, 3), newest, errors), name=f"frames {proc.pid}", daemon=True
        )
        drain.start()
        try:
            while (frame := newest.take(should_stop)) is not None:
                yield frame
        finally:
            proc.kill()  # the drain thread sees the end of the pipe and returns
            proc.wait()
            drain.join()
            proc.stdout.close()


class NewestFrame:
    """A one-frame mailbox between the thread that drains ffmpeg and the camera's loop.

    A new frame replaces one not yet taken (counted in the next frame's `skipped`): a camera whose loop is
    slower than its fps works on live pictures, and its events carry the time their frame really arrived.
    Left queued in the pipe, frames would reach the loop ever later and ffmpeg would stall on a full pipe.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._frame: Frame | None = None
        self._skipped = 0
        self._error: StreamEnded | None = None

    def put(self, frame: Frame) -> None:
        with self._changed:
            if self._frame is not None:
                self._skipped += 1
            self._frame = frame
            self._changed.notify()

    def fail(self, error: StreamEnded) -> None:
        with self._changed:
            self._error = error
            self._changed.notify()

    def take(self, should_stop: Callable[[], bool]) -> Frame | None:
        """The newest frame not taken yet, waiting for it; None once should_stop(); raises the stream's end."""
        with self._changed:
            while not should_stop():
                if self._frame is not None:
                    frame, self._frame = self._frame, None
                    skipped, self._skipped = self._skipped, 0
                    return replace(frame, skipped=skipped)
                if self._error is not None:
                    raise self._error
                self._changed.wait(1.0)
        return None


def _drain(proc: subprocess.Popen, shape: tuple[int, int, int], newest: NewestFrame, errors: BinaryIO) -> None:
    """Hand each frame ffmpeg writes to `newest` as soon as it is whole, until the stream ends."""
    frame_bytes = shape[0] * shape[1] * shape[2]
    _widen_pipe(proc.stdout.fileno(), frame_bytes)
    try:
        while True:
            image = np.empty(shape, np.uint8)
            _read_frame(proc, memoryview(image.reshape(-1)), errors)
            newest.put(Frame(image=image, ts=time.time(), mono=time.monotonic()))
    except StreamEnded as exc:
        newest.fail(exc)


def _widen_pipe(fd: int, frame_bytes: int) -> None:
    # A 64 KiB pipe takes ~40 wake-ups per 720p frame; up to the system's limit (1 MiB by default) takes 3.
    with contextlib.suppress(OSError):  # the default size works too, only slower
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, min(frame_bytes, int(Path("/proc/sys/fs/pipe-max-size").read_text())))


def _read_frame(proc: subprocess.Popen, into: memoryview, errors: BinaryIO) -> None:
    """Fill `into` with one frame's bytes from ffmpeg's stdout (read in place: a 720p frame copied chunk by chunk
    cost a millisecond); raises StreamEnded when it ends or stalls for READ_TIMEOUT_S."""
    filled = 0
    while filled < len(into):
        ready, _, _ = select.select([proc.stdout], [], [], READ_TIMEOUT_S)
        if not ready:
            raise StreamEnded(f"no frame for {READ_TIMEOUT_S:.0f} s")
        count = proc.stdout.readinto(into[filled:])
        if not count:
            proc.wait()
            errors.seek(0)
            # Masked before it is cut: a cut inside `user:password@` would leave the password unmasked.
            tail = mask_credentials(errors.read().decode(errors="replace"))[-1000:].strip()
            raise StreamEnded(f"ffmpeg stopped: {tail or 'end of stream'}")
        filled += count


class Motion(NamedTuple):
    area: float  # the changed share of the picture
    box: Box  # around all of the change
    boxes: list[Box]  # around each patch of change (fragments a few pixels apart joined)


class MotionGate:
    """Background subtraction (MOG2) on a small grey copy of each frame.

    `update` returns the Motion in frame pixels, or None when the change is below MOTION_MIN_AREA. Shadows are
    ignored, and so is change inside the camera's motion masks (polygons in 0-1 frame coordinates): a swaying tree
    neither wakes the model nor makes motion events. The share is still of the whole picture.
    """

    def __init__(self, masks: list[list[list[float]]] | None = None) -> None:
        self._subtractor = cv2.createBackgroundSubtractorMOG2(history=100, varThreshold=25, detectShadows=True)
        self._kernel = np.ones((3, 3), np.uint8)
        self._masks = masks or []
        self._keep: np.ndarray | None = None  # 1 where change counts, at the small size; None: everywhere

    def set_masks(self, masks: list[list[list[float]]]) -> None:
        self._masks, self._keep = masks or [], None

    def _keep_for(self, shape: tuple[int, int]) -> np.ndarray | None:
        if not self._masks:
            return None
        if self._keep is None or self._keep.shape != shape:
            height, width = shape
            keep = np.ones(shape, np.uint8)
            scale = np.array([width, height], np.float64)
            polygons = [np.round(np.array(points, np.float64) * scale).astype(np.int32) for points in self._masks]
            cv2.fillPoly(keep, polygons, 0)
            self._keep = keep
        return self._keep

    def update(self, image: np.ndarray) -> Motion | None:
        height, width = image.shape[:2]
        scale = MOTION_WIDTH / width
        small = cv2.resize(image, (MOTION_WIDTH, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
        grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        mask = self._subtractor.apply(grey)
        mask = cv2.morphologyEx((mask == 255).astype(np.uint8), cv2.MORPH_OPEN, self._kernel)
        keep = self._keep_for(mask.shape)
        if keep is not None:
            mask &= keep
        area = float(mask.mean())
        if area < MOTION_MIN_AREA:
            return None

        def to_frame(x: int, y: int, w: int, h: int) -> Box:
            return round(x / scale), round(y / scale), round((x + w) / scale), round((y + h) / scale)

        contours, _ = cv2.findContours(cv2.dilate(mask, self._kernel, iterations=2), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)  # fmt: skip
        boxes = [to_frame(*cv2.boundingRect(contour)) for contour in contours]
        return Motion(area, to_frame(*cv2.boundingRect(mask)), boxes)


def _new_tracker() -> Any:
    """ByteTrack as ultralytics configures it for `model.track` (bytetrack.yaml)."""
    # Set before ultralytics is first imported: it reads them at import time.
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    from ultralytics.trackers.byte_tracker import BYTETracker
    from ultralytics.utils import YAML, IterableSimpleNamespace
    from ultralytics.utils.checks import check_yaml

    return BYTETracker(IterableSimpleNamespace(**YAML.load(check_yaml("bytetrack.yaml"))))


class Detector:
    """One camera's detection: the process's shared model, looking where the camera's frame moved, and ByteTrack
    (its state is the camera's own).

    Between full-frame passes (at least every FULL_FRAME_S while there is motion) the model sees only regions
    around the motion (events/detection/regions.py). A track the regions miss (a parked car) is still ByteTrack's
    "lost" track when the next full-frame pass finds it again: its id, and so its event, stay the same.
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        self.version = model.version
        self.class_ids = {name: cid for cid, name in model.names.items()}
        self.tracker = _new_tracker()
        self.tracked: list[Box] = []  # every track ByteTrack holds, new ones too: the next regions cover them
        self.full_frame_mono: float | None = None
        self.regions = self.whole_frames = 0  # what the model was given, counted (for benches and tests)

    def track(self, image: np.ndarray, labels: list[str], motion: list[Box], mono: float) -> list[dict[str, Any]]:
        """Tracked objects of `labels` in this frame, which moved in the `motion` boxes: dicts with track_id,
        label, confidence, box (xyxy)."""
        classes = [self.class_ids[label] for label in labels if label in self.class_ids]
        if not classes:
            return []
        height, width = image.shape[:2]
        views = self._views(image, motion, mono)
        found = Detections.concat(self.model.detect(views))
        found = found[np.isin(found.cls, classes)]
        found = found[nms(found)]  # over all views at once: overlapping regions see the same object twice
        tracks = self.tracker.update(found).reshape(-1, 8)  # (an empty update is shaped (0,))
        # ByteTrack's boxes are its Kalman filter's: clipped to the frame, as ultralytics' results are.
        boxes = np.clip(np.round(tracks[:, :4]), 0, [width, height, width, height]).astype(int).tolist()
        # New tracks too: ByteTrack confirms a track on its next match, so the next regions must cover it.
        self.tracked = [tuple(round(v) for v in track.xyxy) for track in self.tracker.tracked_stracks]
        names = self.model.names
        return [
            {"track_id": int(row[4]), "label": names[int(row[6])], "confidence": float(row[5]), "box": box}
            for row, box in zip(tracks.tolist(), boxes, strict=True)
        ]

    def _views(self, image: np.ndarray, motion: list[Box], mono: float) -> list[View]:
        height, width = image.shape[:2]
        due = self.full_frame_mono is None or mono - self.full_frame_mono >= FULL_FRAME_S
        covers = None if due else regions((height, width), motion, self.tracked)
        if covers is None:
            self.full_frame_mono = mono
            self.whole_frames += 1
            return [View(image, (0, 0, width, height), whole=True)]
        self.regions += len(covers)
        return [View(image, cover) for cover in covers]


def nms(found: Detections) -> list[int]:
    """Indices of the detections left after per-class NMS at ultralytics' IoU (0.7)."""
    boxes = np.column_stack([found.xyxy[:, :2], found.xyxy[:, 2:] - found.xyxy[:, :2]])
    return list(cv2.dnn.NMSBoxesBatched(boxes.tolist(), found.conf.tolist(), found.cls.tolist(), MIN_CONFIDENCE, 0.7))


def load_detector(source: str) -> Detector:
    """A camera's Detector on this process's model for `source`; raises ModelUnavailable."""
    return Detector(load_model(source))

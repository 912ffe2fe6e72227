"""The detector's building blocks: decoded frames from ffmpeg, a motion gate, and the YOLO model.

Frames come from an ffmpeg subprocess (RTSP over TCP -> raw BGR24 on a pipe at the camera's fps, at most
`MAX_FRAME_WIDTH` wide): ffmpeg drops the surplus source frames after decoding, so Python only ever sees the
frames it will use. A thread drains the pipe as frames come; the camera's loop takes the newest, so a loop that
falls behind skips frames instead of working through a growing backlog of old ones. Ultralytics is imported
lazily and offline: nothing is downloaded or installed at run time, and torchvision goes through
`ensure_torchvision` first.

Every camera has its own YOLO object (its predictor holds that stream's ByteTrack state), but an OpenVINO model
on the CPU is compiled once per process and shared by all of them (`SharedOpenVINOModel`).
"""

import contextlib
import fcntl
import functools
import logging
import os
import queue
import select
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import cv2
import numpy as np

from cameras.rtsp import mask_credentials

logger = logging.getLogger(__name__)

MAX_FRAME_WIDTH = 1280
MOTION_WIDTH = 160  # the motion gate works on a small grey copy: cheap and less noisy
MOTION_MIN_AREA = 0.003  # share of the picture that must change to count as motion
READ_TIMEOUT_S = 10.0
# The size comes from the SPS (in the RTSP SDP or the first key frame): no need for ffmpeg's default
# 5 s of stream analysis before the first frame.
FAST_START = ["-probesize", "100000", "-analyzeduration", "200000"]

# The COCO labels behind each feature a camera can have; license plates are read from vehicles.
FEATURE_CLASSES: dict[str, tuple[str, ...]] = {
    "person": ("person",),
    "vehicle": ("car", "truck", "bus", "motorcycle", "bicycle"),
}
FEATURE_OF_LABEL = {label: feature for feature, labels in FEATURE_CLASSES.items() for label in labels}


class ModelUnavailable(Exception):
    """The configured detector model cannot be loaded (missing file, wrong format, missing runtime)."""


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
    out = subprocess.run(
        ["ffprobe", "-v", "error", *FAST_START, "-rtsp_transport", "tcp", "-select_streams", "v:0", "-show_entries",
         "stream=width,height", "-of", "csv=p=0:s=x", url],
        capture_output=True, text=True, timeout=READ_TIMEOUT_S, check=False,
    )  # fmt: skip
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
            data = _read_frame(proc, frame_bytes, errors)
            newest.put(Frame(image=np.frombuffer(data, np.uint8).reshape(shape), ts=time.time(), mono=time.monotonic()))
    except StreamEnded as exc:
        newest.fail(exc)


def _widen_pipe(fd: int, frame_bytes: int) -> None:
    # A 64 KiB pipe takes ~40 wake-ups per 720p frame; up to the system's limit (1 MiB by default) takes 3.
    with contextlib.suppress(OSError):  # the default size works too, only slower
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, min(frame_bytes, int(Path("/proc/sys/fs/pipe-max-size").read_text())))


def _read_frame(proc: subprocess.Popen, size: int, errors: BinaryIO) -> bytearray:
    """One frame's bytes from ffmpeg's stdout; raises StreamEnded when it ends or stalls for READ_TIMEOUT_S."""
    data = bytearray()
    while len(data) < size:
        ready, _, _ = select.select([proc.stdout], [], [], READ_TIMEOUT_S)
        if not ready:
            raise StreamEnded(f"no frame for {READ_TIMEOUT_S:.0f} s")
        chunk = os.read(proc.stdout.fileno(), size - len(data))
        if not chunk:
            proc.wait()
            errors.seek(0)
            tail = errors.read()[-1000:].decode(errors="replace").strip()
            raise StreamEnded(f"ffmpeg stopped: {tail or 'end of stream'}")
        data += chunk
    return data


class MotionGate:
    """Background subtraction (MOG2) on a small grey copy of each frame.

    `update` returns the changed share of the picture and the changed region (x1, y1, x2, y2) in frame
    pixels, or None when the change is below MOTION_MIN_AREA. Shadows are ignored, and so is change inside the
    camera's motion masks (polygons in 0-1 frame coordinates): a swaying tree neither wakes the model nor makes
    motion events. The share is still of the whole picture.
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

    def update(self, image: np.ndarray) -> tuple[float, list[int]] | None:
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
        x, y, w, h = cv2.boundingRect(mask)
        return area, [round(x / scale), round(y / scale), round((x + w) / scale), round((y + h) / scale)]


def _offline_ultralytics() -> None:
    # Must be set before ultralytics is first imported: it reads them at import time.
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    from .torchvision_compat import ensure_torchvision

    ensure_torchvision()


def model_version(source: str, metadata: dict[str, Any] | None) -> str:
    """`<model name>@ultralytics-<export version>`: names both the weights and the exporter."""
    name = Path(source).name or source
    version = (metadata or {}).get("version")
    return f"{name}@ultralytics-{version}" if version else name


@dataclass
class Detector:
    """A loaded YOLO model with its own tracker state (one per camera: ByteTrack state is per stream)."""

    model: Any
    version: str
    class_ids: dict[str, int]  # label -> model class id

    def track(self, image: np.ndarray, labels: list[str]) -> list[dict[str, Any]]:
        """Tracked objects of `labels` in this frame: dicts with track_id, label, confidence, box (xyxy)."""
        classes = [self.class_ids[label] for label in labels if label in self.class_ids]
        if not classes:
            return []
        result = _track(self.model, image, classes=classes)[0]
        boxes = result.boxes
        if boxes is None or boxes.id is None:
            return []
        names = result.names
        return [
            {"track_id": int(tid), "label": names[int(cls)], "confidence": float(cf), "box": [round(v) for v in xyxy]}
            for tid, cls, cf, xyxy in zip(
                boxes.id.tolist(), boxes.cls.tolist(), boxes.conf.tolist(), boxes.xyxy.tolist(), strict=True
            )
        ]


def _track(model: Any, image: np.ndarray, **kwargs: Any) -> list[Any]:
    # ByteTrack wants the low-confidence detections too (its second association pass): conf 0.1, as
    # ultralytics' own default for tracking. The detector applies its own threshold before writing events.
    return model.track(image, persist=True, conf=0.1, tracker="bytetrack.yaml", verbose=False, **kwargs)


class SharedOpenVINOModel:
    """One compiled OpenVINO model for all the cameras of a process, in OpenVINO's THROUGHPUT mode.

    Each camera's model compiled on its own (ultralytics' LATENCY mode, every inference on all cores) makes
    the cameras of one worker fight over the same cores: 8 cameras on 2 cores got 38 frames/s. THROUGHPUT
    splits the cores into streams and runs one inference per stream side by side, and one copy serves them
    all: 50 frames/s. A call borrows one of the streams' infer requests, so any thread may call at once.
    Stands in for ultralytics' `ov_compiled_model`: called with the input array, returns the outputs.
    """

    def __init__(self, xml: Path) -> None:
        import openvino as ov

        core = ov.Core()
        self.compiled = core.compile_model(core.read_model(xml), "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})
        self.streams = self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(self.streams):
            self._idle.put(self.compiled.create_infer_request())

    def __call__(self, inputs: np.ndarray) -> Any:
        request = self._idle.get()
        try:
            return request.infer(inputs)  # outputs are copied out (share_outputs=False): safe after put()
        finally:
            self._idle.put(request)


@functools.cache
def shared_openvino_model(xml: Path) -> SharedOpenVINOModel:
    model = SharedOpenVINOModel(xml)
    # ultralytics has just logged its own LATENCY-mode copy, which this one replaces.
    logger.info("%s: one OpenVINO THROUGHPUT model, %d streams, for every camera of this worker", xml, model.streams)
    return model


def _share_compiled_model(model: Any, source: str) -> None:
    """Swap a freshly loaded OpenVINO CPU model for this process's shared one; other formats stay as loaded."""
    backend = model.predictor.model
    if backend.format != "openvino":
        return
    openvino = backend.backend
    # With read_model set, ultralytics recompiles the model for each new input shape (dynamic INT8 models on
    # AMX CPUs): it keeps its own. So does a model on another device than the CPU.
    if openvino.read_model is not None or openvino.ov_compiled_model.get_property("EXECUTION_DEVICES") != ["CPU"]:
        return
    xml = Path(source) if Path(source).is_file() else next(Path(source).glob("*.xml"))
    openvino.ov_compiled_model = shared_openvino_model(xml.resolve())


# Cameras of a worker start together: one at a time loads, so the shared model is compiled once.
_load_lock = threading.Lock()


def load_detector(source: str) -> Detector:
    """Load `source` (any format ultralytics reads) and run it once; raises ModelUnavailable."""
    _offline_ultralytics()
    from ultralytics import YOLO

    try:
        with _load_lock:
            model = YOLO(source, task="detect")
            _track(model, np.zeros((64, 64, 3), np.uint8))  # load the runtime and tracker now, not on frame 1
            model.predictor.trackers[0].reset()
            _share_compiled_model(model, source)
    except Exception as exc:  # ultralytics raises many types (FileNotFoundError, ImportError, RuntimeError...)
        raise ModelUnavailable(f"detector model {source!r} cannot be loaded: {exc.__class__.__name__}: {exc}") from exc
    metadata = getattr(model.predictor.model, "metadata", None) if model.predictor else None
    class_ids = {name: cid for cid, name in model.names.items()}
    return Detector(model=model, version=model_version(source, metadata), class_ids=class_ids)

"""The detector model: one compiled OpenVINO model per process, fed mosaics of views from all its cameras.

The exported YOLO models take a fixed 640x640 input (YOLO11's attention block pins its shape: OpenVINO cannot
reshape it to 320x320), but a region around motion needs only 320x320 to show what moved in full detail. So an
inference carries a mosaic of four quarters: a region of some camera's frame takes a quarter (its square crop
scaled to 320x320), a whole frame takes a half (letterboxed into 640x320). Views waiting when one of the model's
infer requests frees up share its mosaic, whichever cameras they come from: under load mosaics fill and a region
costs a quarter of an inference; with little to do a view goes at once, in a mosaic of its own, and costs a whole
one. The cameras' threads only wait; the infer requests' threads compose, infer and decode.

Each detection goes back to the view whose place in the mosaic holds its centre, clipped to that place, in the
frame's pixels. No NMS here: a camera's views may overlap, so it suppresses duplicates over all of them at once.
"""

import functools
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

logger = logging.getLogger(__name__)

INPUT = 640  # the exported models' input: 640x640
QUARTER = INPUT // 2
FILL = 114  # ultralytics' letterbox grey, what the model saw around its training images
MIN_CONFIDENCE = 0.1  # ByteTrack's second association wants the weak detections too (ultralytics' tracking default)
Box = tuple[int, int, int, int]  # x1, y1, x2, y2 in a frame's pixels


class ModelUnavailable(Exception):
    """The configured detector model cannot be loaded (missing file, wrong format, missing runtime)."""


@dataclass(frozen=True)
class View:
    """A part of a frame to detect in: a square region (a quarter of a mosaic) or, `whole`, the frame (a half)."""

    image: np.ndarray
    box: Box
    whole: bool = False


@dataclass(frozen=True)
class Detections:
    """Detections in a frame's pixels, in the shape ultralytics' trackers take (conf, cls, xywh, masks)."""

    xyxy: np.ndarray  # (n, 4) float32
    conf: np.ndarray  # (n,) float32
    cls: np.ndarray  # (n,) int

    @classmethod
    def concat(cls, parts: list["Detections"]) -> "Detections":
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("xyxy", "conf", "cls")))

    @property
    def xywh(self) -> np.ndarray:
        return np.column_stack([(self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2, self.xyxy[:, 2:] - self.xyxy[:, :2]])

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index: Any) -> "Detections":
        return Detections(self.xyxy[index], self.conf[index], self.cls[index])


@dataclass
class _Job:
    view: View
    done: threading.Event = field(default_factory=threading.Event)
    result: Detections | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class _Placed:
    """Where a job's view went in the mosaic: its place (x, y, width, height) and the scale from frame pixels."""

    job: _Job
    place: Box
    scale: float


class Model:
    """The compiled model and the threads that serve it; `detect` may be called from any thread at once."""

    def __init__(self, xml: Path) -> None:
        import openvino as ov

        core = ov.Core()
        network = core.read_model(xml)
        shape = list(network.inputs[0].get_partial_shape().to_shape())
        if shape != [1, 3, INPUT, INPUT]:
            raise ModelUnavailable(f"{xml}: input {shape}, expected [1, 3, {INPUT}, {INPUT}]")
        metadata = yaml.safe_load((xml.parent / "metadata.yaml").read_text())
        self.names: dict[int, str] = {int(k): v for k, v in metadata["names"].items()}
        self.version = model_version(str(xml.parent), metadata)
        compiled = core.compile_model(_taking_bgr_bytes(network), "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})
        # As many requests as OpenVINO runs at once, no more: views wait while they all run, so the next
        # mosaic fills (more requests would each take fewer views, at the same cost per inference).
        self.requests = compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
        self._waiting: deque[_Job] = deque()
        self._changed = threading.Condition()
        for index in range(self.requests):
            request = compiled.create_infer_request()
            threading.Thread(target=self._serve, args=(request,), name=f"model {index}", daemon=True).start()

    def detect(self, views: list[View]) -> list[Detections]:
        """The detections of each view (waits for all of them)."""
        jobs = [_Job(view) for view in views]
        with self._changed:
            self._waiting.extend(jobs)
            self._changed.notify_all()
        for job in jobs:
            job.done.wait()
            if job.error is not None:
                raise job.error
        return [job.result for job in jobs]

    def _serve(self, request: Any) -> None:
        mosaic = np.empty((1, INPUT, INPUT, 3), np.uint8)
        while True:
            with self._changed:
                while not self._waiting:
                    self._changed.wait()
                placed = self._pack()
            try:
                mosaic[:] = FILL
                for item in placed:
                    _paste(mosaic[0], item)
                request.infer({0: mosaic})
                _hand_back(request.get_output_tensor(0).data[0], placed)
            except Exception as exc:  # the waiting cameras raise it; this thread serves on
                for item in placed:
                    item.job.error = exc
            for item in placed:
                item.job.done.set()

    def _pack(self) -> list[_Placed]:
        """Take the waiting views that fit one mosaic, oldest first: a whole frame in a free half, a region in the
        first free quarter. Called with the lock held and at least one view waiting."""
        free = [True] * 4  # quarters: top left, top right, bottom left, bottom right
        placed, left = [], deque()
        while self._waiting:
            job = self._waiting.popleft()
            if job.view.whole:
                half = next((h for h in (0, 1) if free[2 * h] and free[2 * h + 1]), None)
                if half is None:
                    left.append(job)
                    continue
                free[2 * half] = free[2 * half + 1] = False
                place = (0, half * QUARTER, INPUT, QUARTER)
            else:
                quarter = next((q for q in range(4) if free[q]), None)
                if quarter is None:
                    left.append(job)
                    continue
                free[quarter] = False
                place = ((quarter % 2) * QUARTER, (quarter // 2) * QUARTER, QUARTER, QUARTER)
            x1, y1, x2, y2 = job.view.box
            placed.append(_Placed(job, place, min(place[2] / (x2 - x1), place[3] / (y2 - y1))))
            if not any(free):
                break
        self._waiting.extendleft(reversed(left))
        return placed


def _paste(mosaic: np.ndarray, item: _Placed) -> None:
    x1, y1, x2, y2 = item.job.view.box
    width, height = round((x2 - x1) * item.scale), round((y2 - y1) * item.scale)
    crop = item.job.view.image[y1:y2, x1:x2]
    px, py = item.place[:2]
    # INTER_LINEAR as ultralytics' letterbox (INTER_AREA costs 8 times as much on a whole frame).
    mosaic[py : py + height, px : px + width] = cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)


def _taking_bgr_bytes(network: Any) -> Any:
    """The network with its input preprocessing built in: it takes the mosaic as it is (BGR bytes, rows of
    pixels) and makes the RGB floats in 0-1, channels first, that YOLO wants, on OpenVINO's threads."""
    import openvino as ov
    from openvino.preprocess import ColorFormat, PrePostProcessor

    steps = PrePostProcessor(network)
    steps.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")).set_color_format(ColorFormat.BGR)
    steps.input().model().set_layout(ov.Layout("NCHW"))
    steps.input().preprocess().convert_element_type(ov.Type.f32).convert_color(ColorFormat.RGB).scale(255.0)
    return steps.build()


def _hand_back(output: np.ndarray, placed: list[_Placed]) -> None:
    """Split the model's output (84 x anchors: centre x, y, width, height, then a score per class) among the views
    whose place holds each detection's centre, mapped back to their frame's pixels."""
    scores = output[4:]
    cls = scores.argmax(0)
    conf = scores[cls, np.arange(scores.shape[1])]
    keep = conf >= MIN_CONFIDENCE
    centre, size, conf, cls = output[:2, keep].T, output[2:4, keep].T, conf[keep], cls[keep]
    corners = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    for item in placed:
        px, py = item.place[:2]
        x1, y1, x2, y2 = item.job.view.box
        # Within the view's pixels in the mosaic (a letterboxed frame leaves grey at its right).
        right, bottom = px + (x2 - x1) * item.scale, py + (y2 - y1) * item.scale
        mine = (centre[:, 0] >= px) & (centre[:, 0] < right) & (centre[:, 1] >= py) & (centre[:, 1] < bottom)
        boxes = np.clip(corners[mine], [px, py, px, py], [right, bottom, right, bottom])
        boxes = (boxes - [px, py, px, py]) / item.scale + [x1, y1, x1, y1]
        item.job.result = Detections(boxes.astype(np.float32), conf[mine], cls[mine])


def model_version(source: str, metadata: dict[str, Any] | None) -> str:
    """`<model name>@ultralytics-<export version>`: names both the weights and the exporter."""
    name = Path(source).name or source
    version = (metadata or {}).get("version")
    return f"{name}@ultralytics-{version}" if version else name


def model_xml(source: str) -> Path:
    """The OpenVINO IR of `source` (an export directory or its .xml); raises ModelUnavailable."""
    path = Path(source)
    found = [path] if path.suffix == ".xml" and path.is_file() else sorted(path.glob("*.xml")) if path.is_dir() else []
    if not found:
        raise ModelUnavailable(f"detector model {source!r} cannot be loaded: no OpenVINO IR (.xml) there")
    return found[0].resolve()


_load_lock = threading.Lock()


def load_model(source: str) -> Model:
    """This process's model for `source`, compiled on first use; raises ModelUnavailable."""
    xml = model_xml(source)
    with _load_lock:  # the cameras of a worker start together: the model is compiled once
        return _compiled(xml)


@functools.cache
def _compiled(xml: Path) -> Model:
    try:
        model = Model(xml)
    except ModelUnavailable:
        raise
    except Exception as exc:  # OpenVINO and yaml raise many types (RuntimeError, OSError, KeyError...)
        problem = f"{exc.__class__.__name__}: {exc}"
        raise ModelUnavailable(f"detector model {str(xml)!r} cannot be loaded: {problem}") from exc
    logger.info("%s: compiled for every camera of this worker, %d infer requests", xml, model.requests)
    return model

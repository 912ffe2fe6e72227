"""The `detect` pipeline of a camera: decode at the camera's fps -> motion gate -> YOLO + ByteTrack -> events.

It decodes the camera's substream when it has one (`detect_url`): boxes are in the pixels of the frames it
decodes, with their size in the payload's `frame`, so in 0-1 of the picture they are the main stream's too.
The model looks at regions around the motion, or at the whole frame (events/detection/vision.py's Detector).

One event per tracked object. A track's event is written once, as soon as ByteTrack has returned the track in
CONFIRM_HITS frames (ByteTrack returns a track once two frames in a row detected it, so a passing glimpse makes no
event) and one of them passed the camera's aim (events/detection/aim.py: outside object masks, within the label's
filters, by default a score of at least 0.5, and inside a required zone when the label has any), with the best of
those frames: highest confidence, its box and a snapshot JPEG. Later frames do not change a written event. Its `ts`
is the frame where the track was first seen; it names the zones the track entered and is an alert or a detection
(cameras.aim.is_alert). A track crossing one of the camera's lines in its direction gives one `line_crossing` event
per line, with the frame of crossing. Both carry the object's colours (`attributes`), named once from the best
frame's crop (events/detection/colors.py). Every AIM_POLL_S the detector reads the camera's aim again and applies a
change without reloading the model. Vehicles of a camera with `license_plate` get one OCR pass on that best frame's
crop; a readable plate becomes its own `license_plate` event. With `motion`, each motion episode (motion after at
least MOTION_QUIET_S without any) is one `motion` event.

When the model cannot be loaded the runner reports it (pipeline state + log) and carries on with motion
events only; recording is a separate pipeline and is not affected. A camera whose detector cannot keep up
with its fps works on the newest frame and skips the others; that is reported the same way, once a minute. Past
a node's capacity every camera slows alike (the model serves views oldest first) and none loses its stream.
"""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import cv2
import numpy as np
from django.conf import settings

from cameras.aim import AIM_FIELDS
from cameras.models import Camera
from cameras.pipeline import supervisor
from playback.paths import new_snapshot, recordings_path
from playback.storage import upload_soon

from ..services import create_event
from .aim import Aim, LineState, ZoneMembership, bottom_centre, box_area
from .colors import attributes
from .model import Box, ModelUnavailable
from .plates import read_plate
from .vision import (
    FEATURE_CLASSES,
    FEATURE_OF_LABEL,
    Detector,
    Frame,
    MotionGate,
    load_detector,
    read_frames,
)

logger = logging.getLogger(__name__)

CONFIRM_HITS = 1  # ByteTrack's own confirmation (two frames) is enough: a third would add a frame's wait
AIM_POLL_S = 5.0  # how often a running detector reads its camera's aim again
MOTION_QUIET_S = 10.0
TRACK_FORGET_S = 60.0  # a track unseen this long is dropped (ByteTrack has long forgotten it too)
PLATE_FEATURE = "license_plate"
PLATE_LABELS = frozenset({"car", "truck", "bus", "motorcycle"})
PLATE_MIN_VEHICLE_PX = 48
JPEG_QUALITY = 85
HEALTH_WINDOW_S = 60.0
BEHIND_SKIPPED_SHARE = 0.05  # a detector skipping more of its camera's frames than this is falling behind

EmitEvent = Callable[..., Any]
ReportProblem = Callable[[str], None]


@dataclass
class Track:
    """What the detector knows of one ByteTrack track: hits, best detection so far, whether it was emitted."""

    track_id: int
    label: str
    first_ts: float
    first_mono: float
    last_mono: float
    hits: int = 0
    confidence: float = 0.0
    box: list[int] = field(default_factory=list)
    image: np.ndarray | None = None  # the best frame, kept until the event is written
    emitted: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)  # its colours, from the best frame: for its crossings
    zones: ZoneMembership = field(default_factory=ZoneMembership)
    lines: LineState = field(default_factory=LineState)
    # Crossings seen before the track's event could be written, each with its frame: written with it.
    pending: list[tuple[dict[str, Any], float, np.ndarray, float]] = field(default_factory=list)


def detect_labels(features: list[str]) -> list[str]:
    """The COCO labels YOLO must look for, given a camera's features (plates need vehicles)."""
    wanted = set(features)
    if PLATE_FEATURE in wanted:
        wanted.add("vehicle")
    return [label for feature in FEATURE_CLASSES if feature in wanted for label in FEATURE_CLASSES[feature]]


class CameraDetector:
    """The per-frame logic of one camera's detector, independent of where frames come from."""

    def __init__(self, camera: Camera, detector: Detector | None, emit: EmitEvent = create_event) -> None:
        self.camera = camera
        self.detector = detector
        self.emit = emit
        self.labels = detect_labels(camera.features) if detector else []
        self.motion_events = "motion" in camera.features
        self.aim = Aim.of(camera)
        self.gate = MotionGate(self.aim.motion_masks)
        self.aim_checked: float | None = None
        # Keyed by (track_id, label): ByteTrack may hand a lost track's id to an object of another class.
        self.tracks: dict[tuple[int, str], Track] = {}
        self.last_motion_mono: float | None = None
        self.last_snapshot_ms = 0
        self.frames = self.inferences = 0

    def process(self, frame: Frame) -> None:
        self.frames += 1
        self._poll_aim(frame.mono)
        motion = self.gate.update(frame.image)
        if motion is None:
            return
        if self.motion_events:
            self._motion(frame, motion.area, motion.box)
        self.last_motion_mono = frame.mono
        if self.labels:
            self.inferences += 1
            for obj in self.detector.track(frame.image, self.labels, motion.boxes, frame.mono):
                self._observe(frame, obj)
        self._forget(frame.mono)

    def _motion(self, frame: Frame, area: float, box: Box) -> None:
        if self.last_motion_mono is not None and frame.mono - self.last_motion_mono < MOTION_QUIET_S:
            return  # same episode
        payload = {"boxes": [list(box)], "area": round(area, 4)}
        self._write("motion", min(1.0, area * 10), payload, frame.image, frame.ts, model_version="mog2")

    def _poll_aim(self, now: float) -> None:
        """Every AIM_POLL_S, read the camera's aim fields; recompile the rules when they changed."""
        if self.camera.pk is None or (self.aim_checked is not None and now - self.aim_checked < AIM_POLL_S):
            return
        self.aim_checked = now
        try:
            row = Camera.objects.filter(pk=self.camera.pk).values(*AIM_FIELDS).first()
        except Exception:  # a database hiccup keeps the rules in force; the next poll tries again
            logger.exception("camera %s: cannot read its aim", self.camera)
            return
        if row is None or row == self.aim.source:
            return
        for name, value in row.items():
            setattr(self.camera, name, value)
        self.aim = Aim.of(self.camera)
        self.gate.set_masks(self.aim.motion_masks)
        logger.info("camera %s: aim changed, rules recompiled", self.camera)

    def _observe(self, frame: Frame, obj: dict[str, Any]) -> None:
        key = (obj["track_id"], obj["label"])
        track = self.tracks.get(key)
        if track is None:
            track = self.tracks[key] = Track(obj["track_id"], obj["label"], frame.ts, frame.mono, frame.mono)
        track.hits += 1
        track.last_mono = frame.mono
        feature = FEATURE_OF_LABEL[track.label]
        height, width = frame.image.shape[:2]
        point = bottom_centre(obj["box"], width, height)
        aim = self.aim
        if aim.masked(feature, point):
            return  # as if not seen here: no event, no zone, no crossing
        here = aim.zones_at(feature, point)
        if track.label in PLATE_LABELS and PLATE_FEATURE in self.camera.features:
            here |= aim.zones_at(PLATE_FEATURE, point)  # its plate is where it is
        track.zones.update(here)
        for line, direction in track.lines.move(aim.lines_for(feature), point):
            # The label of a crossing is the feature (what lines and counts are by); tags keep the class.
            payload = {"line": line.name, "direction": direction, "label": feature, "track_id": track.track_id,
                       "boxes": [obj["box"]]}  # fmt: skip
            track.pending.append((payload, obj["confidence"], frame.image, frame.ts))
        if not track.emitted:
            required = aim.required(feature)
            counts = aim.passes(feature, obj["confidence"], box_area(obj["box"], width, height)) and (
                not required or bool(required & here & track.zones.inside)
            )
            if counts and obj["confidence"] > track.confidence:
                track.confidence, track.box, track.image = obj["confidence"], obj["box"], frame.image
            if track.hits >= CONFIRM_HITS and track.box:
                self._emit_track(track)
        if track.emitted:
            self._write_crossings(track)

    def _emit_track(self, track: Track) -> None:
        feature = FEATURE_OF_LABEL[track.label]
        x1, y1, x2, y2 = track.box
        track.attributes = attributes(track.image[y1:y2, x1:x2], track.label)
        payload = {"track_id": track.track_id, "label": track.label, "boxes": [track.box],
                   "attributes": track.attributes}  # fmt: skip
        payload |= self._zones(track, feature)
        if feature in self.camera.features:
            self._write(feature, track.confidence, payload, track.image, track.first_ts, tags=[track.label],
                        severity=self.aim.severity(feature, track.zones.entered))  # fmt: skip
        if PLATE_FEATURE in self.camera.features and track.label in PLATE_LABELS:
            self._read_plate(track)
        track.emitted, track.image = True, None

    def _zones(self, track: Track, label: str) -> dict[str, Any]:
        """The payload's `zones` (only when the camera has zones)."""
        return {"zones": self.aim.zone_names(label, track.zones.entered)} if self.aim.zones else {}

    def _write_crossings(self, track: Track) -> None:
        feature = FEATURE_OF_LABEL[track.label]
        for payload, confidence, image, ts in track.pending:
            crossing = {**payload, **self._zones(track, feature), "attributes": track.attributes}
            self._write("line_crossing", confidence, crossing, image, ts,
                        tags=[track.label], severity=self.aim.severity(feature, track.zones.entered))  # fmt: skip
        track.pending.clear()

    def _read_plate(self, track: Track) -> None:
        x1, y1, x2, y2 = track.box
        if min(x2 - x1, y2 - y1) < PLATE_MIN_VEHICLE_PX:
            return  # too small to hold legible characters
        height, width = track.image.shape[:2]
        # The plate follows its vehicle: placed where the vehicle stands, in the zones it entered.
        if self.aim.masked(PLATE_FEATURE, bottom_centre(track.box, width, height)):
            return
        required = self.aim.required(PLATE_FEATURE)
        if required and not required & track.zones.entered:
            return
        plate = read_plate(track.image[y1:y2, x1:x2])
        if plate is None:
            return
        box = [plate.box[0] + x1, plate.box[1] + y1, plate.box[2] + x1, plate.box[3] + y1]
        limits = self.aim.filters.get(PLATE_FEATURE, {})
        if not (
            plate.confidence >= limits.get("min_score", 0)
            and limits.get("min_area", 0) <= box_area(box, width, height) <= limits.get("max_area", 1)
        ):
            return
        payload = {"track_id": track.track_id, "label": track.label, "boxes": [box], "vehicle_box": track.box,
                   "text": plate.text, "plate": plate.normalized, **self._zones(track, PLATE_FEATURE)}  # fmt: skip
        version = f"{self.detector.version}+rapidocr"
        self._write(PLATE_FEATURE, plate.confidence, payload, track.image, track.first_ts, [plate.normalized], version,
                    severity=self.aim.severity(PLATE_FEATURE, track.zones.entered))  # fmt: skip

    def _forget(self, now: float) -> None:
        for key in [key for key, t in self.tracks.items() if now - t.last_mono > TRACK_FORGET_S]:
            del self.tracks[key]

    def _write(
        self,
        type_: str,
        confidence: float,
        payload: dict[str, Any],
        image: np.ndarray,
        ts: float,
        tags: list[str] | None = None,
        model_version: str | None = None,
        severity: str | None = None,
    ) -> None:
        when = datetime.fromtimestamp(ts, UTC)
        # Snapshots are named by millisecond: objects first seen in the same frame must not share a file.
        self.last_snapshot_ms = max(int(ts * 1000), self.last_snapshot_ms + 1)
        # +500 µs: new_snapshot truncates float milliseconds, this keeps it on the intended one.
        seconds, millis = divmod(self.last_snapshot_ms, 1000)
        snapshot_ts = datetime.fromtimestamp(seconds, UTC).replace(microsecond=millis * 1000 + 500)
        snapshot = new_snapshot(self.camera.tenant_id, self.camera.slug, snapshot_ts)
        path = recordings_path(snapshot)
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if ok:
            path.write_bytes(jpeg.tobytes())
        height, width = image.shape[:2]
        self.emit(
            tenant=self.camera.tenant,
            camera_id=self.camera.slug,
            type=type_,
            confidence=round(float(confidence), 4),
            payload={**payload, "frame": {"width": width, "height": height}},
            snapshot=snapshot if ok else "",
            trace_id=str(uuid.uuid4()),
            model_version=model_version or self.detector.version,
            severity=severity or self.aim.severity(type_, ()),
            ts=when,
            tags=tags or [],
        )
        if ok:  # after the event counted its bytes
            upload_soon(snapshot, path, "image/jpeg")


class Health:
    """What operators see of a running detector (its pipeline state's detail): a model that cannot be loaded,
    and, per minute, whether it keeps up with its camera's fps."""

    def __init__(self, camera: Camera, report: ReportProblem) -> None:
        self.camera = camera
        self.report = report
        self.model_problem = self.behind = ""
        self.window_start: float | None = None
        self.frames = self.skipped = 0

    def model_unavailable(self, problem: str) -> None:
        self.model_problem = problem
        self._publish()

    def count(self, frame: Frame) -> None:
        """Count a frame the detector took; at the end of each window, report a change of whether it kept up."""
        if self.window_start is None:
            self.window_start = frame.mono
        self.frames += 1
        self.skipped += frame.skipped
        elapsed = frame.mono - self.window_start
        if elapsed < HEALTH_WINDOW_S:
            return
        behind = ""
        if self.skipped > BEHIND_SKIPPED_SHARE * (self.frames + self.skipped):
            behind = (
                f"falling behind: analysed {self.frames / elapsed:.1f} of {self.camera.fps} fps over the last "
                f"{elapsed:.0f} s, skipping {self.skipped} frames to stay live"
            )
            logger.warning("camera %s: detector %s", self.camera, behind)
        if behind != self.behind:
            self.behind = behind
            self._publish()
        self.window_start, self.frames, self.skipped = frame.mono, 0, 0

    def _publish(self) -> None:
        self.report("; ".join(problem for problem in (self.model_problem, self.behind) if problem))


def open_detector(camera: Camera, report_problem: ReportProblem) -> Detector | None:
    """The camera's model, or None (reported) when the camera needs one that cannot be loaded."""
    if not detect_labels(camera.features):
        return None
    try:
        return load_detector(settings.VMS_DETECTOR_MODEL)
    except ModelUnavailable as exc:
        logger.error("camera %s: %s; motion events only", camera, exc)
        report_problem(f"{exc}; object detection is off, motion events go on")
        return None


def run(camera: Camera, should_stop: Callable[[], bool], emit: EmitEvent = create_event) -> None:
    """The `detect` runner: returns once should_stop() is true; raises StreamEnded when the stream fails."""
    health = Health(camera, partial(supervisor.report, camera, "detect"))
    camera_detector = CameraDetector(camera, open_detector(camera, health.model_unavailable), emit)
    if not camera_detector.labels and not camera_detector.motion_events:
        while not should_stop():  # nothing to look for: hold the lease quietly
            time.sleep(0.5)
        return
    for frame in read_frames(camera.detect_source, camera.fps, should_stop):
        camera_detector.process(frame)
        health.count(frame)

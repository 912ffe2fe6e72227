"""Detector capacity on the real RTSP demo stream, each figure beside the model's own speed in the same run.

1. The model's own: 640x640 inferences back to back with all its infer requests busy, in frames per CPU-second
   (the baseline of every capacity figure); then whole frames (two a mosaic) and regions (four a mosaic) through
   the shared model from 8 threads, CPU per view.
2. Per frame, one camera: the pipeline (motion gate, regions, model, ByteTrack, track bookkeeping, snapshot
   JPEGs; events to an in-memory sink) on frames from the stream, without aim and with AIM (4 zones, 2 masks,
   2 lines, filters), against the model alone on each whole frame; then the CPU per frame of the aim's parts.
3. Recall: two loops of the demo clip at 5 fps through the pipeline (regions) and through full-frame detection
   (each frame alone in the whole 640x640 input, as before regions): events per type, and bus events.
4. Live: N cameras at 5 fps each at once (ffmpeg decode included: CPU of this process and its ffmpeg children
   over a window once all run); a camera "keeps up" when it analyses >= 95 % of its frames (a slower one skips
   frames to stay live). On the RTSP demo's main stream (1280x720), which moves all the time, so the motion gate
   never skips a frame; on its 640x360 substream (a camera's `detect_url`); and on a clip with motion half of
   the time (still 10 s, moving 10 s), at both sizes, the cameras spread over its cycle as the cameras of a site
   are. Frames per CPU-second are set against the model's own from 1.
5. Overload: 1.5 x the most cameras that all kept up, on each demo stream: the slowest camera's analysed fps and
   streams lost (a stream must never end because the CPU is busy).
6. Latency (live runs): from a track's first frame to its event being handed to the sink, over the tracks written
   on their confirming frames, and over all tracks (the others waited for a detection of DEFAULT_MIN_SCORE).

    DEBUG=1 .venv/bin/python bench/detect.py [seconds per live run] [camera counts, e.g. 8,16,20,24]
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import cv2
import django
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vms.settings")
django.setup()

from django.conf import settings  # noqa: E402

from bench.cpu import ffmpeg_children, proc_cpu  # noqa: E402
from cameras.models import Camera  # noqa: E402
from events.detection import model as shared  # noqa: E402
from events.detection.aim import DEFAULT_MIN_SCORE, LineState, ZoneMembership, bottom_centre  # noqa: E402
from events.detection.detector import CONFIRM_HITS, CameraDetector, Track  # noqa: E402
from events.detection.model import View, load_model  # noqa: E402
from events.detection.vision import (  # noqa: E402
    FEATURE_OF_LABEL,
    Detector,
    Frame,
    MotionGate,
    StreamEnded,
    load_detector,
    read_frames,
)
from tenants.models import Tenant  # noqa: E402
from tests.rtsp_camera import RtspCamera  # noqa: E402
from tests.shared import DEMO_CLIP  # noqa: E402

FPS = 5
LIVE_WARMUP_S = 5  # after the last camera started: its ffmpeg connected, the first frames through
FEATURES = ["person", "vehicle", "motion"]
# A busy camera's aim: 4 zones (one required, one alert), an object and a motion mask, 2 lines, filters.
AIM = {
    "zones": [
        {"name": "left", "points": [[0, 0.4], [0.3, 0.4], [0.3, 1], [0, 1]]},
        {"name": "middle", "points": [[0.25, 0.5], [0.6, 0.45], [0.75, 1], [0.2, 1]], "alert": True},
        {"name": "right", "points": [[0.6, 0.4], [1, 0.4], [1, 1], [0.7, 1], [0.65, 0.8]]},
        {"name": "street", "points": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]], "required": True},
    ],
    "masks": [
        {"name": "sky", "points": [[0, 0], [1, 0], [1, 0.15], [0, 0.2]], "kind": "object"},
        {"name": "sign", "points": [[0.85, 0.05], [0.98, 0.05], [0.98, 0.3], [0.85, 0.3]], "kind": "motion"},
    ],
    "filters": {"person": {"min_score": 0.45, "min_area": 0.002}, "vehicle": {"min_area": 0.01, "max_area": 0.9}},
    "lines": [
        {"name": "crossing", "a": [0.5, 0.7], "b": [0.5, 0.95], "direction": "both"},
        {"name": "kerb", "a": [0.1, 0.75], "b": [0.9, 0.75], "direction": "a_to_b", "labels": ["person"]},
    ],
}
CORES = os.cpu_count() or 1
# 10 s of the demo's first frame held still, then its first 10 s of movement, at 10 fps with 2 s GOPs.
HALF_STILL_FILTER = (
    "[0:v]trim=end_frame=1,loop=loop=99:size=1:start=0,setpts=N/10/TB[still];"
    "[0:v]trim=end=10,setpts=PTS-STARTPTS[moving];[still][moving]concat=n=2:v=1:a=0,fps=10,scale={width}:-2[v]"
)


def half_still_clip(folder: Path, repeats: int, width: int) -> str:
    """A clip `width` wide with motion half of the time (still 10 s / moving 10 s, `repeats` times), read like a
    camera."""
    part, listing, clip = folder / f"half-{width}.mp4", folder / "half.txt", folder / f"half-still-{width}.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", DEMO_CLIP, "-filter_complex",
                    HALF_STILL_FILTER.format(width=width), "-map", "[v]",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "20", "-pix_fmt", "yuv420p", str(part)],
                   check=True)  # fmt: skip
    listing.write_text(f"file '{part}'\n" * repeats)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(clip)], check=True)  # fmt: skip
    return str(clip)


def cpu_seconds() -> float:
    """CPU time of this process and of its running ffmpeg children (the decoders)."""
    return time.process_time() + sum(proc_cpu(pid) for pid in ffmpeg_children())


def grab(url: str, count: int) -> list:
    frames = []
    for frame in read_frames(url, FPS, lambda: len(frames) >= count):
        frames.append(frame)
    return frames


def camera(url: str, slug: str, aim: dict | None = None) -> Camera:
    return Camera(tenant=Tenant(id="bench"), slug=slug, rtsp_url=url, fps=FPS, features=FEATURES, **(aim or {}))


class RecordingDetector(CameraDetector):
    """Keeps what the model returned for each frame it ran on, and the model's CPU seconds."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[tuple[int, int], list[dict]]] = []
        self.model_cpu = 0.0
        track = self.detector.track

        def recorded(image, *args):
            cpu = time.process_time()
            objects = track(image, *args)
            self.model_cpu += time.process_time() - cpu
            self.seen.append((image.shape[:2], objects))
            return objects

        self.detector.track = recorded


def whole(image: np.ndarray) -> View:
    return View(image, (0, 0, image.shape[1], image.shape[0]), whole=True)


def raw_and_pipeline_fps(url: str, frames: list) -> tuple[float, float, float, RecordingDetector]:
    """Frames per second of the model alone on each whole frame, of the pipeline's per-frame path without aim
    and with AIM, on the same frames; and the aimed pipeline (what its model saw, for aim_cpu).

    Interleaved frame by frame (on the one shared model), so load from elsewhere hits all alike.
    """
    model = load_model(settings.VMS_DETECTOR_MODEL)
    plain = CameraDetector(camera(url, "offline"), load_detector(settings.VMS_DETECTOR_MODEL), emit=lambda **_: None)
    aimed = RecordingDetector(camera(url, "aimed", AIM), load_detector(settings.VMS_DETECTOR_MODEL),
                              emit=lambda **_: None)  # fmt: skip
    model.detect([whole(frames[0].image)])
    raw_s = plain_s = aimed_s = 0.0
    for frame in frames:
        start = time.perf_counter()
        model.detect([whole(frame.image)])
        raw_done = time.perf_counter()
        plain.process(frame)
        plain_done = time.perf_counter()
        aimed.process(frame)
        aimed_s += time.perf_counter() - plain_done
        plain_s += plain_done - raw_done
        raw_s += raw_done - start
    return len(frames) / raw_s, len(frames) / plain_s, len(frames) / aimed_s, aimed


def aim_cpu(pipeline: RecordingDetector, frames: list, repeats: int = 20) -> dict[str, float]:
    """CPU milliseconds per frame of each part of the aim, replayed `repeats` times on the objects the model found
    in each frame (as the detector applies them: per object, its track's zones and lines), and the model's own."""
    aim = pipeline.aim
    placed = [
        [(FEATURE_OF_LABEL[o["label"]], o["track_id"], bottom_centre(o["box"], w, h)) for o in objects]
        for (h, w), objects in pipeline.seen
    ]
    count = len(placed) * repeats

    def timed(step) -> float:
        cpu = time.process_time()
        for _ in range(repeats):
            step()
        return (time.process_time() - cpu) / count * 1000

    def masks() -> None:
        for objects in placed:
            for label, _, point in objects:
                aim.masked(label, point)

    def zones() -> None:
        memberships: dict[int, ZoneMembership] = {}
        for objects in placed:
            for label, track_id, point in objects:
                memberships.setdefault(track_id, ZoneMembership()).update(aim.zones_at(label, point))
                aim.required(label)

    def lines() -> None:
        states: dict[int, LineState] = {}
        for objects in placed:
            for label, track_id, point in objects:
                states.setdefault(track_id, LineState()).move(aim.lines_for(label), point)

    images = [frame.image for frame in frames[: len(placed)]]

    def gate(masks_: list) -> float:
        motion = MotionGate(masks_)
        cpu = time.process_time()
        for image in images:
            motion.update(image)
        return (time.process_time() - cpu) / len(images) * 1000

    return {
        "object masks": timed(masks),
        "zones": timed(zones),
        "lines": timed(lines),
        "motion mask (gate with - without)": gate(aim.motion_masks) - gate([]),
        "model (YOLO + ByteTrack)": pipeline.model_cpu / len(placed) * 1000,
        "objects per frame": sum(len(objects) for objects in placed) / len(placed),
    }


def model_own_per_cpu(seconds: float = 5) -> float:
    """640x640 inferences per CPU-second, back to back with every infer request of a THROUGHPUT compile busy:
    the model's own speed, with nothing of ours around it."""
    import openvino as ov

    core = ov.Core()
    xml = shared.model_xml(settings.VMS_DETECTOR_MODEL)
    compiled = core.compile_model(core.read_model(xml), "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})
    requests = ov.AsyncInferQueue(compiled, compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    blob = np.random.default_rng(1).random((1, 3, shared.INPUT, shared.INPUT), np.float32)
    for _ in range(len(requests)):
        requests.start_async({0: blob})
    requests.wait_all()
    done, cpu, start = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - start < seconds:
        requests.start_async({0: blob})
        done += 1
    requests.wait_all()
    return done / (time.process_time() - cpu)


def views_per_cpu(frames: list, callers: int, view) -> tuple[float, float]:
    """Views per second and per CPU-second through the shared model, `callers` threads at once, each detecting
    view(image) of every frame in turn."""
    model = load_model(settings.VMS_DETECTOR_MODEL)

    def run() -> None:
        for frame in frames:
            model.detect([view(frame.image)])

    threads = [threading.Thread(target=run) for _ in range(callers)]
    cpu, start = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = callers * len(frames)
    return done / (time.perf_counter() - start), done / (time.process_time() - cpu)


def report_model(frames: list, callers: int = 8) -> float:
    """Print the model's own speed and what whole frames and regions cost through the mosaics; returns the
    model's own frames per CPU-second."""
    own = model_own_per_cpu()
    print(f"the model's own: {own:5.1f} inferences (640x640) per CPU-second, {1000 / own:5.1f} ms CPU each")
    for name, view in (
        ("whole frames (2 a mosaic)", whole),
        ("regions 320x320 (4 a mosaic)", lambda image: View(image, (480, 200, 800, 520))),
    ):
        per_s, per_cpu = views_per_cpu(frames, callers, view)
        print(f"  {name:30s} from {callers} threads: {per_s:5.1f} a second, {1000 / per_cpu:5.1f} ms CPU each "
              f"({per_cpu / own:.2f} x the model's own)")  # fmt: skip
    return own


class TimedDetector(CameraDetector):
    """Keeps, per track's event, the seconds from its first frame to the event being written, and whether it
    waited past its confirming frames for a detection of DEFAULT_MIN_SCORE."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.latencies: list[tuple[float, bool]] = []

    def _emit_track(self, track: Track) -> None:
        super()._emit_track(track)
        self.latencies.append((time.monotonic() - track.first_mono, track.hits > CONFIRM_HITS))


class AloneInTheInput:
    """The model as the detector used it before regions: each frame alone in the whole 640x640 input (a
    1280x720 frame at 640x360), for full-frame detection to compare with."""

    def __init__(self) -> None:
        import openvino as ov

        model = load_model(settings.VMS_DETECTOR_MODEL)
        self.names, self.version = model.names, model.version
        core = ov.Core()
        network = shared._taking_bgr_bytes(core.read_model(shared.model_xml(settings.VMS_DETECTOR_MODEL)))
        self.request = core.compile_model(network, "CPU").create_infer_request()

    def detect(self, views: list[View]) -> list:
        results = []
        for view in views:
            x1, y1, x2, y2 = view.box
            placed = shared._Placed(shared._Job(view), (0, 0, shared.INPUT, shared.INPUT),
                                    min(shared.INPUT / (x2 - x1), shared.INPUT / (y2 - y1)))  # fmt: skip
            mosaic = np.full((1, shared.INPUT, shared.INPUT, 3), shared.FILL, np.uint8)
            shared._paste(mosaic[0], placed)
            self.request.infer({0: mosaic})
            shared._hand_back(self.request.get_output_tensor(0).data[0], [placed])
            results.append(placed.job.result)
        return results


class FullFrameDetector(Detector):
    """Full-frame detection: the whole frame on every frame with motion, alone in the model's input."""

    def _views(self, image: np.ndarray, motion: list, mono: float) -> list[View]:
        self.whole_frames += 1
        return [whole(image)]


def clip_events(detector: Detector, loops: int = 2) -> tuple[Counter, int]:
    """Events per type and bus events of `loops` of the demo clip at FPS through a camera with FEATURES."""
    events: list[dict] = []
    pipeline = CameraDetector(camera(DEMO_CLIP, "recall"), detector, emit=lambda **kw: events.append(kw))
    capture = cv2.VideoCapture(DEMO_CLIP)
    step = round(capture.get(cv2.CAP_PROP_FPS) / FPS)
    images = []
    while (read := capture.read())[0]:
        images.append(read[1])
    capture.release()
    t0 = time.time()
    for index, image in enumerate([image for _ in range(loops) for image in images[::step]]):
        pipeline.process(Frame(image=image, ts=t0 + index / FPS, mono=1000 + index / FPS))
    buses = sum(e["payload"].get("label") == "bus" for e in events)
    return Counter(e["type"] for e in events), buses


def report_recall() -> None:
    regions = load_detector(settings.VMS_DETECTOR_MODEL)
    full = FullFrameDetector(AloneInTheInput())
    found, buses = clip_events(regions)
    baseline, baseline_buses = clip_events(full)
    print("recall, 2 loops of the demo clip at 5 fps (events; target: person and vehicle within 10 %, no fewer buses):")
    for kind in ("person", "vehicle"):
        print(f"  {kind:8s} regions {found[kind]:3d}   full-frame {baseline[kind]:3d}   "
              f"ratio {found[kind] / max(1, baseline[kind]):.2f}")  # fmt: skip
    print(f"  bus      regions {buses:3d}   full-frame {baseline_buses:3d}")
    cost = (regions.regions + 2 * regions.whole_frames) / 4
    print(f"  model cost with regions: {regions.regions} regions + {regions.whole_frames} whole frames = {cost:.0f} "
          f"inferences for {full.whole_frames} frames with motion ({cost / full.whole_frames:.2f} of an inference "
          "a frame)")  # fmt: skip


def live(url: str, cameras: int, seconds: float, stagger_s: float, server: int | None) -> tuple:
    """Frames per second each camera processed, CPU seconds used, event latencies, streams lost, and the CPU
    seconds of the `server` process (the RTSP server standing in for the cameras, on the same cores), with
    `cameras` running at once, measured over `seconds` once all of them run. Camera i starts
    i * stagger_s / cameras after the first, so cameras reading the same clip are at different points of it,
    as cameras of a real site are."""
    pipelines = [TimedDetector(camera(url, f"cam-{i}"), load_detector(settings.VMS_DETECTOR_MODEL),
                               emit=lambda **_: None) for i in range(cameras)]  # fmt: skip
    stopped = threading.Event()
    lost: list[StreamEnded] = []

    def run(index: int, pipeline: TimedDetector) -> None:
        if stopped.wait(index * stagger_s / cameras):
            return
        try:
            for frame in read_frames(url, FPS, stopped.is_set):
                pipeline.process(frame)
        except StreamEnded as exc:
            lost.append(exc)

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(pipelines)]
    for thread in threads:
        thread.start()
    time.sleep(stagger_s + LIVE_WARMUP_S)
    frames, cpu, start = [p.frames for p in pipelines], cpu_seconds(), time.monotonic()
    server_cpu = proc_cpu(server) if server else 0.0
    for p in pipelines:
        p.latencies.clear()
    time.sleep(seconds)
    rates = [(p.frames - before) / (time.monotonic() - start) for p, before in zip(pipelines, frames, strict=True)]
    cpu = cpu_seconds() - cpu
    server_cpu = proc_cpu(server) - server_cpu if server else 0.0
    stopped.set()
    for thread in threads:
        thread.join()
    return rates, cpu, [lat for p in pipelines for lat in p.latencies], len(lost), server_cpu


def report_live(source: str, url: str, counts: list[int], seconds: float, model_per_cpu: float,
                stagger_s: float = 0, server: int | None = None) -> int:  # fmt: skip
    """Print each count's run; returns the most cameras that all kept up."""
    print(f"live, {source}:")
    most = 0
    for count in counts:
        rates, cpu, latencies, lost, server_cpu = live(url, count, seconds, stagger_s, server)
        kept = sum(rate >= 0.95 * FPS for rate in rates)
        if kept == count:
            most = max(most, count)
        frames_done = sum(rates) * seconds
        print(
            f"  {count:2d} cameras x {FPS} fps: slowest {min(rates):4.1f} fps, {kept}/{count} keep up, {lost} streams "
            f"lost, CPU {cpu / seconds / CORES * 100:3.0f} % of {CORES} cores; {frames_done / cpu:5.1f} frames per "
            f"CPU-second ({frames_done / cpu / model_per_cpu:.2f} x the model's own) -> "
            f"{frames_done / cpu * CORES / FPS:4.1f} cameras on {CORES} idle cores"
            + (
                f"; the RTSP server standing in for the cameras {server_cpu / seconds / CORES * 100:.0f} %"
                if server
                else ""
            )
        )
        confirmed = [latency for latency, waited in latencies if not waited]
        for name, picked in (
            ("written on confirmation", confirmed),
            ("all tracks", [latency for latency, _ in latencies]),
        ):
            if picked:
                picked.sort()
                print(
                    f"     first tracked frame -> event, {name}: median {picked[len(picked) // 2] * 1000:.0f} ms, "
                    f"p90 {picked[int(len(picked) * 0.9)] * 1000:.0f} ms over {len(picked)} tracks"
                )
        print(
            f"     {len(latencies) - len(confirmed)} tracks waited past their confirming frames for a detection of "
            f"{DEFAULT_MIN_SCORE}"
        )
    print(f"  most cameras that all kept up: {most}")
    return most


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20
    counts = [int(n) for n in (sys.argv[2] if len(sys.argv) > 2 else "8,16,20,24").split(",")]
    folder = Path(tempfile.mkdtemp(prefix="bench-detect-"))
    settings.VMS_RECORDINGS_ROOT = folder / "recordings"
    repeats = int((seconds + LIVE_WARMUP_S) // 20) + 3
    server = RtspCamera(substream=True)
    server.start()
    try:
        frames = grab(server.url, 100)
        print(f"model {settings.VMS_DETECTOR_MODEL}, {len(frames)} frames 1280x720 from the stream, {CORES} cores")
        model_per_cpu = report_model(frames[:40])
        raw, pipe, aimed_pipe, aimed = raw_and_pipeline_fps(server.url, frames)
        print(f"the model alone on each whole frame {raw:6.1f} fps")
        print(f"pipeline (gate+regions+track+jpeg)  {pipe:6.1f} fps   ratio {pipe / raw:.2f}  (target >= 0.9)")
        print(f"pipeline with aim                   {aimed_pipe:6.1f} fps   ratio {aimed_pipe / raw:.2f}  "
              "(target >= 0.9; 4 zones, 2 masks, 2 lines, filters)")  # fmt: skip
        print("CPU per frame, ms:")
        for part, value in aim_cpu(aimed, frames).items():
            print(f"  {part:36s} {value:8.3f}")
        report_recall()
        streams = [("demo main stream 1280x720, motion in every frame", server.url),
                   ("demo substream 640x360 (detect_url), motion in every frame", server.sub_url)]  # fmt: skip
        for source, url in streams:
            most = report_live(source, url, counts, seconds, model_per_cpu, server=server.proc.pid)
            overload = round(1.5 * max(most, min(counts)))
            report_live(f"{source}, overload: 1.5 x {max(most, min(counts))}", url, [overload], seconds, model_per_cpu,
                        server=server.proc.pid)  # fmt: skip
        for width, height in ((1280, 720), (640, 360)):
            report_live(
                f"half-still clip (file, real time, {width}x{height}), motion 50 % of the time, cameras spread over "
                "its 20 s cycle", half_still_clip(folder, repeats, width), counts, seconds, model_per_cpu, stagger_s=20,
            )  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()

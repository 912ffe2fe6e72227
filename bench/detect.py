"""Detector throughput and latency on the real RTSP demo stream, against raw `model.predict` in the same run.

1. Raw: `model.predict` on frames taken from the stream (5 fps, 1280x720), back to back, one caller.
2. Pipeline: the same frames through the detector's per-frame path (motion gate, YOLO + ByteTrack, track
   bookkeeping, snapshot JPEGs; events to an in-memory sink), interleaved with 1 on the same shared model;
   ratio to raw. Twice: a camera without aim, and one with AIM (4 zones, 2 masks, 2 lines, filters). Then the
   CPU per frame of the aim's parts (object masks, zones, lines, the motion mask), replayed on the detections
   the model made, next to the model's own CPU per frame.
3. Model throughput: `model.predict` from 8 threads at once (a detect worker's 8 cameras), each thread with
   a model of its own as ultralytics loads it (LATENCY mode, every inference on all cores), against the
   worker's one shared THROUGHPUT model; frames per second and CPU per frame, and their ratio.
4. Live: N cameras at 5 fps each at once (ffmpeg decode included, CPU of this process and its ffmpeg children
   over a window once all run), for N in the list given; a camera "keeps up" when it analyses >= 95 % of its
   frames (a slower one skips frames to stay live). First on the RTSP demo, which moves all the time, so the
   motion gate never skips a frame: the worst case for the gate. Then on a clip with motion half of the time
   (still 10 s, moving 10 s), the cameras spread over its cycle as the cameras of a site are: what the gate
   is for. Frames per CPU-second are set against the shared model's own from 3.
5. Latency: from a track's first frame to its event being handed to the sink (live runs), over all tracks
   and over those written on their confirming frames (the others waited for a detection of DEFAULT_MIN_SCORE).

    DEBUG=1 .venv/bin/python bench/detect.py [seconds per live run] [camera counts, e.g. 1,8,10,12]
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vms.settings")
django.setup()

from django.conf import settings  # noqa: E402

from bench.cpu import ffmpeg_children, proc_cpu  # noqa: E402
from cameras.models import Camera  # noqa: E402
from events.detection.aim import DEFAULT_MIN_SCORE, LineState, ZoneMembership, bottom_centre  # noqa: E402
from events.detection.detector import CONFIRM_HITS, CameraDetector, Track  # noqa: E402
from events.detection.vision import FEATURE_OF_LABEL, MotionGate, load_detector, read_frames  # noqa: E402
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
    "[0:v]trim=end=10,setpts=PTS-STARTPTS[moving];[still][moving]concat=n=2:v=1:a=0,fps=10[v]"
)


def half_still_clip(folder: Path, repeats: int) -> str:
    """A clip with motion half of the time (still 10 s / moving 10 s, `repeats` times), read like a camera."""
    part, listing, clip = folder / "half.mp4", folder / "half.txt", folder / "half-still.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", DEMO_CLIP, "-filter_complex", HALF_STILL_FILTER, "-map", "[v]",
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

        def recorded(image, labels):
            cpu = time.process_time()
            objects = track(image, labels)
            self.model_cpu += time.process_time() - cpu
            self.seen.append((image.shape[:2], objects))
            return objects

        self.detector.track = recorded


def raw_and_pipeline_fps(url: str, frames: list) -> tuple[float, float, float, RecordingDetector]:
    """Frames per second of bare `model.predict`, of the pipeline's per-frame path without aim and with AIM, on
    the same frames; and the aimed pipeline (what its model saw, for aim_cpu).

    Interleaved frame by frame (three detectors on the shared model), so load from elsewhere hits all alike.
    """
    raw_model = load_detector(settings.VMS_DETECTOR_MODEL).model
    model = settings.VMS_DETECTOR_MODEL
    plain = CameraDetector(camera(url, "offline"), load_detector(model), emit=lambda **_: None)
    aimed = RecordingDetector(camera(url, "aimed", AIM), load_detector(model), emit=lambda **_: None)
    raw_model.predict(frames[0].image, verbose=False)
    raw_s = plain_s = aimed_s = 0.0
    for frame in frames:
        start = time.perf_counter()
        raw_model.predict(frame.image, verbose=False)
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


def predict_throughput(models: list, frames: list) -> tuple[float, float]:
    """Frames per second and per CPU-second of `model.predict` with each model in a thread of its own, at once."""
    for model in models:
        model.predict(frames[0].image, verbose=False)

    def run(model) -> None:
        for frame in frames:
            model.predict(frame.image, verbose=False)

    threads = [threading.Thread(target=run, args=(model,)) for model in models]
    cpu, start = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = len(models) * len(frames)
    return done / (time.perf_counter() - start), done / (time.process_time() - cpu)


def model_throughput(frames: list, callers: int) -> float:
    """Print own models against the shared one for `callers` threads; returns the shared one's frames per
    CPU-second."""
    from ultralytics import YOLO  # importable once load_detector has run

    own = [YOLO(settings.VMS_DETECTOR_MODEL, task="detect") for _ in range(callers)]
    own_fps, own_per_cpu = predict_throughput(own, frames)
    shared = [load_detector(settings.VMS_DETECTOR_MODEL).model for _ in range(callers)]
    streams = shared[0].predictor.model.backend.ov_compiled_model.streams
    shared_fps, shared_per_cpu = predict_throughput(shared, frames)
    print(f"model.predict from {callers} threads at once:")
    print(f"  a model per thread (ultralytics' LATENCY)  {own_fps:5.1f} fps, {1000 / own_per_cpu:5.1f} ms CPU a frame")
    print(
        f"  one shared model, THROUGHPUT, {streams} streams {shared_fps:5.1f} fps, {1000 / shared_per_cpu:5.1f} ms "
        f"CPU a frame   ratio {shared_fps / own_fps:.2f}"
    )
    return shared_per_cpu


class TimedDetector(CameraDetector):
    """Keeps, per track's event, the seconds from its first frame to the event being written, and whether it
    waited past its confirming frames for a detection of DEFAULT_MIN_SCORE."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.latencies: list[tuple[float, bool]] = []

    def _emit_track(self, track: Track) -> None:
        super()._emit_track(track)
        self.latencies.append((time.monotonic() - track.first_mono, track.hits > CONFIRM_HITS))


def live(url: str, cameras: int, seconds: float, stagger_s: float) -> tuple[list[float], float, list[float]]:
    """Frames per second each camera processed, CPU seconds used and event latencies, with `cameras` running at
    once, measured over `seconds` once all of them run. Camera i starts i * stagger_s / cameras after the first,
    so cameras reading the same clip are at different points of it, as cameras of a real site are."""
    detectors = [load_detector(settings.VMS_DETECTOR_MODEL) for _ in range(cameras)]
    pipelines = [TimedDetector(camera(url, f"cam-{i}"), d, emit=lambda **_: None) for i, d in enumerate(detectors)]
    stopped = threading.Event()

    def run(index: int, pipeline: TimedDetector) -> None:
        if stopped.wait(index * stagger_s / cameras):
            return
        for frame in read_frames(url, FPS, stopped.is_set):
            pipeline.process(frame)

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(pipelines)]
    for thread in threads:
        thread.start()
    time.sleep(stagger_s + LIVE_WARMUP_S)
    frames, cpu, start = [p.frames for p in pipelines], cpu_seconds(), time.monotonic()
    for p in pipelines:
        p.latencies.clear()
    time.sleep(seconds)
    rates = [(p.frames - before) / (time.monotonic() - start) for p, before in zip(pipelines, frames, strict=True)]
    cpu = cpu_seconds() - cpu
    stopped.set()
    for thread in threads:
        thread.join()
    return rates, cpu, [lat for p in pipelines for lat in p.latencies]


def report_live(
    source: str, url: str, counts: list[int], seconds: float, model_per_cpu: float, stagger_s: float = 0
) -> None:
    print(f"live, {source}:")
    for count in counts:
        rates, cpu, latencies = live(url, count, seconds, stagger_s)
        kept = sum(rate >= 0.95 * FPS for rate in rates)
        frames_done = sum(rates) * seconds
        print(
            f"  {count:2d} cameras x {FPS} fps: slowest {min(rates):4.1f} fps, {kept}/{count} keep up, "
            f"CPU {cpu / seconds / CORES * 100:3.0f} % of {CORES} cores; {frames_done / cpu:5.1f} frames per "
            f"CPU-second ({frames_done / cpu / model_per_cpu:.2f} x the model's own) -> "
            f"{frames_done / cpu * CORES / FPS:4.1f} cameras on {CORES} idle cores"
        )
        confirmed = [latency for latency, waited in latencies if not waited]
        for name, picked in (
            ("all tracks", [latency for latency, _ in latencies]),
            ("written on confirmation", confirmed),
        ):
            if picked:
                picked.sort()
                print(
                    f"     first tracked frame -> event, {name}: median {picked[len(picked) // 2] * 1000:.0f} ms, "
                    f"p90 {picked[int(len(picked) * 0.9)] * 1000:.0f} ms over {len(picked)} tracks (target <= 1000 ms)"
                )
        print(
            f"     {len(latencies) - len(confirmed)} tracks waited past their confirming frames for a detection of "
            f"{DEFAULT_MIN_SCORE}"
        )


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20
    counts = [int(n) for n in (sys.argv[2] if len(sys.argv) > 2 else "1,4,8").split(",")]
    folder = Path(tempfile.mkdtemp(prefix="bench-detect-"))
    settings.VMS_RECORDINGS_ROOT = folder / "recordings"
    half_still = half_still_clip(folder, repeats=int((seconds + LIVE_WARMUP_S) // 20) + 3)
    server = RtspCamera()
    server.start()
    try:
        frames = grab(server.url, 100)
        raw, pipe, aimed_pipe, aimed = raw_and_pipeline_fps(server.url, frames)
        print(f"model {settings.VMS_DETECTOR_MODEL}, {len(frames)} frames 1280x720 from the stream, {CORES} cores")
        print(f"raw model.predict          {raw:6.1f} fps")
        print(f"pipeline (gate+track+jpeg) {pipe:6.1f} fps   ratio to raw {pipe / raw:.2f}  (target >= 0.9)")
        print(
            f"pipeline with aim          {aimed_pipe:6.1f} fps   ratio to raw {aimed_pipe / raw:.2f}  (target >= 0.9; "
            "4 zones, 2 masks, 2 lines, filters)"
        )
        print("CPU per frame, ms:")
        for part, value in aim_cpu(aimed, frames).items():
            print(f"  {part:36s} {value:8.3f}")
        model_per_cpu = model_throughput(frames[:40], callers=8)
        report_live("demo RTSP stream, motion in every frame", server.url, counts, seconds, model_per_cpu)
        report_live(
            "half-still clip (file, real time), motion 50 % of the time, cameras spread over its 20 s cycle",
            half_still, counts, seconds, model_per_cpu, stagger_s=20,
        )  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()

"""Detector throughput and latency on the real RTSP demo stream, against raw `model.predict` in the same run.

1. Raw: `model.predict` on frames taken from the stream (5 fps, 1280x720), back to back, one caller.
2. Pipeline: the same frames through the detector's per-frame path (motion gate, YOLO + ByteTrack, track
   bookkeeping, snapshot JPEGs; events to an in-memory sink), interleaved with 1 on the same shared model;
   ratio to raw.
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
   and over those written on their confirming frames (the others waited for a detection of MIN_CONFIDENCE).

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
from events.detection.detector import CONFIRM_HITS, MIN_CONFIDENCE, CameraDetector, Track  # noqa: E402
from events.detection.vision import load_detector, read_frames  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tests.rtsp_camera import RtspCamera  # noqa: E402
from tests.shared import DEMO_CLIP  # noqa: E402

FPS = 5
LIVE_WARMUP_S = 5  # after the last camera started: its ffmpeg connected, the first frames through
FEATURES = ["person", "vehicle", "motion"]
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


def camera(url: str, slug: str) -> Camera:
    return Camera(tenant=Tenant(id="bench"), slug=slug, rtsp_url=url, fps=FPS, features=FEATURES)


def raw_and_pipeline_fps(url: str, frames: list) -> tuple[float, float]:
    """Frames per second of bare `model.predict` and of the pipeline's per-frame path, on the same frames.

    Interleaved frame by frame (two detectors on the shared model), so load from elsewhere hits both alike.
    """
    raw_model = load_detector(settings.VMS_DETECTOR_MODEL).model
    pipeline = CameraDetector(camera(url, "offline"), load_detector(settings.VMS_DETECTOR_MODEL), emit=lambda **_: None)
    raw_model.predict(frames[0].image, verbose=False)
    raw_s = pipeline_s = 0.0
    for frame in frames:
        start = time.perf_counter()
        raw_model.predict(frame.image, verbose=False)
        middle = time.perf_counter()
        pipeline.process(frame)
        pipeline_s += time.perf_counter() - middle
        raw_s += middle - start
    return len(frames) / raw_s, len(frames) / pipeline_s


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
    waited past its confirming frames for a detection of MIN_CONFIDENCE."""

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
            f"{MIN_CONFIDENCE}"
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
        raw, pipe = raw_and_pipeline_fps(server.url, frames)
        print(f"model {settings.VMS_DETECTOR_MODEL}, {len(frames)} frames 1280x720 from the stream, {CORES} cores")
        print(f"raw model.predict          {raw:6.1f} fps")
        print(f"pipeline (gate+track+jpeg) {pipe:6.1f} fps   ratio to raw {pipe / raw:.2f}  (target >= 0.9)")
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

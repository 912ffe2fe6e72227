"""Live: how far behind the camera Chromium shows it, by MSE, WebRTC and HLS in one run, and what viewers cost daphne.

One real RTSP camera (tests/rtsp_camera.py: demo-street.mp4, 1280x720, 10 fps, a key frame every 2 s) is recorded by
the recorder as a `record` worker runs it (supervisor.run_pipeline, in a thread of this process), and served by a
real daphne (`python -m vms.server`, started by tests/processes.py with the test servers' DEBUG on, which serves the
console's static files without a collectstatic; nothing on the streaming path depends on it) to Debian's Chromium
(headless, software decoding) and to WebSocket clients.

Latency of a frame = when Chromium displays it (performance.timeOrigin + requestVideoFrameCallback's
expectedDisplayTime; browser and server share this machine's clock) - when it reached the server. This script reads
the camera's live feed from Redis for the whole run: each media segment's prft says when the recorder had it and the
video decode time at its end, so the frame of decode time m arrived at stamp - (end - m) / timescale (ffmpeg hands
over a fragment once it is complete: this is the frame's arrival at ffmpeg, before any of the fragment's wait). The
players are the console's own (bench/live.html imports static/spa/js), run side by side in one page for --seconds
after a warm-up, and each displayed frame is matched to a feed frame:
- MSE (livestream.js playLive, WS /v2/ws/live/<camera>): rVFC's mediaTime is the frame's presentation time in the
  fragmented MP4 as appended (no edit list), so it names the feed frame exactly.
- WebRTC (POST /v2/api/cameras/<camera>/webrtc, live/webrtc.py): rVFC's rtpTimestamp is the frame's presentation time
  on the 90 kHz clock plus an offset the page cannot know (the stream's first frame is 0, plus aiortc's random
  origin). RTP differences place the frames relative to one another; the offset taken is the one that matches every
  frame to a feed frame whose segment the server had before the browser received the frame (rVFC receiveTime), and
  of those the one with the least delay: one frame later would have the browser receive frames before the server had
  their segment, as long as the server sends a frame within a segment's time (0.5 s) of having it; one earlier adds a
  frame's time to every frame's delay.
- HLS (player.js playHls on /v2/hls/<camera>/live.m3u8, hls.js): the frame's wall-clock time by the playlist's
  EXT-X-PROGRAM-DATE-TIME (its fragment's programDateTime + the frame's offset into it), corrected by how far that
  clock is from the server's: each recorded part's first frame (a key frame) is found in the feed by its IDR slice's
  bytes (the demo file's pictures come back only every 20 s loop: the nearest match within 10 s), and the median of
  arrival - the part's start (its PDT) is added (printed, with its spread).
Under MSE and WebRTC, where the time goes (medians): the fragment (ffmpeg completing it: stamp - arrival), then the
rest, for WebRTC split at the browser's receiveTime.
First frame: from the player's start (playLive, the RTCPeerConnection, playHls) to the first frame's display, --tries
times each, one player at a time.

Server CPU: user + system time of the daphne process (psutil: threads that ended count too) over --seconds, with
--viewers WebSocket clients of the camera in a process of their own that read and discard (after their first
segment and a warm-up); per added viewer = (cpu at the most - cpu at the fewest) / the viewers added. "kept up" is
the bytes the slowest client received over the bytes the feed carried in the same window.
Grid: --grid cameras (rows on the same RTSP server, each with its recorder) in the console's grid
(/v2/#/live?layout=16, signed in as tests/spa/conftest.py does, 1920x1080 so every tile is on screen and streams):
CPU of daphne and of all of Chromium's processes, and how many tiles played throughout.

The machine's other work shares its cores (2 here): the figures move with it. It creates its own test database
(TEST_DATABASE_NAME, else test_vms_bench_live) and Redis key prefix, and drops the database at the end; a run takes
about 3.5 minutes, daphne's log stays in $TMPDIR/bench-live-daphne.log:
    TEST_DATABASE_NAME=test_vms_bench_live REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/live.py \
        [--seconds 20] [--tries 5] [--viewers 0,1,10,50] [--grid 16]
"""

import argparse
import asyncio
import io
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vms.settings")
os.environ.setdefault("TEST_DATABASE_NAME", "test_vms_bench_live")
os.environ.setdefault("VMS_REDIS_PREFIX", "vms-bench-live")
django.setup()

import av  # noqa: E402
import psutil  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from playwright import sync_api  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from bench.cpu import ffmpeg_children  # noqa: E402
from cameras.models import Camera  # noqa: E402
from cameras.pipeline import supervisor  # noqa: E402
from cameras.pipeline.lease import client  # noqa: E402
from live import fmp4  # noqa: E402
from live.feed import stream_key  # noqa: E402
from playback.playlists import LIVE_WINDOW, Part, recorded_parts  # noqa: E402
from tenants.catalogue import READ_SCOPES  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.tokens import issue_access_token  # noqa: E402
from tests.processes import running_daphne  # noqa: E402
from tests.rtsp_camera import RtspCamera  # noqa: E402
from tests.spa.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGE = Path(__file__).with_name("live.html")
DAPHNE_LOG = Path(tempfile.gettempdir()) / "bench-live-daphne.log"  # kept for a failed run's diagnosis
MODES = {"mse": "MSE", "webrtc": "WebRTC", "hls": "HLS"}
GOALS = {"mse": 1.0, "webrtc": 0.5}  # p50 latency, s
FIRST_FRAME_GOAL_S = 1.5
PER_VIEWER_GOAL = 0.5  # % of a core
WARMUP_S = 3
RTP_CLOCK = 90_000
RECEIVED_SLACK_S = 0.005  # performance.timeOrigin and time.time() agree to about a millisecond
SAME_PICTURE_S = 10  # the demo file loops every 20 s: an identical key frame is at least that far away
START_CODE = re.compile(b"\x00\x00\x01")


@dataclass(frozen=True)
class FeedFrame:
    arrival: float  # epoch s: when the frame reached the server (see the module's docstring)
    stamp: float  # epoch s: when the recorder had its segment (its prft)


def idr_unit(annexb: bytes) -> bytes | None:
    """The first IDR slice NAL unit of an Annex B access unit: a key frame's picture, whatever the container."""
    for unit in START_CODE.split(annexb):
        if unit and unit[0] & 0x1F == 5:
            return unit.rstrip(b"\x00")  # a 4-byte start code's leading zero, left behind by the split
    return None


class FeedLog(threading.Thread):
    """Every segment of a camera's live feed while it runs: each frame's arrival by presentation time, the key frames'
    pictures, and the bytes the feed carried."""

    def __init__(self, camera_pk: int) -> None:
        super().__init__(daemon=True)
        self.key = stream_key(camera_pk)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.timescale = 0
        self.frames: dict[int, FeedFrame] = {}  # by presentation time, in the video track's timescale
        self.key_frames: list[tuple[FeedFrame, bytes]] = []  # with the frame's IDR slice
        self.segments: list[tuple[float, int]] = []  # (stamp, bytes)
        self.newest = -1  # the latest presentation time
        self.restarts = 0  # the recorder's ffmpeg started again: times start over, and earlier frames are forgotten

    def run(self) -> None:
        last, video = "0-0", None
        while not self.stopping.is_set():
            for _, entries in client().xread({self.key: last}, block=1000) or []:
                for entry_id, fields in entries:
                    last = entry_id
                    if b"i" in fields:
                        video = fmp4.parse_init(fields[b"i"]).video
                    if video is not None:
                        self._add(fields[b"d"], video)

    def _add(self, segment: bytes, video: fmp4.Track) -> None:
        stamp, end = fmp4.producer_time(segment)
        with self.lock:
            self.timescale = video.timescale
            self.segments.append((stamp, len(segment)))
            for sample in fmp4.samples(segment):
                if sample.track_id != video.id:
                    continue
                pts = sample.decode_time + sample.composition_offset
                if pts <= self.newest:
                    self.restarts += 1
                    self.frames.clear()
                    self.key_frames.clear()
                self.newest = pts
                frame = FeedFrame(stamp - (end - sample.decode_time) / video.timescale, stamp)
                self.frames[pts] = frame
                if sample.sync:
                    self.key_frames.append((frame, idr_unit(fmp4.annexb(sample.data, video.nal_length_size))))

    def feed_bytes(self, start: float, end: float) -> int:
        with self.lock:
            return sum(size for stamp, size in self.segments if start <= stamp < end)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def mse_frames(frames: list[dict], feed: FeedLog) -> list[tuple[FeedFrame, dict]]:
    """The displayed frames with the feed frame each is, by presentation time."""
    with feed.lock:
        found = [(feed.frames.get(round(f["media"] * feed.timescale)), f) for f in frames]
    return [(match, f) for match, f in found if match is not None]


def webrtc_frames(frames: list[dict], feed: FeedLog) -> list[tuple[FeedFrame, dict]]:
    """The displayed frames with the feed frame each is, by the RTP offset the module's docstring describes; [] when
    no offset fits."""
    if not frames or frames[0].get("rtp") is None:
        return []
    with feed.lock:
        by_rtp = {pts * RTP_CLOCK // feed.timescale: frame for pts, frame in feed.frames.items()}
    relative = [((f["rtp"] - frames[0]["rtp"]) % 2**32, f) for f in frames]
    best: tuple[float, list] | None = None
    for first in by_rtp:
        matched = [(by_rtp.get(first + offset), f) for offset, f in relative]
        if any(match is None for match, _ in matched):
            continue
        delays = [f["receive"] / 1000 - match.stamp for match, f in matched]
        if min(delays) < -RECEIVED_SLACK_S:
            continue
        if best is None or statistics.median(delays) < best[0]:
            best = statistics.median(delays), matched
    return [] if best is None else best[1]


def median_ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):.0f} ms"


def first_picture(part: bytes) -> bytes | None:
    """The IDR slice of an MPEG-TS part's first video frame."""
    with av.open(io.BytesIO(part), format="mpegts") as container:
        return idr_unit(bytes(next(container.demux(video=0))))


def parts_since(camera: Camera, since: datetime) -> list[Part]:
    hours = {moment.replace(minute=0, second=0, microsecond=0) for moment in (since, datetime.now(UTC))}
    return [part for hour in sorted(hours) for part in recorded_parts(camera, hour) if part.start >= since]


def program_date_offsets(camera: Camera, feed: FeedLog, since: datetime) -> list[float]:
    """For each part recorded since `since` whose key frame the feed had: arrival - the part's start (its PDT)."""
    parts = parts_since(camera, since)
    with feed.lock:
        key_frames = list(feed.key_frames)
    offsets = []
    for part in parts:
        with (settings.VMS_RECORDINGS_ROOT / part.path).open("rb") as file:
            file.seek(part.offset)
            picture = first_picture(file.read(part.size))
        start = part.start.timestamp()
        same = [frame.arrival - start for frame, unit in key_frames if unit == picture]
        nearest = min(same, key=abs, default=None)
        if nearest is not None and abs(nearest) < SAME_PICTURE_S:
            offsets.append(nearest)
    return offsets


def latencies(page: sync_api.Page, camera: Camera, feed: FeedLog, seconds: float) -> dict[str, tuple[list, str]]:
    """Each mode's frame latencies (s) over `seconds`, the three players side by side, and a note on the mapping."""
    since = datetime.now(UTC)
    for mode in MODES:
        page.evaluate("([mode, camera]) => window.bench.start(mode, camera)", [mode, camera.slug])
    deadline = time.monotonic() + 30
    states = {}
    while time.monotonic() < deadline:
        states = {mode: page.evaluate("mode => window.bench.state(mode)", mode) for mode in MODES}
        if all(state["first"] is not None or state["error"] for state in states.values()):
            break
        time.sleep(0.2)
    time.sleep(WARMUP_S)
    for mode in MODES:
        page.evaluate("mode => window.bench.take(mode)", mode)
    time.sleep(seconds)
    frames = {mode: page.evaluate("mode => window.bench.take(mode)", mode) for mode in MODES}
    for mode in MODES:
        page.evaluate("mode => window.bench.stop(mode)", mode)
    results = {}
    for mode, state in states.items():
        if state["first"] is None:
            results[mode] = [], f"no frame: {state['error'] or 'none within 30 s'}"
    # Where the time goes (medians): ffmpeg completing the frame's fragment (its prft stamp - the frame's arrival),
    # then the way to the browser and the player.
    if "mse" not in results:
        matched = mse_frames(frames["mse"], feed)
        note = f"{len(frames['mse']) - len(matched)} of {len(frames['mse'])} frames not in the feed"
        if matched:
            note += (
                f"; fragment {median_ms([match.stamp - match.arrival for match, _ in matched])}, then to display "
                f"{median_ms([f['display'] / 1000 - match.stamp for match, f in matched])}"
            )
        results["mse"] = [f["display"] / 1000 - match.arrival for match, f in matched], note
    if "webrtc" not in results:
        matched = webrtc_frames(frames["webrtc"], feed)
        note = "no RTP offset matches the feed"
        if matched:
            note = (
                f"fragment {median_ms([match.stamp - match.arrival for match, _ in matched])}, to the browser (rVFC "
                f"receiveTime) {median_ms([f['receive'] / 1000 - match.stamp for match, f in matched])}, received -> "
                f"displayed {median_ms([(f['display'] - f['receive']) / 1000 for _, f in matched])}"
            )
        results["webrtc"] = [f["display"] / 1000 - match.arrival for match, f in matched], note
    if "hls" not in results:
        offsets = program_date_offsets(camera, feed, since)
        if offsets:
            offset = statistics.median(offsets)
            dated = [f for f in frames["hls"] if f["date"] is not None]
            found = [f["display"] / 1000 - (f["date"] / 1000 + offset) for f in dated]
            spread = max(offsets) - min(offsets)
            results["hls"] = found, f"PDT {offset:+.3f} s from arrival (spread {spread:.3f} s, {len(offsets)} parts)"
        else:
            results["hls"] = [], "no recorded part's key frame found in the feed"
    return results


def first_frames(page: sync_api.Page, camera: Camera, tries: int) -> dict[str, list[dict]]:
    """Each player's state at its first frame (bench.state: `first`, `answered`, ms), `tries` times each, one player
    at a time; a try without a frame is left out."""
    found: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for _ in range(tries):
        for mode in MODES:
            page.evaluate("([mode, camera]) => window.bench.start(mode, camera)", [mode, camera.slug])
            page.wait_for_function(
                "mode => window.bench.state(mode).first !== null || window.bench.state(mode).error", arg=mode
            )
            state = page.evaluate("mode => window.bench.state(mode)", mode)
            page.evaluate("mode => window.bench.stop(mode)", mode)
            if state["first"] is not None:
                found[mode].append(state)
            time.sleep(0.5)
    return found


def view(url: str, count: int, conn) -> None:
    """(A process of its own.) `count` WebSocket viewers of `url` that read and discard; each message on `conn`
    is answered with the bytes each viewer has received so far, until "stop"."""
    asyncio.run(_view(url, count, conn))


async def _view(url: str, count: int, conn) -> None:
    received = [0] * count

    async def viewer(index: int) -> None:
        async with connect(url, max_size=None) as socket:
            async for message in socket:
                received[index] += len(message)

    tasks = [asyncio.create_task(viewer(index)) for index in range(count)]
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, conn.recv) != "stop":
        failed = [str(task.exception()) for task in tasks if task.done() and task.exception()]
        conn.send(failed or list(received))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def received(conn) -> list:
    """The bytes each viewer of the `view` process at the end of `conn` has received so far, or the failed viewers'
    errors."""
    conn.send("count")
    return conn.recv()


def daphne_share(count: int, url: str, daphne: psutil.Process, feed: FeedLog, seconds: float) -> tuple:
    """Daphne's share of a core over `seconds` with `count` viewers of `url`, and the slowest viewer's bytes / the
    feed's (None without viewers)."""
    if not count:
        before = cpu_seconds([daphne])
        time.sleep(seconds)
        return (cpu_seconds([daphne]) - before) / seconds, None
    spawn = multiprocessing.get_context("spawn")  # not a fork of this process's threads and connections
    ours, theirs = spawn.Pipe()
    process = spawn.Process(target=view, args=(url, count, theirs))
    process.start()
    try:
        deadline = time.monotonic() + 30
        while not all(isinstance(n, int) and n for n in received(ours)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} viewers did not all get video: {received(ours)[:3]}")
            time.sleep(0.5)
        time.sleep(WARMUP_S)
        start, cpu_before, bytes_before = time.time(), cpu_seconds([daphne]), received(ours)
        time.sleep(seconds)
        end, cpu_after, bytes_after = time.time(), cpu_seconds([daphne]), received(ours)
    finally:
        ours.send("stop")
        process.join(10)
    slowest = min(after - before for before, after in zip(bytes_before, bytes_after, strict=True))
    return (cpu_after - cpu_before) / seconds, slowest / feed.feed_bytes(start, end)


class Recorders:
    """Cameras recorded as a `record` worker records them (bench/recording.py), in threads of this process."""

    def __init__(self) -> None:
        supervisor.shutting_down.clear()
        self.threads: list[threading.Thread] = []

    def start(self, camera: Camera) -> None:
        def run() -> None:
            try:
                supervisor.run_pipeline("record", camera.pk)
            finally:
                connections.close_all()

        self.threads.append(threading.Thread(target=run))
        self.threads[-1].start()

    def stop(self) -> None:
        supervisor.shutting_down.set()
        for thread in self.threads:
            thread.join()


def wait_streaming(cameras: list[Camera], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not all(client().xlen(stream_key(camera.pk)) for camera in cameras):
        if time.monotonic() > deadline:
            raise RuntimeError("the cameras' live feeds did not start")
        time.sleep(0.2)


def grid_cpu(browser: sync_api.Browser, server: str, token: str, daphne: psutil.Process, seconds: float) -> dict:
    """CPU of daphne and Chromium while the console's 16-tile grid plays the tenant's cameras (up to 16), and the
    tiles that played throughout."""
    context = browser.new_context(base_url=server, viewport={"width": 1920, "height": 1080})
    try:
        page = context.new_page()
        page.add_init_script(f"localStorage.setItem('vms_v2_token', {token!r})")
        page.goto("/v2/#/live?layout=16")
        page.wait_for_function(
            "() => { const v = [...document.querySelectorAll('video.tile-video')];"
            " return v.length && v.every(video => video.currentTime > 0); }",
            timeout=60_000,
        )
        time.sleep(WARMUP_S)
        chromium = [p for p in psutil.Process().children(recursive=True) if "chrom" in p.name()]
        ffmpeg = [psutil.Process(pid) for pid in ffmpeg_children()]
        playing = "() => [...document.querySelectorAll('video.tile-video')].map(video => video.currentTime)"
        before = page.evaluate(playing), cpu_seconds([daphne]), cpu_seconds(chromium), cpu_seconds(ffmpeg)
        time.sleep(seconds)
        after = page.evaluate(playing), cpu_seconds([daphne]), cpu_seconds(chromium), cpu_seconds(ffmpeg)
        modes = page.evaluate("() => [...document.querySelectorAll('.live-mode')].map(badge => badge.textContent)")
        advanced = [b - a for a, b in zip(before[0], after[0], strict=True)]
        return {
            "tiles": len(advanced),
            "played": sum(1 for moved in advanced if moved > 0.9 * seconds),
            "modes": {mode: modes.count(mode) for mode in sorted(set(modes))},
            "daphne": (after[1] - before[1]) / seconds,
            "chromium": (after[2] - before[2]) / seconds,
            "chromium_processes": len(chromium),
            "recorders": (after[3] - before[3]) / seconds,
        }
    finally:
        context.close()


def print_latencies(results: dict, firsts: dict[str, list[dict]], tries: int) -> None:
    print("\nlatency: frame's arrival at the server -> its display in Chromium; first frame: player start -> display")
    print(f"{'mode':<7} {'frames':>6} {'p50 s':>7} {'p95 s':>7}   {'first frame s (median / max)':<30} goals")
    for mode, name in MODES.items():
        values, note = results[mode]
        first = sorted(state["first"] / 1000 for state in firsts[mode])
        first_text = f"{statistics.median(first):.2f} / {first[-1]:.2f} ({len(first)} of {tries})" if first else "-"
        goals = [f"p50 <= {GOALS[mode]} s"] if mode in GOALS else []
        goals.append(f"first <= {FIRST_FRAME_GOAL_S} s")
        figures = f"{percentile(values, 0.5):7.3f} {percentile(values, 0.95):7.3f}" if values else f"{'-':>7} {'-':>7}"
        print(f"{name:<7} {len(values):>6} {figures}   {first_text:<30} {', '.join(goals)}")
        if note:
            print(f"        {note}")
        answered = [state["answered"] for state in firsts[mode] if state["answered"] is not None]
        if answered:
            print(f"        first frame: the answer applied after {statistics.median(answered) / 1000:.2f} s (median)")


def print_viewers(results: dict) -> None:
    print("\nserver CPU (daphne, user + system) with MSE WebSocket viewers of one camera")
    print(f"{'viewers':>7} {'daphne % of a core':>19} {'kept up (slowest)':>18}")
    for count, (share, kept) in results.items():
        kept_text = "-" if kept is None else f"{100 * kept:.0f} %"
        print(f"{count:>7} {100 * share:>19.2f} {kept_text:>18}")
    counts = [count for count in results if count]
    low, high = min(counts), max(counts)
    per = 100 * (results[high][0] - results[low][0]) / (high - low)
    print(f"per added viewer ({high} vs {low}): {per:.3f} % of a core   goal <= {PER_VIEWER_GOAL} %")


def print_grid(grid: dict) -> None:
    print(f"\n{grid['tiles']} cameras in the console's grid (/v2/#/live?layout=16, 1920x1080)")
    print(f"tiles that played throughout: {grid['played']} of {grid['tiles']}; modes {grid['modes']}")
    print(
        f"daphne {100 * grid['daphne']:.1f} % of a core; Chromium {100 * grid['chromium']:.1f} % "
        f"({grid['chromium_processes']} processes); the recorders' ffmpeg {100 * grid['recorders']:.1f} %"
    )


def run(args: argparse.Namespace, cameras: list[Camera], token: str, server_url: str, recorders: Recorders) -> None:
    daphne = next(p for p in psutil.Process().children() if "vms.server" in p.cmdline())
    camera = cameras[0]
    feed = FeedLog(camera.pk)
    feed.start()
    started = datetime.now(UTC)
    recorders.start(camera)
    wait_streaming([camera])
    # The recorder's first part is long (ffmpeg gets the camera's first GOPs in one burst), and the live playlist's
    # target duration with it, from which hls.js keeps its distance to the live edge: HLS is measured once that part
    # has left the playlist's window.
    while len(parts_since(camera, started)) <= LIVE_WINDOW:
        time.sleep(0.5)
    # Playwright's sync API keeps an event loop running in this thread, which Django takes for an async context; the
    # server, started before, keeps its checks.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=server_url)
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.add_init_script(f"localStorage.setItem('vms_v2_token', {token!r})")
            # Injected into a page of the server's rather than served by a Playwright route: Chromium refuses a routed
            # page's WebSocket to 127.0.0.1 (ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS).
            page.goto("/v2/health")
            page.set_content(PAGE.read_text())
            page.wait_for_function("window.bench !== undefined")
            results = latencies(page, camera, feed, args.seconds)
            firsts = first_frames(page, camera, args.tries)
            context.close()
            print_latencies(results, firsts, args.tries)
            if feed.restarts:
                print(f"        (the recorder restarted {feed.restarts} times during the run)")
            ws_url = f"{server_url.replace('http', 'ws')}/v2/ws/live/{camera.slug}?token={token}"
            counts = [int(n) for n in args.viewers.split(",")]
            print_viewers({count: daphne_share(count, ws_url, daphne, feed, args.seconds) for count in counts})
            if len(cameras) > 1:
                for other in cameras[1:]:
                    recorders.start(other)
                wait_streaming(cameras)
                print_grid(grid_cpu(browser, server_url, token, daphne, args.seconds))
        finally:
            browser.close()
            feed.stopping.set()
            # What this thread opened while Playwright's loop ran belongs to that context (asgiref's Local): closed
            # here, or the test database could not be dropped.
            connections.close_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument("--viewers", default="0,1,10,50")
    parser.add_argument("--grid", type=int, default=16)
    args = parser.parse_args()
    old_root = settings.VMS_RECORDINGS_ROOT
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    camera_server = RtspCamera()
    camera_server.start()
    print(f"{os.cpu_count()} cores (shared with whatever else runs); {args.seconds:g} s windows after {WARMUP_S} s "
          f"warm-up; db {db_name}; Chromium headless, software decoding", flush=True)  # fmt: skip
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings.VMS_RECORDINGS_ROOT = Path(tmp)
            tenant = Tenant.objects.create(id="bench", name="Bench")
            cameras = [
                Camera.objects.create(
                    tenant=tenant, slug=f"cam-{i:02d}", name=f"Camera {i:02d}", rtsp_url=camera_server.url, features=[]
                )
                for i in range(max(args.grid, 1))
            ]
            token = issue_access_token(tenant, READ_SCOPES, timedelta(hours=1))
            recorders = Recorders()
            try:
                with running_daphne(DAPHNE_LOG) as server:
                    run(args, cameras, token, server.url, recorders)
            finally:
                recorders.stop()  # before their recordings' folder goes
    finally:
        camera_server.stop()
        settings.VMS_RECORDINGS_ROOT = old_root
        connection.creation.destroy_test_db(db_name, verbosity=0)


if __name__ == "__main__":
    main()

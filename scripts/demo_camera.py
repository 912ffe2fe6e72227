"""A real RTSP camera: loops an H.264 MP4 forever without re-encoding (`make run`'s demo camera, the tests' camera),
with an audio stream when asked (`--audio aac` or `pcma`, G.711 A-law), and a substream when asked (`--sub-mount`:
the same clip at 640 pixels wide, as cameras offer for detection and live).

Run with the system interpreter (python3-gi and GstRtspServer come from Debian, not from .venv):

    /usr/bin/python3 scripts/demo_camera.py --port 8554 --mount /demo [--sub-mount /demo/sub] [--media FILE]
        [--audio {none,aac,pcma}]

The file's access units are read once (qtdemux ! h264parse, SPS/PPS repeated before each IDR), and the audio (a
440 Hz tone) is encoded once; both are pushed into appsrcs at real time by one pacing thread per session, with
rewritten timestamps, so timestamps stay continuous across loops: buffer n of a track is stamped t0 + n * its
duration, t0 being the same for video and audio. Each client gets its own session starting on a key frame: at the
clip's start, or, with a substream, at the next key frame of a timeline both mounts share (from the first session's
start), so the substream shows what the main stream shows at the same moment. Prints
`RTSP READY rtsp://127.0.0.1:<port><mount>` (and the substream's URL) once it listens.
"""

import argparse
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

# ../shared beside the checkout, wherever it is.
DEFAULT_MEDIA = str(Path(__file__).resolve().parents[2] / "shared" / "media" / "demo-street.mp4")
TONE_LOOP_S = 8  # 3,520 periods of 440 Hz: the tone's loop has no seam
SUB_WIDTH = 640  # the substream: 640x360 from a 16:9 clip
# Per --audio: sample rate, samples per buffer (an AAC frame is 1,024; G.711 cameras send 20 ms packets), encoder,
# payloader. Rates as cameras send them: G.711 is 8 kHz, AAC cameras are often 16 kHz mono.
AUDIO = {
    "aac": (16000, 1024, "voaacenc bitrate=32000", "rtpmp4gpay pt=97"),
    "pcma": (8000, 160, "alawenc", "rtppcmapay"),
}


@dataclass
class Track:
    """One stream, read or encoded once: its caps, its buffers in order, the duration of each (ns), and the elements
    that put it into RTP packets."""

    caps: Gst.Caps
    buffers: list[Gst.Buffer]
    duration_ns: int
    payloader: str

    def next_key_frame(self, n: int) -> int:
        """The first index from `n` on (buffer n of a session is buffers[n % len]) that holds a key frame."""
        count = len(self.buffers)
        delta = Gst.BufferFlags.DELTA_UNIT
        return next((k for k in range(n, n + count) if not self.buffers[k % count].has_flags(delta)), n)


def pull_all(description: str) -> tuple[Gst.Caps | None, list[Gst.Buffer]]:
    """Every buffer that reaches the `appsink name=sink` of the pipeline `description`, and their caps."""
    pipeline = Gst.parse_launch(description)
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    buffers: list[Gst.Buffer] = []
    caps = None
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        caps = sample.get_caps()
        buffers.append(sample.get_buffer().copy_deep())
        # A loop is no discontinuity (timestamps run on): a first buffer marked one would make the payloader
        # restart its RTP clock at every loop.
        buffers[-1].unset_flags(Gst.BufferFlags.DISCONT)
    pipeline.set_state(Gst.State.NULL)
    return caps, buffers


def read_access_units(path: str) -> Track:
    """All H.264 access units of `path` (byte-stream)."""
    caps, buffers = pull_all(
        f'filesrc location="{path}" ! qtdemux ! h264parse config-interval=-1 '
        "! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false"
    )
    if not buffers or caps is None:
        raise SystemExit(f"no H.264 access units in {path}")
    ok, num, den = caps.get_structure(0).get_fraction("framerate")
    frame_ns = Gst.SECOND * den // num if ok and num else Gst.SECOND // 10
    return Track(caps, buffers, frame_ns, "h264parse ! rtph264pay pt=96 config-interval=-1")


def encode_substream(path: str) -> Track:
    """`path`'s video at SUB_WIDTH wide, encoded once (x264: no B-frames; one slice a frame, as zerolatency's
    sliced threads would split a key frame into two packets of one time; key frames where the clip has them, so a
    session of either mount starts on the same frame), then read as read_access_units reads the main stream."""
    with tempfile.TemporaryDirectory() as folder:
        sub = f"{folder}/sub.mp4"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-an", "-vf", f"scale={SUB_WIDTH}:-2",
             "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0",
             "-force_key_frames", "source", "-x264-params", "keyint=infinite:scenecut=0", sub],
            check=True, timeout=60,
        )  # fmt: skip
        return read_access_units(sub)


def encode_tone(audio: str) -> Track:
    """TONE_LOOP_S of a 440 Hz tone, encoded as `audio` says, one buffer per AAC frame or G.711 packet."""
    rate, samples, encoder, payloader = AUDIO[audio]
    caps, buffers = pull_all(
        f"audiotestsrc freq=440 volume=0.3 samplesperbuffer={samples} num-buffers={TONE_LOOP_S * rate // samples} "
        f"! audio/x-raw,rate={rate},channels=1 ! {encoder} ! appsink name=sink sync=false"
    )
    if not buffers or caps is None:
        raise SystemExit(f"could not encode {audio} audio")
    return Track(caps, buffers, Gst.SECOND * samples // rate, payloader)


class Timeline:
    """When the loop began: frame n of a session is due at epoch + n * the frame's duration. Shared by the mounts
    that play in step; a session's own otherwise, so that it starts at the clip's start."""

    def __init__(self) -> None:
        self.epoch: int | None = None
        self.lock = threading.Lock()

    def start(self, now: int) -> int:
        """The epoch (clock time, ns), `now` when this is the first session to start."""
        with self.lock:
            if self.epoch is None:
                self.epoch = now
            return self.epoch


class LoopingFactory(GstRtspServer.RTSPMediaFactory):
    """Per client session, one appsrc per track, fed by a pacing thread until the session ends.

    The audio comes from an appsrc too: a live test source would answer that the media is seekable, and the
    client's PLAY (with a Range) would then fail on the video's appsrc, which cannot seek."""

    def __init__(self, tracks: list[Track], timeline: Timeline | None = None) -> None:
        super().__init__()
        self.tracks = tracks  # the video first: its appsrc says when the session plays
        self.timeline = timeline
        self.set_shared(False)
        source = "appsrc is-live=true format=time do-timestamp=false"
        streams = [f"{source} name=src{i} ! {track.payloader} name=pay{i}" for i, track in enumerate(tracks)]
        self.set_launch(f"( {' '.join(streams)} )")
        self.connect("media-configure", self._on_configure)

    def _on_configure(self, _factory, media: GstRtspServer.RTSPMedia) -> None:
        sources = [media.get_element().get_by_name(f"src{i}") for i in range(len(self.tracks))]
        for src, track in zip(sources, self.tracks, strict=True):
            src.set_property("caps", track.caps)
        stop = threading.Event()
        media.connect("unprepared", lambda *_: stop.set())
        timeline = self.timeline or Timeline()
        threading.Thread(target=self._feed, args=(sources, timeline, stop), daemon=True).start()

    def _feed(self, sources: list[Gst.Element], timeline: Timeline, stop: threading.Event) -> None:
        clock = Gst.SystemClock.obtain()
        while sources[0].get_state(0)[1] != Gst.State.PLAYING:
            if stop.wait(0.01):
                return
        now = clock.get_time()
        epoch = timeline.start(now)
        video = self.tracks[0]
        start_ns = video.next_key_frame(-(-(now - epoch) // video.duration_ns)) * video.duration_ns
        # Buffers pushed, per track, counted from the epoch: each track starts at its first buffer due from there.
        sent = [-(-start_ns // track.duration_ns) for track in self.tracks]
        while not stop.is_set():
            base = sources[0].get_base_time()
            # The track whose next buffer is due first.
            i = min(range(len(sources)), key=lambda k: sent[k] * self.tracks[k].duration_ns)
            track = self.tracks[i]
            pts = epoch - base + sent[i] * track.duration_ns
            wait_ns = pts - (clock.get_time() - base)
            if wait_ns > 0 and stop.wait(wait_ns / Gst.SECOND):
                break
            buf = track.buffers[sent[i] % len(track.buffers)].copy()
            buf.pts = buf.dts = pts
            buf.duration = track.duration_ns
            if sources[i].emit("push-buffer", buf) != Gst.FlowReturn.OK:
                break
            sent[i] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mount", default="/cam")
    parser.add_argument("--sub-mount", help="also serve a 640x360 substream, in step with --mount (takes ~0.7 s)")
    parser.add_argument("--media", default=DEFAULT_MEDIA)
    parser.add_argument("--audio", choices=["none", *AUDIO], default="none")
    args = parser.parse_args()

    Gst.init(None)
    tracks = [read_access_units(args.media)]
    if args.audio != "none":
        tracks.append(encode_tone(args.audio))
    mounts = {args.mount: tracks}
    if args.sub_mount:
        mounts[args.sub_mount] = [encode_substream(args.media), *tracks[1:]]
    timeline = Timeline() if args.sub_mount else None
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    # A thread per client: the default single thread prepares one client's media at a time, and a substream
    # session's set-up waits for its timeline's next key frame (12 clients at once took 22 s).
    server.get_thread_pool().set_max_threads(-1)
    for mount, mount_tracks in mounts.items():
        server.get_mount_points().add_factory(mount, LoopingFactory(mount_tracks, timeline))
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on port {args.port}")

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print("RTSP READY", *(f"rtsp://127.0.0.1:{args.port}{mount}" for mount in mounts), flush=True)
    loop.run()
    sys.stdout.flush()


if __name__ == "__main__":
    main()

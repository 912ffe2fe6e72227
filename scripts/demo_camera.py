"""A real RTSP camera: loops an H.264 MP4 forever without re-encoding (`make run`'s demo camera, the tests' camera),
with an audio stream when asked (`--audio aac` or `pcma`, G.711 A-law).

Run with the system interpreter (python3-gi and GstRtspServer come from Debian, not from .venv):

    /usr/bin/python3 scripts/demo_camera.py --port 8554 --mount /demo [--media FILE] [--audio {none,aac,pcma}]

The file's access units are read once (qtdemux ! h264parse, SPS/PPS repeated before each IDR), and the audio (a
440 Hz tone) is encoded once; both are pushed into appsrcs at real time by one pacing thread per session, with
rewritten timestamps, so timestamps stay continuous across loops: buffer n of a track is stamped t0 + n * its
duration, t0 being the same for video and audio. Each client gets its own session starting on a key frame. Prints
`RTSP READY rtsp://127.0.0.1:<port><mount>` once it listens.
"""

import argparse
import signal
import sys
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


class LoopingFactory(GstRtspServer.RTSPMediaFactory):
    """Per client session, one appsrc per track, fed by a pacing thread until the session ends.

    The audio comes from an appsrc too: a live test source would answer that the media is seekable, and the
    client's PLAY (with a Range) would then fail on the video's appsrc, which cannot seek."""

    def __init__(self, tracks: list[Track]) -> None:
        super().__init__()
        self.tracks = tracks  # the video first: its appsrc says when the session plays
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
        threading.Thread(target=self._feed, args=(sources, stop), daemon=True).start()

    def _feed(self, sources: list[Gst.Element], stop: threading.Event) -> None:
        clock = Gst.SystemClock.obtain()
        sent = [0] * len(sources)  # buffers pushed, per track
        t0 = None
        while not stop.is_set():
            base = sources[0].get_base_time()
            if t0 is None:
                if sources[0].get_state(0)[1] != Gst.State.PLAYING:
                    stop.wait(0.01)
                    continue
                t0 = clock.get_time() - base  # running time of the first buffers
            # The track whose next buffer is due first.
            i = min(range(len(sources)), key=lambda k: sent[k] * self.tracks[k].duration_ns)
            track = self.tracks[i]
            pts = t0 + sent[i] * track.duration_ns
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
    parser.add_argument("--media", default=DEFAULT_MEDIA)
    parser.add_argument("--audio", choices=["none", *AUDIO], default="none")
    args = parser.parse_args()

    Gst.init(None)
    tracks = [read_access_units(args.media)]
    if args.audio != "none":
        tracks.append(encode_tone(args.audio))
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    server.get_mount_points().add_factory(args.mount, LoopingFactory(tracks))
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on port {args.port}")

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"RTSP READY rtsp://127.0.0.1:{args.port}{args.mount}", flush=True)
    loop.run()
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""A real RTSP camera: loops an H.264 MP4 forever without re-encoding (`make run`'s demo camera, the tests' camera).

Run with the system interpreter (python3-gi and GstRtspServer come from Debian, not from .venv):

    /usr/bin/python3 scripts/demo_camera.py --port 8554 --mount /demo [--media FILE]

The file's access units are read once (qtdemux ! h264parse, SPS/PPS repeated before each IDR) and pushed
into an appsrc at the file's frame rate with rewritten timestamps, so timestamps stay continuous across
loops: frame n of a session is stamped t0 + n * frame duration. Each client gets its own session starting
on a key frame. Prints `RTSP READY rtsp://127.0.0.1:<port><mount>` once it listens.
"""

import argparse
import signal
import sys
import threading
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

# ../shared beside the checkout, wherever it is.
DEFAULT_MEDIA = str(Path(__file__).resolve().parents[2] / "shared" / "media" / "demo-street.mp4")


def read_access_units(path: str) -> tuple[Gst.Caps, list[Gst.Buffer], int]:
    """All H.264 access units of `path` (byte-stream), their caps and the frame duration in ns."""
    pipeline = Gst.parse_launch(
        f'filesrc location="{path}" ! qtdemux ! h264parse config-interval=-1 '
        "! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false"
    )
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
    pipeline.set_state(Gst.State.NULL)
    if not buffers or caps is None:
        raise SystemExit(f"no H.264 access units in {path}")
    structure = caps.get_structure(0)
    ok, num, den = structure.get_fraction("framerate")
    frame_ns = Gst.SECOND * den // num if ok and num else Gst.SECOND // 10
    return caps, buffers, frame_ns


class LoopingFactory(GstRtspServer.RTSPMediaFactory):
    """One appsrc per client session, fed by a pacing thread until the session ends."""

    def __init__(self, caps: Gst.Caps, buffers: list[Gst.Buffer], frame_ns: int) -> None:
        super().__init__()
        self.caps, self.buffers, self.frame_ns = caps, buffers, frame_ns
        self.set_shared(False)
        self.set_launch(
            "( appsrc name=src is-live=true format=time do-timestamp=false "
            "! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )
        self.connect("media-configure", self._on_configure)

    def _on_configure(self, _factory, media: GstRtspServer.RTSPMedia) -> None:
        src = media.get_element().get_by_name("src")
        src.set_property("caps", self.caps)
        stop = threading.Event()
        media.connect("unprepared", lambda *_: stop.set())
        threading.Thread(target=self._feed, args=(src, stop), daemon=True).start()

    def _feed(self, src: Gst.Element, stop: threading.Event) -> None:
        clock = Gst.SystemClock.obtain()
        n = 0
        t0 = None
        while not stop.is_set():
            base = src.get_base_time()
            if t0 is None:
                if src.get_state(0)[1] != Gst.State.PLAYING:
                    stop.wait(0.01)
                    continue
                t0 = clock.get_time() - base  # running time of the first frame
            pts = t0 + n * self.frame_ns
            wait_ns = pts - (clock.get_time() - base)
            if wait_ns > 0 and stop.wait(wait_ns / Gst.SECOND):
                break
            buf = self.buffers[n % len(self.buffers)].copy()
            buf.pts = buf.dts = pts
            buf.duration = self.frame_ns
            if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                break
            n += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mount", default="/cam")
    parser.add_argument("--media", default=DEFAULT_MEDIA)
    args = parser.parse_args()

    Gst.init(None)
    caps, buffers, frame_ns = read_access_units(args.media)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    server.get_mount_points().add_factory(args.mount, LoopingFactory(caps, buffers, frame_ns))
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

"""Starts and stops `scripts/demo_camera.py` (a real RTSP camera) as a subprocess, for fixtures and benchmarks."""

import select
import socket
import subprocess
import time
from pathlib import Path

SERVER = Path(__file__).resolve().parents[1] / "scripts" / "demo_camera.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # python3-gi and GstRtspServer are Debian packages, not in .venv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RtspCamera:
    """One RTSP server process on a fixed port; stop() cuts the stream, start() brings it back on the same port.
    With `substream`, it also serves the clip at 640x360 on `sub_url` (encoding it adds ~0.7 s to each start)."""

    def __init__(
        self, mount: str = "/cam", port: int | None = None, audio: str = "none", substream: bool = False
    ) -> None:
        self.port = port or free_port()
        self.mount = mount
        self.audio = audio  # demo_camera.py's --audio: none, aac or pcma
        self.url = f"rtsp://127.0.0.1:{self.port}{mount}"
        self.sub_url = f"{self.url}/sub" if substream else None
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15) -> None:
        if self.proc is not None:
            return
        argv = [SYSTEM_PYTHON, str(SERVER), "--port", str(self.port), "--mount", self.mount, "--audio", self.audio]
        if self.sub_url is not None:
            argv += ["--sub-mount", f"{self.mount}/sub"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            line = self.proc.stdout.readline() if ready else ""
            if line.startswith("RTSP READY"):
                return
            if self.proc.poll() is not None:
                break
        output = self.proc.stdout.read() if self.proc.poll() is not None else ""
        self.stop()
        raise RuntimeError(f"RTSP server did not start on port {self.port}: {output}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc = None

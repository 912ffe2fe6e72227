"""A real webhook receiver for tests and benchmarks: an HTTP server in its own process that answers POSTs with a
scripted list of statuses (the last one repeats), optionally after a delay, and appends every request it got
(arrival time, path, headers, body) as a JSON line to a file. It speaks HTTP/1.1 and keeps connections open.

    python tests/webhook_receiver.py LOG [--statuses 500,500,200] [--delay 2] [--retry-after 1]

prints `webhook receiver listening on 127.0.0.1:<port>` once it accepts connections. `running_receiver` runs it
for the length of a `with` block; `verify_signature` checks an X-VMS-Signature the way a receiver should.
"""

import argparse
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

READY = "webhook receiver listening on"


def verify_signature(secret: str, header: str, body: bytes, tolerance_s: float = 300) -> bool:
    """Whether `header` (`t=<unix seconds>,v1=<hex>`) signs `body` with `secret` and is recent."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        t = int(fields["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", "")) and abs(time.time() - t) <= tolerance_s


def requests_in(log: Path) -> list[dict]:
    """The requests a receiver has recorded so far, in arrival order."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.endswith("}")]


@contextmanager
def running_receiver(log: Path, statuses: str = "200", delay: float = 0, retry_after: str = "") -> Iterator:
    """The receiver, as a child process, until the block ends: `.url`, `.requests()` (see requests_in)."""
    argv = [sys.executable, __file__, str(log), "--statuses", statuses, "--delay", str(delay)]
    if retry_after:
        argv += ["--retry-after", retry_after]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()  # the child prints it once listening, or exits
        if READY not in line:
            raise RuntimeError(f"webhook receiver did not start: {line!r}")
        yield SimpleNamespace(url=f"http://{line.split()[-1]}/hook", requests=lambda: requests_in(log))
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("log", type=Path)
    parser.add_argument("--statuses", default="200", help="comma-separated; the last one repeats")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--retry-after", default="", help="a Retry-After header to send with every answer")
    args = parser.parse_args()
    statuses = [int(s) for s in args.statuses.split(",")]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers allow: every answer has a Content-Length

        def do_POST(self) -> None:
            arrived = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
                record = {"at": arrived, "path": self.path, "headers": dict(self.headers), "body": body.decode()}
                with args.log.open("a") as out:
                    out.write(json.dumps(record) + "\n")
            time.sleep(args.delay)
            self.send_response(status)
            if args.retry_after:
                self.send_header("Retry-After", args.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *log_args: object) -> None:  # the log file is the record
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"{READY} 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""A private PostgreSQL cluster, a private Redis server and a private S3 server for tests and experiments that stop and
restart them, on ports of their own: the shared servers (5432, 6379) that other runs and `make run` use are never
touched."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from glob import glob
from pathlib import Path

from .rtsp_camera import free_port

REDIS_SERVER = "/usr/bin/redis-server"


def answers(process: subprocess.Popen, port: int, timeout: float) -> bool:
    """Whether `process` accepts connections on 127.0.0.1:`port` within `timeout` s (False once it has exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def terminate(process: subprocess.Popen) -> None:
    """SIGTERM (a clean shutdown, as a service stop does), SIGKILL after 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def postgresql_bin() -> Path:
    """The programs of the newest PostgreSQL installed from the Debian packages."""
    return Path(max(glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name)))


class PrivatePostgres:
    """One cluster in a folder of its own (trust authentication, user `postgres`, no fsync: a test's data need not
    survive a power cut). PostgreSQL refuses to run as root, so as root it runs as the `postgres` OS user.
    stop() and start() keep its port and data, as a restart of the service does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bin = postgresql_bin()
        as_root = os.geteuid() == 0
        self._as = ["runuser", "-u", "postgres", "--"] if as_root else []
        # Not under pytest's tmp_path: that is private to root, and the server must reach its folder.
        self.workdir = Path(tempfile.mkdtemp(prefix="vms-pg-"))
        if as_root:
            shutil.chown(self.workdir, "postgres")
        self.data = self.workdir / "data"
        self.log = self.workdir / "postgres.log"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        settings = {
            "listen_addresses": "127.0.0.1", "port": self.port, "unix_socket_directories": self.workdir,
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": 200,
        }  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())

    def url(self, database: str = "postgres", **params: str) -> str:
        query = "&".join(f"{key}={value}" for key, value in params.items())
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}" + (f"?{query}" if query else "")

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bin / program), *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.log))

    def stop(self, mode: str = "fast") -> None:
        """`fast`, as `systemctl stop postgresql` does: open connections are ended, the server shuts down cleanly."""
        self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data))

    def createdb(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def remove(self) -> None:
        """Stop it (if running) and delete its folder."""
        subprocess.run([*self._as, str(self.bin / "pg_ctl"), "stop", "-m", "immediate", "-D", str(self.data)],
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(self.workdir, ignore_errors=True)


class PrivateRedis:
    """One redis-server without persistence (`--save "" --appendonly no`, like a cache node): a restart empties it,
    leases and queues included. stop() and start() keep its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = Path(tempfile.mkdtemp(prefix="vms-redis-"))  # holds no dump.rdb for it to load at start
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> None:
        if self.proc is not None:
            return
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.workdir), "--loglevel", "warning"]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not answers(self.proc, self.port, timeout):
            self.stop()
            raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc)
            self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class PrivateS3:
    """moto's S3 server (objects in memory) behind a TCP proxy of our own, whose URL is `endpoint`. outage() cuts the
    bucket off as a crashed or unreachable server would (connections refused, open ones closed); restore() listens
    again on the same port, and every object stored before is still there. `moto_endpoint` bypasses the proxy."""

    def __init__(self) -> None:
        self.port, self._moto_port = free_port(), free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.moto_endpoint = f"http://127.0.0.1:{self._moto_port}"
        self.proc: subprocess.Popen | None = None
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self, timeout: float = 30) -> None:
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self._moto_port)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not answers(self.proc, self._moto_port, timeout):
            self.remove()
            raise RuntimeError(f"moto did not start on port {self._moto_port}")
        self.restore()

    def restore(self) -> None:
        """Listen again (on the same port) if cut off."""
        with self._lock:
            if self._listener is not None:
                return
            # SO_REUSEADDR: the port of before, at once, though connections cut on it linger in TIME_WAIT
            listener = self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def outage(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, set()
        if listener is not None:
            _cut(listener)
        for sock in connections:
            _cut(sock)

    def remove(self) -> None:
        self.outage()
        if self.proc is not None:
            terminate(self.proc)
            self.proc = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # outage() shut the listener
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self._moto_port))
            except OSError:
                _cut(client)
                continue
            with self._lock:
                cut_off = self._listener is not listener  # accepted as outage() began: it must not survive it
                if not cut_off:
                    self._connections |= {client, upstream}
            if cut_off:
                _cut(client)
                _cut(upstream)
                return
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        """Copy one direction until either side ends, then end both (HTTP never half-closes here)."""
        with contextlib.suppress(OSError):  # either side cut
            while data := source.recv(65536):
                target.sendall(data)
        with self._lock:
            self._connections -= {source, target}
        _cut(source)
        _cut(target)


def _cut(sock: socket.socket) -> None:
    """Shut down, then close: only a shutdown wakes a thread blocked in accept() or recv() on it."""
    with contextlib.suppress(OSError):  # already shut
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()

"""A private Mosquitto broker (the Debian package's /usr/sbin/mosquitto) for tests and benchmarks, on a port of its
own: the system broker on 1883 is never touched."""

import getpass
import subprocess
from pathlib import Path

from .rtsp_camera import free_port
from .servers import answers, terminate

MOSQUITTO = "/usr/sbin/mosquitto"


class Mosquitto:
    """One broker in `workdir`, persistent like a deployment's (sessions, queued and retained messages survive a
    restart); `users` (name → password) makes it require a login. stop() and start() keep its port."""

    def __init__(self, workdir: Path, users: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.log = workdir / "mosquitto.log"
        self.config = workdir / "mosquitto.conf"
        # `user`: started as root, mosquitto would switch to the mosquitto user, who cannot read the test's folder.
        lines = [f"listener {self.port} 127.0.0.1", f"user {getpass.getuser()}", "persistence true",
                 f"persistence_location {workdir}/", f"log_dest file {self.log}", "log_type all"]  # fmt: skip
        if users:
            passwords = workdir / "passwords"
            passwords.touch(mode=0o600)
            for name, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), name, password], check=True)
            lines += [f"password_file {passwords}", "allow_anonymous false"]
        else:
            lines.append("allow_anonymous true")
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> None:
        if self.proc is not None:
            return
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stderr=subprocess.PIPE, text=True)
        if not answers(self.proc, self.port, timeout):
            error = self.proc.stderr.read() if self.proc.poll() is not None else "timed out"
            self.stop()
            raise RuntimeError(f"mosquitto did not start on port {self.port}: {error}")

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), which writes the persistence file, as `systemctl restart` does."""
        if self.proc is None:
            return
        terminate(self.proc)
        self.proc.stderr.close()
        self.proc = None

"""The web process: daphne's command line, with `token=` (JWTs) and `sig=` values (a signed media URL's key to its
file until it expires) kept out of its access log, and a PostgreSQL connection pool by default.

Run as `python -m vms.server <daphne's arguments>`. Browsers can only send a WebSocket's or a media URL's token in
the query string (`?token=`), and daphne's access log (stdout unless --access-log) writes each request's full URI;
it writes to a stream, not through `logging`, so no logging filter can reach it. Its Server class is the one place
every access log entry passes through.
"""

import os
import re

from daphne.cli import CommandLineInterface
from daphne.server import Server

_CREDENTIAL = re.compile(r"([?&](?:token|sig)=)[^&#\s]*", re.IGNORECASE)


def redact_tokens(uri: str) -> str:
    """`uri` with the value of each `token` and `sig` query parameter replaced by `***`."""
    return _CREDENTIAL.sub(r"\1***", uri)


class RedactingServer(Server):
    def log_action(self, protocol: str, action: str, details: dict) -> None:
        if "path" in details:
            details = {**details, "path": redact_tokens(details["path"])}
        super().log_action(protocol, action, details)


class RedactingCommandLineInterface(CommandLineInterface):
    server_class = RedactingServer


if __name__ == "__main__":
    # Every request runs on a thread of its own here, the case the pool is for (see DB_POOL_MAX_SIZE in settings).
    os.environ.setdefault("DB_POOL_MAX_SIZE", "20")
    RedactingCommandLineInterface.entrypoint()

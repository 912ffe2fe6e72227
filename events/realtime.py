"""The one publish helper: every new event reaches its tenant's WebSocket group through here.

Sends run on one background event loop per process, so a writer (a request, the detector's Celery task)
never waits on Redis and no event loop is built per event.
"""

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Iterable

from channels.layers import get_channel_layer

from tenants.groups import tenant_group

from .models import Event
from .serializers import event_json

logger = logging.getLogger(__name__)

EVENTS_MESSAGE_TYPE = "events.created"  # handled by EventsConsumer.events_created
# A batch from create_events travels in few messages; far below Redis' and the layer's size limits.
EVENTS_PER_MESSAGE = 100
FLUSH_TIMEOUT_S = 5.0
BATCH_SIZE = 20  # concurrent sends; well under channels-redis' connection pool


class _Sender:
    """A daemon thread whose event loop drains a queue of sends in small concurrent batches (bounded by the
    channel layer's connection pool). Restarted in a forked child, e.g. a Celery prefork worker."""

    def __init__(self) -> None:
        self._idle = threading.Condition()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._unsent = 0

    def _start(self) -> None:
        self._loop, self._queue, self._unsent = asyncio.new_event_loop(), asyncio.Queue(), 0
        threading.Thread(target=self._loop.run_forever, name="event-publisher", daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._drain(), self._loop)
        self._pid = os.getpid()

    def send(self, group: str, message: dict) -> None:
        with self._idle:
            if self._pid != os.getpid():
                self._start()
            self._unsent += 1
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (group, message))

    async def _drain(self) -> None:
        layer = get_channel_layer()
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < BATCH_SIZE:
                batch.append(self._queue.get_nowait())
            by_group: dict[str, list[dict]] = {}
            for group, message in batch:
                by_group.setdefault(group, []).append(message)
            await asyncio.gather(*(_send_in_order(layer, group, messages) for group, messages in by_group.items()))
            with self._idle:
                self._unsent -= len(batch)
                self._idle.notify_all()

    def flush(self, timeout: float = FLUSH_TIMEOUT_S) -> bool:
        """Wait until every queued send is done (at exit, so a command's or worker's last events still go out)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unsent == 0 or self._pid != os.getpid(), timeout)


async def _send_in_order(layer, group: str, messages: list[dict]) -> None:
    """One group's messages one after another: its clients get a process's events in commit order, so the last event
    a client saw is where it can resume (EventsConsumer's `after`). Concurrent sends could swap them."""
    for message in messages:
        try:
            await layer.group_send(group, message)
        except Exception:
            # Realtime is best effort: the row is committed and stays readable through the API.
            logger.exception("Could not publish an event to the channel layer")


_sender = _Sender()
atexit.register(_sender.flush)
flush_published = _sender.flush


def publish_events(events: Iterable[Event]) -> None:
    """Send stored events to their tenants' groups, up to EVENTS_PER_MESSAGE per channel-layer message:
    {"type": "events.created", "events": [<event JSON>, ...]}. The consumer sends each event as its own frame."""
    by_tenant: dict[str, list[dict]] = {}
    for event in events:
        by_tenant.setdefault(event.tenant_id, []).append(event_json(event))
    for tenant_id, payloads in by_tenant.items():
        for start in range(0, len(payloads), EVENTS_PER_MESSAGE):
            chunk = payloads[start : start + EVENTS_PER_MESSAGE]
            _sender.send(tenant_group(tenant_id), {"type": EVENTS_MESSAGE_TYPE, "events": chunk})

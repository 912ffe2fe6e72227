"""A camera's live feed: fragmented MP4 from its recorder's ffmpeg, through a Redis stream, to every viewer on every web
process, without a second connection to the camera.

Writer (in the recorder): `LiveWriter.feed()` takes ffmpeg's fMP4 output in any chunks, stamps each media segment
with a `prft` (when the server had it) and appends it to the stream `<prefix>:live:<camera pk>`. A segment that
starts on a key frame also carries the init segment, and trims the stream to the previous key frame, so the stream
holds at most two GOPs. Most cameras have no viewer most of the time, so only key-frame segments are published
until one has: a web process with viewers of the camera keeps `<prefix>:live:<camera pk>:viewers` alive, and the
recorder reads it with each key frame (in the same round trip). A viewer that joins gets the latest key frame at
once (a picture), and the full stream from the next key frame on. The stream expires a few seconds after its
recorder stops.

Reader (a web process): `watch(camera pk)` is one Redis reader per camera per process, whatever the number of viewers
there; each viewer gets the init, the segments from the latest key frame, then each new one. A viewer whose socket
cannot keep up skips to the next key frame rather than falling further behind or holding memory.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis
import redis.asyncio
from django.conf import settings

from . import fmp4

logger = logging.getLogger(__name__)

TTL_MS = 10_000  # a stopped recorder's feed is gone after this: viewers see "waiting" rather than a frozen picture
VIEWERS_TTL_MS = 10_000  # a web process's mark that it has viewers of a camera; renewed every READ_BLOCK_MS
READ_BLOCK_MS = 3_000
QUEUED_MAX = 64  # segments waiting for a viewer's socket (~13 s of 0.2 s segments): more means it cannot keep up


def stream_key(camera_pk: int) -> str:
    return f"{settings.VMS_REDIS_PREFIX}:live:{camera_pk}"


def viewers_key(camera_pk: int) -> str:
    return f"{stream_key(camera_pk)}:viewers"


class LiveWriter:
    """One ffmpeg run's fMP4 output into the camera's stream. Recording never waits for this: Redis being away
    loses live segments (logged once), and the feed starts again at the next key frame once it is back."""

    def __init__(self, client: redis.Redis, camera_pk: int) -> None:
        self.client = client
        self.key = stream_key(camera_pk)
        self.viewers_key = viewers_key(camera_pk)
        self.boxes = fmp4.BoxReader()
        self.ftyp = b""
        self.init: fmp4.InitSegment | None = None
        self.moof: bytes | None = None
        self.last_key_id: bytes | None = None
        self.synced = False  # the stream has this run's latest key frame: plain segments may follow it
        self.watched = False  # some web process had viewers at the latest key frame
        self.failed = False
        self.session = uuid.uuid4().hex.encode()  # this ffmpeg run's: its init may be byte for byte the last run's

    def feed(self, chunk: bytes) -> None:
        for kind, box in self.boxes.feed(chunk):
            if kind == b"ftyp":
                self.ftyp = box
            elif kind == b"moov":
                self.init = fmp4.parse_init(self.ftyp + box)
            elif kind == b"moof":
                self.moof = box
            elif kind == b"mdat" and self.moof is not None and self.init is not None:
                self._publish(self.moof + box)
                self.moof = None

    def _publish(self, segment: bytes) -> None:
        video = self.init.video.id
        keyframe, end = fmp4.video_span(segment, video)
        if not (keyframe or (self.synced and self.watched)):
            return
        stamped = fmp4.prft(video, time.time(), end) + segment
        fields = {"d": stamped, "i": self.init.data, "s": self.session} if keyframe else {"d": stamped}
        try:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.xadd(self.key, fields, minid=self.last_key_id if keyframe else None, approximate=False)
                pipe.pexpire(self.key, TTL_MS)
                if keyframe:
                    pipe.exists(self.viewers_key)
                entry_id, *_, watched = pipe.execute()
        except redis.RedisError:
            if not self.failed:
                logger.warning("live feed %s: Redis refused a segment; live resumes at a key frame", self.key)
            self.failed, self.synced = True, False
            return
        if keyframe:
            self.last_key_id, self.watched = entry_id, bool(watched)
        self.failed, self.synced = False, True


@dataclass(frozen=True)
class Entry:
    kind: str  # "init" | "media"
    data: bytes
    keyframe: bool = False


class Watcher:
    """One viewer's queue of entries; iterate it for them."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Entry] = asyncio.Queue()
        self.session: bytes | None = None
        self.skipping = True  # until a key frame: a decoder starts there

    def offer(self, data: bytes, init: bytes | None, session: bytes | None) -> None:
        """A segment from the stream (`init` and the recorder's `session` are set on key frames)."""
        if init is None and self.skipping:
            return
        if self.queue.qsize() >= QUEUED_MAX:
            while not self.queue.empty():  # dropped: the viewer starts again at the next key frame
                self.queue.get_nowait()
            self.skipping = True
            if init is None:
                return
        if init is not None and session != self.session:  # a new ffmpeg run: its media times start anew
            self.queue.put_nowait(Entry("init", init))
            self.session = session
        self.queue.put_nowait(Entry("media", data, keyframe=init is not None))
        self.skipping = False

    def __aiter__(self) -> AsyncIterator[Entry]:
        return self

    async def __anext__(self) -> Entry:
        return await self.queue.get()


class _Feed:
    """A camera's stream read once for all this process's watchers; keeps the entries from the latest key frame."""

    def __init__(self, camera_pk: int) -> None:
        self.key = stream_key(camera_pk)
        self.viewers_key = viewers_key(camera_pk)
        # A read waits up to READ_BLOCK_MS for a segment: the socket's timeout must outlast it.
        self.client = redis.asyncio.from_url(settings.REDIS_URL, socket_timeout=READ_BLOCK_MS / 1000 + 5)
        self.watchers: set[Watcher] = set()
        self.gop: list[tuple[bytes, bytes | None, bytes | None]] = []
        self.last_id = b"0-0"
        self.marked_until = 0.0
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        try:
            await self._mark_viewed()
            self._take(await self.client.xrange(self.key))
        except redis.RedisError:
            logger.warning("live feed %s: Redis unreachable, retrying", self.key)
        self.task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.client.aclose()

    def join(self, watcher: Watcher) -> None:
        self.watchers.add(watcher)
        for entry in self.gop:
            watcher.offer(*entry)

    async def _follow(self) -> None:
        while True:
            try:
                await self._mark_viewed()
                # Woken in time for the next mark, whether or not segments come (an unwatched camera's are rare).
                block_ms = max(1, int((self.marked_until - time.monotonic()) * 1000))
                found = await self.client.xread({self.key: self.last_id}, block=block_ms)
            except redis.RedisError:
                await asyncio.sleep(1)
                continue
            for _, entries in found:
                self._take(entries)

    async def _mark_viewed(self) -> None:
        """Tell the recorder this process has viewers, so it publishes every segment (not only key frames)."""
        if time.monotonic() >= self.marked_until:
            await self.client.set(self.viewers_key, 1, px=VIEWERS_TTL_MS)
            self.marked_until = time.monotonic() + READ_BLOCK_MS / 1000

    def _take(self, entries: list) -> None:
        for entry_id, fields in entries:
            self.last_id = entry_id
            entry = fields[b"d"], fields.get(b"i"), fields.get(b"s")
            if entry[1] is not None:
                self.gop = []
            if entry[1] is not None or self.gop:
                self.gop.append(entry)
            for watcher in self.watchers:
                watcher.offer(*entry)


_feeds: dict[int, _Feed] = {}
_starting: dict[int, asyncio.Future] = {}


@contextlib.asynccontextmanager
async def watch(camera_pk: int) -> AsyncIterator[Watcher]:
    """The camera's live entries for one viewer of this process; `watcher.queue` is empty at first when the camera
    is not streaming."""
    feed = _feeds.get(camera_pk)
    if feed is None:
        feed = _feeds[camera_pk] = _Feed(camera_pk)
        _starting[camera_pk] = asyncio.ensure_future(feed.start())
    await asyncio.shield(_starting[camera_pk])
    watcher = Watcher()
    feed.join(watcher)
    try:
        yield watcher
    finally:
        feed.watchers.discard(watcher)
        if not feed.watchers and _feeds.get(camera_pk) is feed:
            del _feeds[camera_pk]
            del _starting[camera_pk]
            await feed.stop()

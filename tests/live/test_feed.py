"""live/feed.py's Watcher: what one viewer is sent as segments come from the stream."""

from live.feed import QUEUED_MAX, Watcher

INIT = b"ftyp+moov"


def drain(watcher: Watcher) -> list[tuple[str, bytes]]:
    entries = []
    while not watcher.queue.empty():
        entry = watcher.queue.get_nowait()
        entries.append((entry.kind, entry.data))
    return entries


async def test_a_viewer_starts_at_a_key_frame_and_gets_the_init_of_each_ffmpeg_run():
    watcher = Watcher()
    watcher.offer(b"p0", None, None)  # before any key frame: a decoder could not start there
    watcher.offer(b"k1", INIT, b"run-1")
    watcher.offer(b"p1", None, None)
    watcher.offer(b"k2", INIT, b"run-1")  # the same run: no new init
    # The recorder's next ffmpeg: the same init bytes, but its media times start anew, so the player must reset.
    watcher.offer(b"k3", INIT, b"run-2")
    assert drain(watcher) == [
        ("init", INIT), ("media", b"k1"), ("media", b"p1"), ("media", b"k2"), ("init", INIT), ("media", b"k3"),
    ]  # fmt: skip


async def test_a_viewer_that_cannot_keep_up_skips_to_the_next_key_frame():
    watcher = Watcher()
    watcher.offer(b"k1", INIT, b"run-1")
    for n in range(QUEUED_MAX + 5):
        watcher.offer(b"p%d" % n, None, None)
    assert watcher.queue.qsize() <= QUEUED_MAX
    drain(watcher)
    watcher.offer(b"late", None, None)  # still skipping: only a key frame lets it start again
    watcher.offer(b"k2", INIT, b"run-1")
    watcher.offer(b"p", None, None)
    assert drain(watcher) == [("media", b"k2"), ("media", b"p")]

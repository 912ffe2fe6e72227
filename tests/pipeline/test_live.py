"""Live over WebSocket (MSE) from a real recorder: the recorder's own ffmpeg, on its one connection to the camera,
feeds fragmented MP4 through Redis to every viewer."""

import asyncio
import json
import subprocess
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from cameras.pipeline.lease import client
from live import feed, fmp4
from live.feed import stream_key
from playback.models import Segment
from playback.paths import recordings_path
from playback.recording.recorder import ffmpeg_argv
from vms.asgi import application

from ..factories import CameraFactory, TenantFactory
from ..rtsp_camera import free_port
from .test_recorder import wait_for

MAIN_CODEC = "avc1.4d401f"  # the demo clip: H.264 Main, level 3.1
SUB_CODEC = "avc1.42c016"  # demo_camera.py's substream: x264 ultrafast, Constrained Baseline, level 2.2

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_consumer_connections():
    yield
    await database_sync_to_async(connections.close_all)()


async def connect(token: str, camera: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/v2/ws/live/{camera}?token={token}")
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def stream_start(viewer: WebsocketCommunicator, codec: str = MAIN_CODEC) -> tuple[fmp4.InitSegment, bytes]:
    """The init (checked against its announcement) and the first media segment a viewer gets."""
    message = json.loads(await viewer.receive_from(timeout=20))
    if message == {"type": "waiting"}:
        message = json.loads(await viewer.receive_from(timeout=20))
    assert message["type"] == "init"
    init = fmp4.parse_init(await viewer.receive_from(timeout=5))
    assert message["mime"] == init.mime == f'video/mp4; codecs="{codec}"'
    return init, await viewer.receive_from(timeout=5)


def video_size(path: Path) -> tuple[int, int]:
    """(width, height) of the file's video, as ffprobe reads it."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0",
         str(path)],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    width, height = out.stdout.split()[0].split(",")  # MPEG-TS lists the stream again under its program
    return int(width), int(height)


async def test_viewers_start_at_a_key_frame_and_share_one_feed(live_camera, start_recorder, make_token):
    start_recorder(live_camera)
    # No viewer: the stream holds key frames only (a picture for whoever comes), not every segment.
    stream = client().xrange
    await asyncio.to_thread(wait_for, lambda: len(stream(stream_key(live_camera.pk))) >= 2, timeout=30)
    assert all(b"i" in fields for _, fields in stream(stream_key(live_camera.pk)))

    token = make_token(live_camera.tenant)
    first = await connect(token, "cam-live")
    init, segment = await stream_start(first)
    video = init.video
    keyframe, end = fmp4.video_span(segment, video.id)
    assert keyframe
    # The recorder learns of the viewer with its next key frame; from there every segment follows the one before
    # it, lasts 0.2 s (2 frames; sooner at a key frame), and its prft says when the server had it: now.
    jumps, durations = 0, []
    for _ in range(12):
        segment = await first.receive_from(timeout=5)
        stamped, media_time = fmp4.producer_time(segment)
        assert time.time() - stamped < 0.5
        frames = [s for s in fmp4.samples(segment) if s.track_id == video.id]
        if frames[0].decode_time != end:
            assert frames[0].sync and not durations  # a jump: only to the next key frame, before the full stream
            jumps += 1
        end = media_time
        assert end == frames[-1].decode_time + frames[-1].duration
        durations.append((end - frames[0].decode_time) / video.timescale)
    assert jumps <= 1 and max(durations) == pytest.approx(0.2) and min(durations) > 0

    # A late viewer starts at the latest key frame, from the same feed (one Redis reader in this process).
    late = await connect(token, "cam-live")
    _, joined = await stream_start(late)
    assert fmp4.video_span(joined, video.id)[0]
    assert time.time() - fmp4.producer_time(joined)[0] < 2.5  # the demo camera's GOP is 2 s
    assert len(feed._feeds) == 1
    # The same bytes: the first viewer's newest segment reaches the late one after its backlog (at most a GOP).
    newest = await first.receive_from(timeout=5)
    assert newest in [await late.receive_from(timeout=5) for _ in range(11)]
    for viewer in (first, late):
        await viewer.disconnect()
    assert feed._feeds == {}


async def test_another_tenants_camera_is_not_found(live_camera, make_token):
    other = await database_sync_to_async(TenantFactory)(id="tenant-b")
    await database_sync_to_async(CameraFactory)(tenant=other, slug="cam-b")
    viewer = await connect(make_token(live_camera.tenant), "cam-b")
    assert json.loads(await viewer.receive_from()) == {"type": "error", "detail": "No camera 'cam-b' in this tenant."}
    assert (await viewer.receive_output())["code"] == 4404


async def test_a_token_without_cameras_read_is_refused(live_camera, make_token):
    communicator = WebsocketCommunicator(
        application, f"/v2/ws/live/cam-live?token={make_token(live_camera.tenant, scopes=['events:read'])}"
    )
    connected, _ = await communicator.connect(timeout=5)
    assert not connected


def test_live_url_is_a_second_input_of_the_one_ffmpeg_that_only_live_maps():
    argv = ffmpeg_argv("rtsp://cam/main", Path("/tmp/staging"), 2.0, 7, "pcm_alaw", live=("rtsp://cam/sub", "aac"))
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-i"] == ["rtsp://cam/main", "rtsp://cam/sub"]
    parts = argv.index("/tmp/staging/seg-%d.ts")
    recorded, live = argv[argv.index("rtsp://cam/sub") + 1 : parts], argv[parts:]
    assert [recorded[i + 1] for i, a in enumerate(recorded) if a == "-map"] == ["0:v:0", "0:a:0"]
    assert [live[i + 1] for i, a in enumerate(live) if a == "-map"] == ["1:v:0", "1:a:0"]
    assert [a for i, a in enumerate(argv) if argv[i - 1] == "-c:a"] == ["aac", "copy"]  # G.711 encoded, AAC copied
    without_audio = ffmpeg_argv("rtsp://cam/main", Path("/tmp/staging"), 2.0, 7, None, live=("rtsp://cam/sub", None))
    assert [a for i, a in enumerate(without_audio) if without_audio[i - 1] == "-map"] == ["0:v:0", "1:v:0"]


async def test_live_url_feeds_live_while_the_main_stream_is_recorded(
    transactional_db, substream_server, start_recorder, make_token, tmp_path
):
    camera = await database_sync_to_async(CameraFactory)(
        tenant=await database_sync_to_async(TenantFactory)(id="tenant-a"), slug="cam-sub", features=[],
        rtsp_url=substream_server.url, live_url=substream_server.sub_url,
    )  # fmt: skip
    start_recorder(camera)
    viewer = await connect(make_token(camera.tenant), "cam-sub")
    init, segment = await stream_start(viewer, SUB_CODEC)
    (tmp_path / "live.mp4").write_bytes(init.data + segment)
    assert video_size(tmp_path / "live.mp4") == (640, 360)
    await viewer.disconnect()
    recorded = await database_sync_to_async(wait_for)(
        lambda: Segment.objects.filter(camera=camera).values_list("path", flat=True).first(), timeout=30
    )
    assert video_size(recordings_path(recorded)) == (1280, 720)


async def test_an_unreachable_live_url_leaves_live_on_the_main_stream(live_camera, start_recorder, make_token):
    """ffmpeg would not start on a live_url it cannot open, recording included: the probe leaves it out."""
    live_camera.live_url = f"rtsp://127.0.0.1:{free_port()}/sub"
    await database_sync_to_async(live_camera.save)()
    start_recorder(live_camera)
    viewer = await connect(make_token(live_camera.tenant), "cam-live")
    await stream_start(viewer, MAIN_CODEC)
    await viewer.disconnect()

"""The recorder on the real RTSP camera: ffmpeg -c copy segments on disk, indexed, playable end to end."""

import itertools
import json
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.conf import settings

from cameras.models import Camera, StatusChange
from playback.models import Segment
from playback.playlists import object_parts
from playback.recording.recorder import ffmpeg_argv


def wait_for(predicate, timeout: float, step: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s")


def test_argv_is_a_list_that_copies_and_keeps_the_url_one_argument():
    url = "rtsp://u:p@cam;rm -rf /:554/x y"
    argv = ffmpeg_argv(url, Path("/tmp/staging"), 2.0, 7, None)
    assert argv[argv.index("-i") + 1] == url
    assert "-vf" not in argv and "-filter:v" not in argv
    assert argv[argv.index("-segment_time") + 1] == "2"
    # Two outputs of the one input: the parts, and live's fragmented MP4 on the pipe; video copied into both.
    assert argv.count("-c:v") == 2 and {argv[i + 1] for i, a in enumerate(argv) if a == "-c:v"} == {"copy"}
    assert argv[-1] == "pipe:7" and "-map" in argv[argv.index("-segment_list") :]
    assert "0:a:0" not in argv  # no audio track: video only, as before


def test_audio_is_copied_when_aac_and_encoded_to_aac_otherwise():
    for codec, expected in (("aac", "copy"), ("pcm_alaw", "aac"), ("pcm_mulaw", "aac")):
        argv = ffmpeg_argv("rtsp://cam/x", Path("/tmp/staging"), 2.0, 7, codec)
        assert argv.count("0:a:0") == 2
        assert [argv[i + 1] for i, a in enumerate(argv) if a == "-c:a"] == [expected, expected]


@pytest.mark.django_db(transaction=True)
def test_records_indexed_playable_objects(live_camera, start_recorder, client_a, tmp_path):
    recorder = start_recorder(live_camera)
    wait_for(lambda: Segment.objects.filter(camera=live_camera).count() >= 4, timeout=30)
    recorder.stop()

    objects = list(Segment.objects.filter(camera=live_camera).order_by("start"))
    root = Path(settings.VMS_RECORDINGS_ROOT)
    for obj in objects:
        assert obj.path == f"tenant-a/cam-live/{obj.start:%Y-%m-%d/%H}/{int(obj.start.timestamp() * 1000)}.ts"
        assert obj.tenant_id == "tenant-a"
        assert (root / obj.path).stat().st_size == obj.bytes == sum(obj.sizes) > 10_000
        assert obj.duration == pytest.approx(sum(obj.durations), abs=0.002)
        # Objects of VMS_OBJECT_SECONDS (4 in the tests) of wall clock: never two slots in one object.
        last_start = obj.start.timestamp() + sum(obj.durations[:-1])
        assert int(obj.start.timestamp() // 4) == int(last_start // 4), (obj.start, obj.durations)
    assert not list(root.glob("tenant-a/cam-live/*/*/*.parts")), "indexed objects keep no sidecar"
    parts = [part for obj in objects for part in object_parts(obj.path, obj.start, obj.sizes, obj.durations)]
    # 2 s parts (GOP 2 s; the first and last may differ), back to back: no gap, no overlap in one connection.
    assert all(abs(p.duration - 2.0) < 0.15 for p in parts[1:-1]), [(p.start, p.duration) for p in parts]
    assert any(len(obj.sizes) == 2 for obj in objects), "objects hold several parts"
    for prev, nxt in itertools.pairwise(parts):
        assert abs((nxt.start - prev.start).total_seconds() - prev.duration) < 0.05
    assert abs((parts[0].start.timestamp()) - time.time()) < 60
    assert not list(root.glob("tenant-a/cam-live/.incoming/*")), "staging folders are removed"

    # The parts as an HLS playlist of byte ranges play end to end: ffprobe decodes every frame, H.264 1280x720 as
    # sent (no re-encode).
    playlist = root / "play.m3u8"
    lines = ["#EXTM3U", "#EXT-X-VERSION:4", "#EXT-X-TARGETDURATION:3", "#EXT-X-MEDIA-SEQUENCE:0"]
    for part in parts:
        lines += [f"#EXTINF:{part.duration:.3f},", f"#EXT-X-BYTERANGE:{part.size}@{part.offset}", str(root / part.path)]
    playlist.write_text("\n".join([*lines, "#EXT-X-ENDLIST", ""]))
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,width,height,nb_read_frames", "-of", "json", str(playlist)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    stream = json.loads(probe.stdout)["streams"][0]
    total = sum(p.duration for p in parts)
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 1280, 720)
    assert abs(int(stream["nb_read_frames"]) - total * 10) <= 3  # 10 fps

    # OpenCV reads every part's byte range on its own, from its first frame (each starts on a key frame).
    for part in parts:
        with (root / part.path).open("rb") as data:
            data.seek(part.offset)
            (tmp_path / "part.ts").write_bytes(data.read(part.size))
        capture = cv2.VideoCapture(str(tmp_path / "part.ts"))
        frames = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            assert frame.shape == (720, 1280, 3)
            frames += 1
        capture.release()
        assert abs(frames - part.duration * 10) <= 1

    response = client_a.get("/v2/hls/cam-live/latest.jpg")
    assert response.status_code == 200
    snapshot = cv2.imdecode(np.frombuffer(b"".join(response.streaming_content), np.uint8), cv2.IMREAD_COLOR)
    assert snapshot.shape == (720, 1280, 3)

    live_camera.refresh_from_db()
    assert live_camera.status == Camera.Status.OFFLINE  # stopped recorder
    changes = list(StatusChange.objects.filter(camera=live_camera).values_list("status", flat=True))
    assert changes == ["online", "offline"]

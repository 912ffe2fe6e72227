"""Audio: a camera's audio is recorded as AAC (copied, or encoded from G.711), kept by exports, and a camera without
audio still records video only. Real demo cameras (`--audio aac`, `pcma`, `none`), the real recorder, ffprobe."""

import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from cameras.pipeline.lease import client
from live import fmp4
from live.feed import stream_key
from playback.exports import export_folder, run_export
from playback.models import Export, ExportFile, Segment
from playback.recording.probe import ProbeFailed, audio_codec

from ..factories import CameraFactory, TenantFactory
from ..rtsp_camera import RtspCamera, free_port
from .test_recorder import wait_for

# What ffprobe names each demo camera's audio, and the sample rate of what is recorded (as the camera sends it).
CAMERA_AUDIO = {"aac": "aac", "pcma": "pcm_alaw", "none": None}
RECORDED_RATE = {"aac": 16000, "pcma": 8000}
TONE_PEAK_DB = -10.5  # demo_camera.py's 440 Hz tone at volume 0.3: 20 log10(0.3)


@pytest.fixture(scope="module")
def demo_cameras():
    """A real RTSP camera per --audio kind, shared by the module."""
    cameras = {audio: RtspCamera(audio=audio) for audio in CAMERA_AUDIO}
    try:
        for camera in cameras.values():
            camera.start()
        yield cameras
    finally:
        for camera in cameras.values():
            camera.stop()


def streams(path: Path) -> dict[str, dict]:
    """Per codec type, ffprobe's stream entry with `span`: from its first packet's time to its last one's end (s)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "stream=index,codec_type,codec_name,sample_rate:packet=stream_index,pts_time,duration_time", "-of", "json",
         str(path)],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    found = json.loads(out.stdout)
    by_index = {s["index"]: s for s in found["streams"]}
    for stream in by_index.values():
        packets = [p for p in found["packets"] if p["stream_index"] == stream["index"]]
        times = [(float(p["pts_time"]), float(p["duration_time"])) for p in packets]
        stream["span"] = (min(times)[0], max(t + d for t, d in times))
    return {s["codec_type"]: s for s in by_index.values()}


def peak_volume(path: Path) -> float:
    """The audio's peak volume in dB (ffmpeg decodes it all). Not its mean: a file's first AAC frame decodes as its
    overlap with nothing, half silence, which weighs on the mean of a short part (a 0.2 s one: 2 dB)."""
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-map", "0:a:0", "-af", "volumedetect",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return float(re.search(r"max_volume: (-?[\d.]+) dB", out.stderr)[1])


def check_audio(path: Path, audio: str) -> None:
    """`path` holds H.264 and, when the camera has audio, the tone as AAC from the video's start to its end."""
    found = streams(path)
    assert set(found) == ({"video"} if audio == "none" else {"video", "audio"}), path.name
    assert found["video"]["codec_name"] == "h264"
    if audio == "none":
        return
    assert (found["audio"]["codec_name"], int(found["audio"]["sample_rate"])) == ("aac", RECORDED_RATE[audio])
    # The audio runs as long as the video, to a frame (an AAC frame at 8 kHz is 128 ms).
    assert all(abs(a - v) < 0.25 for a, v in zip(found["audio"]["span"], found["video"]["span"], strict=True)), found
    assert abs(peak_volume(path) - TONE_PEAK_DB) < 1.5  # the tone itself, decoded, not silence or noise


@pytest.mark.parametrize("audio", CAMERA_AUDIO)
def test_audio_codec_names_the_cameras_audio(demo_cameras, audio):
    assert audio_codec(demo_cameras[audio].url) == CAMERA_AUDIO[audio]


def test_audio_codec_raises_when_the_camera_is_unreachable_without_telling_the_password():
    with pytest.raises(ProbeFailed) as failed:
        audio_codec(f"rtsp://viewer:s3cret@127.0.0.1:{free_port()}/cam")
    assert "Connection refused" in str(failed.value)
    assert "rtsp://viewer:***@127.0.0.1" in str(failed.value)
    assert "s3cret" not in str(failed.value)


def check_live_audio(camera_pk: int, audio: str) -> None:
    """Live carries the audio too: the feed's init has an AAC track, and its segments have audio samples."""
    entries = client().xrange(stream_key(camera_pk))
    init = fmp4.parse_init(next(fields[b"i"] for _, fields in entries if b"i" in fields))
    sound = [track for track in init.tracks if track.kind == "audio"]
    tracks = {sample.track_id for _, fields in entries for sample in fmp4.samples(fields[b"d"])}
    if audio == "none":
        assert (init.mime, tracks) == ('video/mp4; codecs="avc1.4d401f"', {init.video.id})
    else:
        assert init.mime == 'video/mp4; codecs="avc1.4d401f,mp4a.40.2"'
        assert tracks == {init.video.id, sound[0].id} and sound[0].timescale == RECORDED_RATE[audio]


@pytest.mark.django_db(transaction=True)
def test_records_and_exports_the_audio_as_aac(demo_cameras, start_recorder):
    """The three cameras record at once (one wait for all), and one export has a file of each."""
    tenant = TenantFactory(id="tenant-a")
    cameras = {
        audio: CameraFactory(tenant=tenant, slug=f"cam-{audio}", rtsp_url=demo.url, features=[])
        for audio, demo in demo_cameras.items()
    }
    recorders = [start_recorder(camera) for camera in cameras.values()]
    wait_for(lambda: all(Segment.objects.filter(camera=camera).exists() for camera in cameras.values()), timeout=30)
    for audio, camera in cameras.items():
        check_live_audio(camera.pk, audio)
    for recorder in recorders:
        recorder.stop()

    objects = Segment.objects.filter(camera__in=cameras.values()).order_by("start")
    for audio, camera in cameras.items():
        for obj in objects.filter(camera=camera):
            check_audio(settings.VMS_RECORDINGS_ROOT / obj.path, audio)

    end = max(obj.start + timedelta(seconds=obj.duration) for obj in objects)
    export = Export.objects.create(
        tenant=tenant, start=objects[0].start, end=end, expires=timezone.now() + timedelta(days=1)
    )
    for camera in cameras.values():
        ExportFile.objects.create(export=export, camera=camera, camera_slug=camera.slug)
    assert run_export(export.pk).state == Export.State.DONE
    for audio, camera in cameras.items():
        check_audio(settings.VMS_RECORDINGS_ROOT / export_folder(export) / f"{camera.slug}.mp4", audio)

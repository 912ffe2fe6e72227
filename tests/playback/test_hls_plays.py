"""The generated playlists play: ffprobe (FFmpeg's HLS demuxer) and OpenCV read them over HTTP from a real daphne."""

import json
import subprocess

import cv2
import pytest

from .conftest import DEMO_FRAMES

pytestmark = pytest.mark.django_db(transaction=True)

PLAYLIST = "/v2/hls/cam-front-01/2020-03-12/04/index.m3u8"


def ffprobe_frames(url: str) -> int:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames", "-of", "json", url],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return int(json.loads(result.stdout)["streams"][0]["nb_read_frames"])


def opencv_frames(url: str) -> int:
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    assert capture.isOpened()
    frames = 0
    while capture.grab():
        frames += 1
    capture.release()
    return frames


@pytest.mark.parametrize("gap_after", [None, 5])
def test_the_hour_playlist_plays_end_to_end(daphne, camera_a, make_token, record, gap_after):
    record(camera_a, gap_after=gap_after, gap=30)
    url = f"{daphne.url}{PLAYLIST}?token={make_token(camera_a.tenant, ['playback:read'])}"
    assert ffprobe_frames(url) == DEMO_FRAMES
    assert opencv_frames(url) == DEMO_FRAMES


def test_another_tenants_token_plays_nothing(daphne, camera_a, tenant_b, make_token, record):
    record(camera_a, count=2)
    url = f"{daphne.url}{PLAYLIST}?token={make_token(tenant_b)}"
    failed = subprocess.run(["ffprobe", "-v", "error", url], capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0 and "404" in failed.stderr

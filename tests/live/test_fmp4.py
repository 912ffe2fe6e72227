"""live/fmp4.py on the fragmented MP4 ffmpeg writes for live (the recorder's own options), from the demo clip."""

import subprocess

import pytest

from live import fmp4

from ..shared import DEMO_CLIP


@pytest.fixture(scope="module")
def live_mp4() -> bytes:
    argv = [
        "ffmpeg", "-nostdin", "-loglevel", "error", "-i", DEMO_CLIP, "-map", "0:v:0", "-c", "copy",
        "-f", "mp4", "-movflags", "empty_moov+default_base_moof+frag_keyframe", "-frag_duration", "500000", "pipe:1",
    ]  # fmt: skip
    return subprocess.run(argv, check=True, capture_output=True, timeout=30).stdout


def split(data: bytes, chunk: int) -> tuple[bytes, list[bytes]]:
    """The init segment and the media segments, read in chunks of `chunk` bytes as from a pipe."""
    reader, found = fmp4.BoxReader(), []
    for at in range(0, len(data), chunk):
        found += reader.feed(data[at : at + chunk])
    assert reader.buffer == b""
    assert found.pop()[0] == b"mfra"  # the index ffmpeg adds at the end of the output: live never gets there
    kinds = [kind for kind, _ in found]
    assert kinds[:2] == [b"ftyp", b"moov"] and kinds[2:] == [b"moof", b"mdat"] * ((len(kinds) - 2) // 2)
    return found[0][1] + found[1][1], [found[i][1] + found[i + 1][1] for i in range(2, len(found), 2)]


def test_segments_cut_at_half_a_second_and_at_each_key_frame(live_mp4):
    init_data, segments = split(live_mp4, 4096)
    init = fmp4.parse_init(init_data)
    assert init.mime == 'video/mp4; codecs="avc1.4d401f"'
    video = init.video
    assert video.nal_length_size == 4
    assert [p[0] & 0x1F for p in video.parameter_sets] == [7, 8]  # SPS, then PPS

    frames = [s for segment in segments for s in fmp4.samples(segment)]
    assert len(frames) == 200  # 20 s at 10 fps
    assert [i for i, frame in enumerate(frames) if frame.sync] == list(range(0, 200, 20))  # a key frame each 2 s
    time = 0
    for segment in segments:
        first = fmp4.samples(segment)[0]
        assert first.decode_time == time
        keyframe, time = fmp4.video_span(segment, video.id)
        assert 0 < (time - first.decode_time) / video.timescale <= 0.5
        assert keyframe == first.sync
    assert sum(fmp4.video_span(s, video.id)[0] for s in segments) == 10


def test_annexb_and_producer_time(live_mp4):
    init_data, segments = split(live_mp4, 1 << 20)
    video = fmp4.parse_init(init_data).video
    key = fmp4.samples(segments[0])[0]
    stream = fmp4.annexb(key.data, video.nal_length_size)
    units = [unit for unit in stream.split(b"\x00\x00\x00\x01") if unit]
    assert sum(len(unit) + 4 for unit in units) == len(key.data)  # each 4-byte length became a start code
    assert 5 in [unit[0] & 0x1F for unit in units]  # an IDR slice

    stamped = fmp4.prft(video.id, 1_800_000_000.25, 123_456_789_012) + segments[1]
    assert fmp4.producer_time(stamped) == (1_800_000_000.25, 123_456_789_012)
    assert fmp4.samples(stamped) == fmp4.samples(segments[1])  # offsets stay relative to the moof
    assert fmp4.producer_time(segments[1]) is None


def test_a_stream_without_h264_is_refused():
    with pytest.raises(ValueError, match="no moov"):
        fmp4.parse_init(b"\x00\x00\x00\x08free")

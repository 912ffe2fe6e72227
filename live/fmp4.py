"""Fragmented MP4 (ISO BMFF) as the recorder's ffmpeg writes it for live: read the stream's top-level boxes as they
come, tell the init segment (ftyp + moov) from media segments (moof + mdat), and read what live needs from them: the
codecs (for MediaSource), whether a segment starts on a key frame (where a late viewer may start), the samples
(for WebRTC, which sends H.264 access units) and a producer reference time box (`prft`) that stamps when the server
had each segment (for measuring latency end to end). Only the boxes ffmpeg's mp4 muxer writes with
`empty_moov+default_base_moof` are understood; anything else is passed through untouched.
"""

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf"}
# trun flags (ISO/IEC 14496-12 8.8.8)
DATA_OFFSET, FIRST_SAMPLE_FLAGS, SAMPLE_DURATION, SAMPLE_SIZE, SAMPLE_FLAGS, SAMPLE_CTS = (
    0x1, 0x4, 0x100, 0x200, 0x400, 0x800,
)  # fmt: skip
NON_SYNC = 0x10000  # sample_is_non_sync_sample in a sample's flags


def _header(data: bytes, at: int, end: int) -> tuple[bytes, int, int] | None:
    """(type, header length, size) of the box at data[at:end]; None while its header is incomplete."""
    if end - at < 8:
        return None
    size, kind = struct.unpack_from(">I4s", data, at)
    if size != 1:
        return kind, 8, size
    if end - at < 16:
        return None
    return kind, 16, struct.unpack_from(">Q", data, at + 8)[0]  # a 64-bit size follows the type


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box in data[start:end]."""
    end = len(data) if end is None else end
    while (found := _header(data, start, end)) is not None:
        kind, header, size = found
        if size < header or start + size > end:
            raise ValueError(f"truncated {kind!r} box")
        yield kind, start + header, start + size
        start += size


def _find(data: bytes, path: list[bytes], start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(payload start, end) of every box at `path` below data[start:end]."""
    for kind, payload, box_end in boxes(data, start, end):
        if kind == path[0]:
            if len(path) == 1:
                yield payload, box_end
            else:
                yield from _find(data, path[1:], payload, box_end)


def _first(data: bytes, path: list[bytes], start: int = 0, end: int | None = None) -> tuple[int, int] | None:
    return next(_find(data, path, start, end), None)


@dataclass(frozen=True)
class Track:
    id: int
    kind: str  # "video" | "audio"
    timescale: int
    codec: str  # RFC 6381, as MediaSource wants it
    parameter_sets: list[bytes] = field(default_factory=list)  # H.264 SPS then PPS
    nal_length_size: int = 4


@dataclass(frozen=True)
class InitSegment:
    data: bytes
    tracks: list[Track]

    @property
    def video(self) -> Track | None:
        return next((track for track in self.tracks if track.kind == "video"), None)

    @property
    def mime(self) -> str:
        return f'video/mp4; codecs="{",".join(track.codec for track in self.tracks)}"'


def parse_init(data: bytes) -> InitSegment:
    """The tracks of an init segment (ftyp + moov); ValueError when it has no track we can play."""
    moov = _first(data, [b"moov"])
    if moov is None:
        raise ValueError("no moov box")
    tracks = []
    for trak in _find(data, [b"trak"], *moov):
        tkhd = _first(data, [b"tkhd"], *trak)
        mdhd = _first(data, [b"mdia", b"mdhd"], *trak)
        hdlr = _first(data, [b"mdia", b"hdlr"], *trak)
        stsd = _first(data, [b"mdia", b"minf", b"stbl", b"stsd"], *trak)
        if None in (tkhd, mdhd, hdlr, stsd):
            continue
        track_id = struct.unpack_from(">I", data, tkhd[0] + (20 if data[tkhd[0]] == 1 else 12))[0]
        timescale = struct.unpack_from(">I", data, mdhd[0] + (20 if data[mdhd[0]] == 1 else 12))[0]
        handler = data[hdlr[0] + 8 : hdlr[0] + 12]
        entry = next(boxes(data, stsd[0] + 8, stsd[1]), None)  # the first sample entry, after version/flags/count
        if entry is None:
            continue
        if handler == b"vide" and entry[0] in (b"avc1", b"avc3"):
            tracks.append(_h264_track(data, track_id, timescale, entry))
        elif handler == b"soun" and entry[0] == b"mp4a":
            tracks.append(Track(track_id, "audio", timescale, _aac_codec(data, entry)))
    if not any(track.kind == "video" for track in tracks):
        raise ValueError("no H.264 video track")
    return InitSegment(data, tracks)


def _h264_track(data: bytes, track_id: int, timescale: int, entry: tuple[bytes, int, int]) -> Track:
    # A visual sample entry's own fields take 78 bytes before its child boxes.
    avcc = _first(data, [b"avcC"], entry[1] + 78, entry[2])
    if avcc is None:
        raise ValueError("H.264 track without avcC")
    at = avcc[0]
    profile, compatibility, level = data[at + 1], data[at + 2], data[at + 3]
    nal_length_size = (data[at + 4] & 0x3) + 1
    parameter_sets, at = [], at + 5
    for count_mask in (0x1F, 0xFF):  # SPS count (5 bits), then PPS count
        count, at = data[at] & count_mask, at + 1
        for _ in range(count):
            (length,) = struct.unpack_from(">H", data, at)
            parameter_sets.append(bytes(data[at + 2 : at + 2 + length]))
            at += 2 + length
    codec = f"{entry[0].decode()}.{profile:02x}{compatibility:02x}{level:02x}"
    return Track(track_id, "video", timescale, codec, parameter_sets, nal_length_size)


def _aac_codec(data: bytes, entry: tuple[bytes, int, int]) -> str:
    """mp4a.40.<audio object type> from the esds' AudioSpecificConfig (2, AAC LC, when it cannot be read)."""
    esds = _first(data, [b"esds"], entry[1] + 28, entry[2])  # an audio sample entry's fields take 28 bytes
    if esds is not None:
        config = data.find(b"\x05", esds[0] + 4, esds[1])  # DecoderSpecificInfo tag, then its length, then the config
        at = config + 1
        while 0 < at < esds[1] and data[at] & 0x80:  # the descriptor length: 7 bits a byte
            at += 1
        if 0 < at + 1 < esds[1]:
            object_type = data[at + 1] >> 3
            if object_type:
                return f"mp4a.40.{object_type}"
    return "mp4a.40.2"


@dataclass(frozen=True)
class Sample:
    track_id: int
    decode_time: int  # in the track's timescale
    composition_offset: int
    duration: int
    sync: bool
    data: bytes


def _track_runs(segment: bytes) -> Iterator[tuple[int, int, int, list[tuple[int, int, int, int]], int]]:
    """Per traf of a media segment: (track id, base decode time, data start, [(duration, size, flags, cts)], end
    decode time)."""
    moof = _first(segment, [b"moof"])
    if moof is None:
        raise ValueError("no moof box")
    moof_start = moof[0] - 8
    for traf in _find(segment, [b"traf"], *moof):
        tfhd = _first(segment, [b"tfhd"], *traf)
        tfdt = _first(segment, [b"tfdt"], *traf)
        if tfhd is None or tfdt is None:
            raise ValueError("traf without tfhd or tfdt")
        flags = int.from_bytes(segment[tfhd[0] + 1 : tfhd[0] + 4], "big")
        (track_id,) = struct.unpack_from(">I", segment, tfhd[0] + 4)
        at = tfhd[0] + 8
        base = moof_start
        if flags & 0x1:
            (base,), at = struct.unpack_from(">Q", segment, at), at + 8
        if flags & 0x2:
            at += 4
        defaults = []
        for bit in (0x8, 0x10, 0x20):  # default duration, size, flags
            if flags & bit:
                defaults.append(struct.unpack_from(">I", segment, at)[0])
                at += 4
            else:
                defaults.append(0)
        time = struct.unpack_from(">Q" if segment[tfdt[0]] == 1 else ">I", segment, tfdt[0] + 4)[0]
        for trun_start, _ in _find(segment, [b"trun"], *traf):
            version = segment[trun_start]
            run_flags = int.from_bytes(segment[trun_start + 1 : trun_start + 4], "big")
            (count,) = struct.unpack_from(">I", segment, trun_start + 4)
            at = trun_start + 8
            offset = 0
            if run_flags & DATA_OFFSET:
                (offset,), at = struct.unpack_from(">i", segment, at), at + 4
            first_flags = None
            if run_flags & FIRST_SAMPLE_FLAGS:
                (first_flags,), at = struct.unpack_from(">I", segment, at), at + 4
            samples = []
            start_time = time
            for index in range(count):
                duration, size, sample_flags = defaults
                cts = 0
                for bit in (SAMPLE_DURATION, SAMPLE_SIZE, SAMPLE_FLAGS, SAMPLE_CTS):
                    if run_flags & bit:
                        (value,) = struct.unpack_from(">i" if bit == SAMPLE_CTS and version else ">I", segment, at)
                        at += 4
                        if bit == SAMPLE_DURATION:
                            duration = value
                        elif bit == SAMPLE_SIZE:
                            size = value
                        elif bit == SAMPLE_FLAGS:
                            sample_flags = value
                        else:
                            cts = value
                if index == 0 and first_flags is not None:
                    sample_flags = first_flags
                samples.append((duration, size, sample_flags, cts))
                time += duration
            yield track_id, start_time, base + offset, samples, time


def samples(segment: bytes) -> list[Sample]:
    """Every sample of a media segment (moof + mdat, maybe after a prft), track by track."""
    found = []
    for track_id, time, at, runs, _ in _track_runs(segment):
        for duration, size, flags, cts in runs:
            found.append(Sample(track_id, time, cts, duration, not flags & NON_SYNC, bytes(segment[at : at + size])))
            time += duration
            at += size
    return found


def video_span(segment: bytes, video_track: int) -> tuple[bool, int]:
    """Whether the segment's first video sample is a sync sample (a decoder, and a late viewer, may start there), and
    the video's decode time at the segment's end (its timescale)."""
    for track_id, _, _, runs, end in _track_runs(segment):
        if track_id == video_track and runs:
            return not runs[0][2] & NON_SYNC, end
    raise ValueError("media segment without video")


def annexb(sample_data: bytes, nal_length_size: int) -> bytes:
    """An access unit's length-prefixed NAL units as an Annex B byte stream (start codes)."""
    out, at = bytearray(), 0
    while at + nal_length_size <= len(sample_data):
        length = int.from_bytes(sample_data[at : at + nal_length_size], "big")
        at += nal_length_size
        out += b"\x00\x00\x00\x01" + sample_data[at : at + length]
        at += length
    return bytes(out)


def prft(track_id: int, wall_clock: float, media_time: int) -> bytes:
    """A ProducerReferenceTimeBox (version 1): `media_time` of track `track_id` was at the server at `wall_clock`."""
    ntp = int((wall_clock + NTP_EPOCH_OFFSET) * 2**32)
    return struct.pack(">I4sBxxxIQQ", 32, b"prft", 1, track_id, ntp, media_time)


def producer_time(segment: bytes) -> tuple[float, int] | None:
    """A media segment's prft as (epoch seconds, media time), or None without one."""
    found = _first(segment, [b"prft"])
    if found is None:
        return None
    version = segment[found[0]]
    ntp, media_time = struct.unpack_from(">QQ" if version else ">QI", segment, found[0] + 8)
    return ntp / 2**32 - NTP_EPOCH_OFFSET, media_time


class BoxReader:
    """Top-level boxes from a byte stream read in arbitrary chunks: feed() returns each (type, box bytes) completed."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[bytes, bytes]]:
        self.buffer += chunk
        done, at = [], 0
        while (found := _header(self.buffer, at, len(self.buffer))) is not None:
            kind, header, size = found
            if size < header:
                raise ValueError(f"bad {kind!r} box size {size}")
            if len(self.buffer) - at < size:
                break
            done.append((kind, bytes(self.buffer[at : at + size])))
            at += size
        del self.buffer[:at]
        return done

"""WebRTC live view (aiortc): a camera's H.264, as its recorder copied it into the live feed, sent to one browser per
peer connection without being decoded or encoded again.

Each access unit of the feed's fragmented MP4 becomes an `av.Packet` in Annex B, which aiortc's sender packs into RTP
(FU-A/STAP-A) instead of encoding. The SPS and PPS go before every key frame, so a browser that joins, loses a key
frame or restarts its decoder needs nothing but the next key frame. A passthrough cannot make a key frame on demand:
a browser's PLI is answered by the camera's next one. The answer negotiates H.264 (packetization-mode 1, aiortc's
Constrained Baseline entry) whatever the offer prefers, while the stream keeps the camera's own profile (Main, High),
which browsers decode: Chrome offers no High profile at all, so no negotiation could name every camera's.

Video only: WebRTC carries Opus or G.711, not the recorded AAC, so sound stays with the MSE player.

A peer connection lives on the web process's event loop until the browser closes it or ICE/DTLS fails, until it has
not connected within CONNECT_TIMEOUT_S, or until its token expires; at most MAX_PEERS at once per process. Only host
candidates are offered (no STUN or TURN server is asked), so a browser must reach this server's addresses.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from fractions import Fraction

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.exceptions import OperationError

from . import fmp4
from .feed import watch

logger = logging.getLogger(__name__)

# A peer costs the process's one core ~0.17 ms per RTP packet (packing, SRTP, sending; measured: 0.9 % of a core for
# the 0.5 Mbit/s demo camera, ~50 packets/s, alike at 10 and 25 peers), so 20 peers of 2 Mbit/s cameras would take
# ~70 %: the process keeps room for its API and WebSockets.
MAX_PEERS = 20
CONNECT_TIMEOUT_S = 30
RTP_CLOCK = 90_000  # H.264's RTP clock rate (RFC 6184)
TIME_BASE = Fraction(1, RTP_CLOCK)
START_CODE = b"\x00\x00\x00\x01"

_peers: set["Peer"] = set()


class BadOffer(ValueError):
    """The offer cannot be answered (not SDP, no video, no H.264): the client's mistake, a 400."""


class TooManyPeers(Exception):
    """This process already serves MAX_PEERS peer connections."""


async def packets(camera_pk: int) -> AsyncIterator[av.Packet]:
    """The camera's video access units from its live feed, from the latest key frame on, as Annex B packets with the
    SPS and PPS before each key frame, stamped on the 90 kHz RTP clock. The clock follows the stream's presentation
    times while the stream continues, and runs on by the wall-clock time since the last packet across a break: the
    recorder's new ffmpeg (whose times start anywhere, its init maybe byte for byte the last one, which the feed then
    does not send again) or segments the feed skipped."""
    async with watch(camera_pk) as entries:
        video = parameter_sets = None
        expected: int | None = None  # the next frame's decode time if the stream goes on (its timescale)
        offset = 0  # added to the stream's presentation times on the RTP clock
        last: tuple[int, float] | None = None  # (pts, time.monotonic()) of the last packet
        async for entry in entries:
            if entry.kind == "init":
                video = fmp4.parse_init(entry.data).video
                parameter_sets = b"".join(START_CODE + unit for unit in video.parameter_sets)
                expected = None
                continue
            for sample in fmp4.samples(entry.data):
                if sample.track_id != video.id:
                    continue
                pts = (sample.decode_time + sample.composition_offset) * RTP_CLOCK // video.timescale
                if sample.decode_time != expected:
                    offset = -pts if last is None else last[0] + round((time.monotonic() - last[1]) * RTP_CLOCK) - pts
                expected = sample.decode_time + sample.duration
                packet = av.Packet(
                    (parameter_sets if sample.sync else b"") + fmp4.annexb(sample.data, video.nal_length_size)
                )
                # An RTP timestamp names one frame: a frame of no duration (a new ffmpeg's first, at times) gets a tick.
                packet.pts = pts + offset if last is None else max(pts + offset, last[0] + 1)
                packet.time_base = TIME_BASE
                last = packet.pts, time.monotonic()
                yield packet


class CameraTrack(MediaStreamTrack):
    """The video track of an answer: `packets()` of the camera, read from its feed only once the peer is connected
    (the sender's first recv()), and let go when the sender stops it."""

    kind = "video"

    def __init__(self, camera_pk: int) -> None:
        super().__init__()
        self._packets = packets(camera_pk)
        self._closing: asyncio.Future | None = None  # held: the loop keeps only a weak reference to a task

    async def recv(self) -> av.Packet:
        return await anext(self._packets)

    def stop(self) -> None:
        super().stop()
        # The sender calls this when its loop ends, between two recv(): the feed's watch closes here, not whenever
        # the generator happens to be collected.
        self._closing = asyncio.ensure_future(self._packets.aclose())


class Peer:
    """One browser's peer connection to one camera, closed by its own state changes and timers."""

    def __init__(self, camera_pk: int, expires_at: int | None) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.camera_pk = camera_pk
        self.closing: asyncio.Future | None = None  # held: the loop keeps only a weak reference to a task
        self.on_close: Callable[[], Awaitable[None]] | None = None  # awaited once, when the connection ends
        loop = asyncio.get_running_loop()
        self.timers = [loop.call_later(CONNECT_TIMEOUT_S, self._unless_connected)]
        if expires_at is not None:
            self.timers.append(loop.call_later(max(0.0, expires_at - time.time()), self._close_soon))
        self.pc.on("connectionstatechange", self._state_changed)

    async def answer(self, offer: str) -> str:
        # The track's transceiver exists before the offer is applied, so the offer's video is matched to it with
        # H.264 as the only codec (codecs are chosen while the remote description is set).
        transceiver = self.pc.addTransceiver(CameraTrack(self.camera_pk), direction="sendonly")
        h264 = [codec for codec in RTCRtpSender.getCapabilities("video").codecs if codec.mimeType == "video/H264"]
        transceiver.setCodecPreferences(h264)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            if transceiver.mid is not None:
                await self.pc.setLocalDescription(await self.pc.createAnswer())
        except OperationError as exc:
            raise BadOffer("The offer's video has no H.264 (packetization-mode 1).") from exc
        except Exception as exc:  # aiortc fails on malformed SDP with anything: ValueError, KeyError, an assert…
            raise BadOffer(f"The offer is not usable SDP ({type(exc).__name__}: {exc}).") from exc
        if transceiver.mid is None:
            raise BadOffer("The offer has no video.")
        return self.pc.localDescription.sdp

    async def close(self) -> None:
        for timer in self.timers:
            timer.cancel()
        _peers.discard(self)
        await self.pc.close()
        # Closing is reached again from the connection's own "closed" state, and by timers: the end is told once.
        ended, self.on_close = self.on_close, None
        if ended is not None:
            await ended()

    def _close_soon(self) -> None:
        self.closing = asyncio.ensure_future(self.close())

    def _unless_connected(self) -> None:
        if self.pc.connectionState != "connected":
            logger.info("WebRTC peer of camera %s did not connect within %d s", self.camera_pk, CONNECT_TIMEOUT_S)
            self._close_soon()

    async def _state_changed(self) -> None:
        # aiortc has no "disconnected": a browser that closes says so over DTLS ("closed"), one that vanishes stops
        # answering ICE consent checks ("failed", within about 30 s).
        if self.pc.connectionState in ("failed", "closed"):
            await self.close()


async def answer(camera_pk: int, offer: str, expires_at: int | None) -> Peer:
    """A new peer connection that sends the camera's video until it ends (see the module's docstring), with its SDP
    answer to a browser's offer set as its local description. BadOffer or TooManyPeers when there is none."""
    if len(_peers) >= MAX_PEERS:
        raise TooManyPeers(f"This server already sends {MAX_PEERS} WebRTC streams; use the MSE player.")
    peer = Peer(camera_pk, expires_at)
    _peers.add(peer)
    try:
        await peer.answer(offer)
    except BaseException:
        await peer.close()
        raise
    return peer

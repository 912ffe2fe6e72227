"""What the recorder asks of a camera before it starts ffmpeg: the codec of its audio, if it has any.

ffprobe opens the RTSP session and reads its description (SDP), which names every stream's codec, and no more: with
`-analyzeduration 0 -probesize 32` no media is analysed, so a probe costs the RTSP handshake and a packet: 0.1 s on
the demo camera (0.2 s without audio), where ffprobe's default analysis takes 2.9 s.
"""

import subprocess

from cameras.rtsp import mask_credentials

SOCKET_TIMEOUT_US = 3_000_000  # each socket operation, as the recorder's ffmpeg: a silent camera fails in ~3 s
RUN_TIMEOUT_S = 15  # the whole probe: a few RTSP round trips, each within the socket timeout


class ProbeFailed(Exception):
    """ffprobe could not open the camera's stream (unreachable, refused, wrong credentials, silent). The message is
    ffprobe's, with URL passwords masked."""


def audio_codec(rtsp_url: str) -> str | None:
    """The codec of the stream's first audio track as ffmpeg names it ("aac", "pcm_alaw", "pcm_mulaw", ...), or None
    when the stream has no audio, or one ffmpeg cannot name (and so cannot decode either). Raises ProbeFailed when
    the stream cannot be opened: the camera is offline then, and recording it without audio would hide that."""
    argv = ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-timeout", str(SOCKET_TIMEOUT_US),
            "-analyzeduration", "0", "-probesize", "32", "-select_streams", "a:0",
            "-show_entries", "stream=codec_name", "-of", "csv=p=0", "-i", rtsp_url]  # fmt: skip
    try:
        found = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        # Not chained: the TimeoutExpired's message quotes the command line, password included.
        raise ProbeFailed(f"ffprobe had no answer from the camera in {RUN_TIMEOUT_S} s") from None
    if found.returncode != 0:
        raise ProbeFailed(f"ffprobe could not read the stream: {mask_credentials(found.stderr.strip())[-300:]}")
    codec = found.stdout.strip()
    return codec if codec and codec != "unknown" else None

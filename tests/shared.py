"""Files of ../shared (beside the checkout, wherever it is) that tests and benchmarks use."""

import itertools
import subprocess
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEMO_CLIP = str(SHARED / "media" / "demo-street.mp4")


def cut_demo_segments(out: Path) -> list[tuple[Path, float]]:
    """The demo clip cut into its 2 s HLS segments with `-c copy` in `out`: each file and its duration."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", DEMO_CLIP, "-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
         "-hls_segment_filename", str(out / "seg-%03d.ts"), str(out / "cut.m3u8")],
        check=True, timeout=60,
    )  # fmt: skip
    lines = (out / "cut.m3u8").read_text().splitlines()
    return [
        (out / name, float(info.removeprefix("#EXTINF:").rstrip(",")))
        for info, name in itertools.pairwise(lines)
        if info.startswith("#EXTINF:")
    ]

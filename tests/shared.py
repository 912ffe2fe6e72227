"""Files of ../shared (beside the checkout, wherever it is) that tests and benchmarks use."""

import itertools
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from django.conf import settings

from playback import paths
from playback.recording.indexer import SegmentRow

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


def place_segment(source: Path, tenant_id: str, camera_slug: str, start: datetime) -> tuple[str, int]:
    """Copy a segment file where the recorder would have written one starting at `start`: (its path relative to
    the recordings root, its size), ready for a Segment row."""
    target = (
        paths.hour_dir(tenant_id, camera_slug, *paths.hour_parts(start)) / f"seg-{int(start.timestamp() * 1000)}.ts"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target.relative_to(settings.VMS_RECORDINGS_ROOT).as_posix(), target.stat().st_size


def one_part_row(tenant_id: str, camera_pk: int, start: datetime, duration: float, size: int, path: str) -> SegmentRow:
    """The index row of an object of one part on this node."""
    return SegmentRow(tenant_id, camera_pk, start, duration, size, path, [size], [duration], settings.VMS_NODE_NAME)

"""How much the tenant-checked HLS views cost over the bare work they wrap, measured in one run.

- hour playlist of a full hour (1800 two-second segments in 60 camera-minute objects, byte ranges, signed URLs) vs.
  the bare index query of those rows (target: at most 2x);
- the playback timeline of a recorded day (24 hours of camera-minute objects) vs. its two SQL statements run raw;
- a real 2 s segment (demo-street.mp4 cut with `ffmpeg -c copy`) through the view, signature checked, vs. Django's
  unchecked `django.views.static.serve` of the same file; the same with a Range request.

Runs on a throwaway test database (TEST_DATABASE_NAME) and a temporary recordings root:
    TEST_DATABASE_NAME=test_vms_bench REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/hls_serving.py [repeats]
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vms.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.views.static import serve  # noqa: E402

from cameras.models import Camera  # noqa: E402
from playback import paths, playlists, views  # noqa: E402
from playback.models import Segment  # noqa: E402
from playback.signing import signed_url  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.tokens import issue_access_token  # noqa: E402

HOUR = datetime(2020, 3, 12, 4, 0, tzinfo=UTC)
SEGMENTS_PER_HOUR = 1800
PARTS_PER_OBJECT = 30  # a camera-minute object of 2 s parts
DEMO = Path(settings.BASE_DIR).parent / "shared" / "media" / "demo-street.mp4"


def median_ms(action, repeats: int) -> float:
    action()  # warm caches and connections
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def compare(name: str, action, baseline_name: str, baseline_action, repeats: int) -> float:
    """Print the median time of `action` next to its baseline's, measured now, and their ratio; return the ratio."""
    measured, baseline = median_ms(action, repeats), median_ms(baseline_action, repeats)
    print(f"{name:<36} {measured:8.2f} ms   {baseline_name:<18} {baseline:8.2f} ms   ratio {measured / baseline:6.2f}")
    return measured / baseline


def run(repeats: int, root: Path) -> None:
    settings.VMS_RECORDINGS_ROOT = root
    tenant = Tenant.objects.create(id="bench", name="Bench")
    camera = Camera.objects.create(tenant=tenant, slug="cam-1", name="Cam", rtsp_url="rtsp://h/s")
    day = HOUR.replace(hour=0)
    # The whole day recorded in camera-minute objects (hour 04 is the playlist's), with a gap at 12:00-12:05.
    minutes = [i for i in range(24 * 60) if not 720 <= i < 725]
    Segment.objects.bulk_create(
        Segment(tenant=tenant, camera=camera, start=day + timedelta(minutes=i), duration=60.0,
                bytes=PARTS_PER_OBJECT * 150_000, sizes=[150_000] * PARTS_PER_OBJECT,
                durations=[2.0] * PARTS_PER_OBJECT,
                path=paths.hour_folder("bench", "cam-1", *paths.hour_parts(day + timedelta(minutes=i)))
                + f"/{int((day + timedelta(minutes=i)).timestamp() * 1000)}.ts")
        for i in minutes
    )  # fmt: skip
    client = Client()
    token = issue_access_token(tenant, ("playback:read",), timedelta(hours=1))
    playlist = paths.hour_url("cam-1", "2020-03-12", "04")

    def view() -> None:
        assert client.get(playlist, {"token": token}).content.count(b"#EXTINF") == SEGMENTS_PER_HOUR

    def query() -> None:
        rows = Segment.objects.filter(camera=camera, start__gte=HOUR, start__lt=HOUR + timedelta(hours=1))
        objects = rows.order_by("start").values_list("path", "start", "sizes", "durations")
        assert sum(len(sizes) for _, _, sizes, _ in objects) == SEGMENTS_PER_HOUR

    ratio = compare("hour playlist view (1800 parts)", view, "bare index query", query, repeats)
    print(f"  hour playlist {ratio:.2f}x its index query: {'meets' if ratio <= 2 else 'MISSES'} the 2x target")

    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    span = {"camera": camera.pk, "day_start": day, "day_end": day + timedelta(days=1), "tolerance": 1.0}

    def timeline() -> None:
        body = api.get("/v2/api/playback/timeline", {"camera_id": "cam-1", "date": "2020-03-12"}).json()
        assert (len(body["hours"]), len(body["spans"])) == (24, 2)

    def timeline_sql() -> None:
        with connection.cursor() as cursor:
            assert len(cursor.execute(playlists.HOURS_SQL, span).fetchall()) == 24
            assert len(cursor.execute(playlists.SPANS_SQL, span).fetchall()) == 2

    compare("timeline view (a recorded day)", timeline, "its 2 SQL statements", timeline_sql, repeats)

    folder = paths.hour_dir("bench", "cam-1", "2020-03-12", "04")
    folder.mkdir(parents=True)
    segment = folder / "1583985600000.ts"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(DEMO), "-t", "2", "-c", "copy", "-f", "mpegts", str(segment)], check=True
    )
    url = signed_url(paths.url_for_file(f"bench/{segment.relative_to(root / 'bench')}"), "bench")
    size = segment.stat().st_size

    requests = RequestFactory()

    def fetch(**headers) -> None:
        response = views.hour_file(requests.get(url, headers=headers), "cam-1", "2020-03-12", "04", segment.name)
        assert response.status_code in (200, 206)
        b"".join(response.streaming_content)

    def unchecked() -> None:
        assert len(b"".join(serve(requests.get("/"), segment.name, document_root=folder).streaming_content)) == size

    compare(f"segment view ({size // 1024} KiB)", fetch, "static.serve", unchecked, repeats)
    compare("segment view, Range: last 64 KiB", lambda: fetch(Range="bytes=-65536"), "static.serve", unchecked, repeats)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with tempfile.TemporaryDirectory() as root:
            run(repeats, Path(root))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()

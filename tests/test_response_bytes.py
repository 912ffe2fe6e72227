"""The hot read paths answer byte for byte what they answered when these golden files were recorded: the events list
(filters, cursor pages, errors) and one event, Kalay lists and counts, the hour playlists (VOD and live hour), the
live playlist and the timeline, over one fixed dataset of two tenants, with the clock stopped.

Speeding these paths up must not change a byte (status, headers or body). After a change that is meant to alter a
response, record the files again with `VMS_UPDATE_GOLDEN=1` and review their diff.
"""

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from events.models import Event
from playback.models import Segment
from tenants.catalogue import EVENTS_READ

from .events.kalay import BE
from .factories import CameraFactory, EventFactory

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden"
# The frozen now: hour 04 of that day is over (a VOD playlist), hour 05 is being recorded (a live EVENT playlist).
NOW = datetime(2020, 3, 12, 5, 8, tzinfo=UTC)
HOUR_4 = datetime(2020, 3, 12, 4, 0, tzinfo=UTC)
PARTS = 30  # 2 s parts per camera-minute object
RECORDED_MINUTES = range(45, 68)  # of hour 04: camera-minute objects from 04:45 to 05:07
GAP_MINUTES = range(50, 53)  # no recording: a discontinuity in hour 04 and two spans in the timeline
ALL_KALAY_FIELDS = (
    "pk created updated device account start_time start_time_ts expires thumbnail url event_type contract "
    "is_archieve event_id"
)
TYPES = ("motion", "person", "vehicle", "license_plate")


def ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


WINDOW = f'device:"cam-front-01",start_time:"{ms(HOUR_4)}",end_time:"{ms(HOUR_4 + timedelta(hours=2))}"'
EVENTS = "/v2/api/events"

# name: (client, path, query parameters or a Kalay document)
REQUESTS = {
    "events-newest": ("a", EVENTS, {}),
    "events-camera-type": ("a", EVENTS, {"camera_id": "cam-front-01", "type": "person"}),
    "events-zone": ("a", EVENTS, {"zone": "gate"}),
    "events-severity": ("a", EVENTS, {"severity": "alert"}),
    "events-window": ("a", EVENTS, {"since": "2020-03-12T04:20:00Z", "until": "2020-03-12T07:21:00+02:00"}),
    "events-page-1": ("a", EVENTS, {"limit": 3}),
    "events-page-2": ("a", EVENTS, {"limit": 3, "before": "evt-golden-14"}),
    "events-page-tie": ("a", EVENTS, {"limit": 2, "before": "evt-golden-06"}),
    "events-camera-cursor": ("a", EVENTS, {"camera_id": "lobby", "limit": 2, "before": "evt-golden-11"}),
    "events-bad-cursor": ("a", EVENTS, {"before": "evt-golden-b1"}),
    "events-bad-limit": ("a", EVENTS, {"limit": 0}),
    "events-tenant-b": ("b", EVENTS, {}),
    "event-one": ("a", f"{EVENTS}/evt-golden-03", {}),
    "event-other-tenant": ("a", f"{EVENTS}/evt-golden-b1", {}),
    "kalay-list-all-fields": ("a", BE, f"query {{get_event_list({WINDOW},skip:0,limit:100){{{ALL_KALAY_FIELDS}}}}}"),
    "kalay-list-page": (
        "a",
        BE,
        f"query {{get_event_list({WINDOW},is_archieve:false,event_id:2,skip:1,limit:2)"
        "{pk,start_time,start_time_ts,thumbnail,event_id}}",
    ),
    "kalay-list-tags": ("a", BE, f'query {{get_event_list({WINDOW},tags:"night gate"){{pk,device,thumbnail}}}}'),
    "kalay-list-shapes": (
        "a",
        BE,
        f"query {{get_event_list({WINDOW},limit:2){{id: pk, __typename, ...F, pk}}}} "
        "fragment F on Event {start_time}",
    ),
    "kalay-list-no-playback": ("a-events", BE, f"query {{get_event_list({WINDOW},limit:3){{pk,url,thumbnail}}}}"),
    "kalay-counts": (
        "a",
        BE,
        f"query {{all: get_event_count({WINDOW}) live: get_event_count({WINDOW},is_archieve:false) "
        f"archived: get_event_count({WINDOW},is_archieve:true) people: get_event_count({WINDOW},event_id:2) "
        f'tagged: get_event_count({WINDOW},tags:"night")}}',
    ),
    "kalay-archived": (
        "a",
        BE,
        "query {get_archieved_event_list(skip:1,limit:5){device,events{pk,start_time,expires,is_archieve,url}}}",
    ),
    "kalay-bad-range": (
        "a",
        BE,
        f'query {{get_event_count(device:"cam-front-01",start_time:"{ms(NOW)}",end_time:"1")}}',
    ),
    "playlist-vod-hour": ("a", "/v2/hls/cam-front-01/2020-03-12/04/index.m3u8", {}),
    "playlist-live-hour": ("a", "/v2/hls/cam-front-01/2020-03-12/05/index.m3u8", {}),
    "playlist-live": ("a", "/v2/hls/cam-front-01/live.m3u8", {}),
    "playlist-other-tenant": ("b", "/v2/hls/cam-front-01/2020-03-12/04/index.m3u8", {}),
    "timeline": ("a", "/v2/api/playback/timeline", {"camera_id": "cam-front-01", "date": "2020-03-12"}),
}


@pytest.fixture
def frozen_clock(monkeypatch):
    """Signed URLs' expiry (time.time) and Django's now stop at NOW, so every response is the same on every run."""
    monkeypatch.setattr(time, "time", NOW.timestamp)
    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.fixture
def dataset(tenant_a, tenant_b, camera_a, settings):
    """Events of several types, zones, tags and snapshots in two tenants, and indexed camera-minutes of
    cam-front-01 (hour 04 with a gap, hour 05 up to NOW)."""
    settings.SECRET_KEY = "golden-responses-secret-key-0123456789abcdefghij"
    settings.VMS_MEDIA_URL_TTL = 6 * 3600
    CameraFactory(tenant=tenant_a, slug="lobby")
    CameraFactory(tenant=tenant_b, slug="lobby")
    for i in range(16):
        ts = HOUR_4 + timedelta(minutes=4 * i, seconds=i * 1.5)
        if i in (5, 6, 7):  # three at one moment: the cursor breaks the tie by id
            ts = HOUR_4 + timedelta(minutes=35, microseconds=789_123)
        camera = "lobby" if i % 3 == 2 else "cam-front-01"
        snapshot = f"tenant-a/{camera}/{ts:%Y-%m-%d/%H}/snap-{ms(ts)}.jpg" if i % 4 == 0 else ""
        client_url = {1: "https://cdn.example.com/snaps/x.jpg?size=640", 5: "/v2/hls/lobby/2020-03-12/04/snap-9.jpg"}
        EventFactory(
            id=f"evt-golden-{i:02d}",
            tenant=tenant_a,
            camera_id=camera,
            type=TYPES[i % 4],
            confidence=round(0.5 + i / 37, 6),
            payload={
                "track_id": i,
                "boxes": [[0.125 * (i % 5), 0.1, 0.5, 0.75]],
                "zones": ["gate", "Cổng trước"] if i % 5 == 0 else ["street"],
                **({"plate": "29A-123.45", "plate_score": 0.93} if TYPES[i % 4] == "license_plate" else {}),
            },
            snapshot=snapshot,
            snapshot_url=client_url.get(i, ""),
            trace_id=f"trace-{i:04d}",
            model_version="yolo11n" if i % 2 else "",
            severity="alert" if i % 3 == 0 else "detection",
            ts=ts,
            tags=["night", "gate"] if i % 4 == 1 else (["night"] if i % 4 == 2 else []),
            expires=ts + timedelta(minutes=50),  # the first ones are archived at NOW
        )
    for i in range(2):
        EventFactory(id=f"evt-golden-b{i}", tenant=tenant_b, trace_id=f"trace-b{i}", ts=HOUR_4 + timedelta(minutes=i))
    Event.objects.update(created=HOUR_4, updated=HOUR_4 + timedelta(seconds=1))
    minutes = [m for m in RECORDED_MINUTES if m not in GAP_MINUTES]
    Segment.objects.bulk_create(segment(camera_a, HOUR_4 + timedelta(minutes=m), irregular=m == 49) for m in minutes)


def segment(camera, start: datetime, irregular: bool) -> Segment:
    durations = [1.96, 2.04, 2.0333] * (PARTS // 3) if irregular else [2.0] * PARTS
    sizes = [150_000 + 17 * i for i in range(PARTS)]
    return Segment(
        tenant_id=camera.tenant_id, camera=camera, start=start, duration=sum(durations), bytes=sum(sizes), sizes=sizes,
        durations=durations, path=f"{camera.tenant_id}/{camera.slug}/{start:%Y-%m-%d/%H}/{ms(start)}.ts",
    )  # fmt: skip


def as_bytes(response) -> bytes:
    head = [str(response.status_code), *(f"{name}: {value}" for name, value in response.items())]
    return "\n".join(head).encode() + b"\n\n" + response.content


@pytest.mark.parametrize("name", REQUESTS)
def test_response_is_byte_for_byte_the_recorded_one(name, dataset, frozen_clock, make_client, tenant_a, tenant_b):
    who, path, query = REQUESTS[name]
    client: APIClient = {
        "a": lambda: make_client(tenant_a),
        "a-events": lambda: make_client(tenant_a, (EVENTS_READ,)),
        "b": lambda: make_client(tenant_b),
    }[who]()
    response = client.post(path, {"query": query}, format="json") if path == BE else client.get(path, query)
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("VMS_UPDATE_GOLDEN") == "1":
        golden.write_bytes(as_bytes(response))
    assert as_bytes(response) == golden.read_bytes()

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from ..factories import CameraFactory, SegmentFactory
from .conftest import HOUR

pytestmark = pytest.mark.django_db

TIMELINE = "/v2/api/playback/timeline"


def timeline(client, camera_id="cam-front-01", date="2020-03-12"):
    return client.get(TIMELINE, {"camera_id": camera_id, "date": date})


def test_lists_the_hours_with_segments_and_their_covered_seconds(client_a, camera_a, record):
    record(camera_a, HOUR + timedelta(minutes=10), gap_after=4)  # 10 segments of 2 s with a gap
    record(camera_a, HOUR + timedelta(hours=2, minutes=59, seconds=58), count=2)  # 05:59:58 and 06:00:00
    SegmentFactory(camera=CameraFactory(tenant=camera_a.tenant), start=HOUR)  # another camera: not counted
    SegmentFactory(camera=camera_a, start=HOUR - timedelta(hours=5))  # the day before: not counted

    response = timeline(client_a)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["camera_id"], body["date"]) == ("cam-front-01", "2020-03-12")
    hours = [(h["hour"], h["seconds"], h["segments"]) for h in body["hours"]]
    assert hours == [(4, 20.0, 10), (6, 2.0, 1), (7, 2.0, 1)]
    url = body["hours"][0]["playlist_url"]
    assert url.startswith("/v2/hls/cam-front-01/2020-03-12/04/index.m3u8?tid=tenant-a&exp=")
    assert client_a.get(url).status_code == 200  # the signed URL plays as is


def test_a_day_without_recordings_has_no_hours(client_a, camera_a):
    assert timeline(client_a).json()["hours"] == []


@pytest.mark.parametrize(
    "params",
    [{}, {"camera_id": "cam-front-01"}, {"date": "2020-03-12"}, {"camera_id": "cam-front-01", "date": "12/03/2020"},
     {"camera_id": "cam-front-01", "date": "2020-02-30"}, {"camera_id": "x" * 65, "date": "2020-03-12"}],
)  # fmt: skip
def test_bad_or_missing_params_are_400(client_a, camera_a, params):
    response = client_a.get(TIMELINE, params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_another_tenants_camera_is_404(client_b, camera_a, record):
    record(camera_a, count=1)
    response = timeline(client_b)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_needs_the_playback_read_scope(make_client, tenant_a, camera_a):
    assert timeline(make_client(tenant_a, scopes=["cameras:read", "events:read"])).status_code == 403
    assert timeline(make_client(tenant_a, scopes=["playback:read"])).status_code == 200
    assert timeline(APIClient()).status_code == 401


def test_query_count_does_not_grow_with_segments_or_hours(client_a, camera_a):
    SegmentFactory(camera=camera_a, start=HOUR)
    with CaptureQueriesContext(connection) as few:
        timeline(client_a)
    for i in range(1, 40):  # 04:00 to 23:00
        SegmentFactory(camera=camera_a, start=HOUR + timedelta(hours=i % 20, seconds=2 * i))
    with CaptureQueriesContext(connection) as many:
        assert len(timeline(client_a).json()["hours"]) == 20
    assert len(many) == len(few) <= 4  # the tenant, the camera, the hours, the spans


def spans_of(response) -> list[tuple[datetime, datetime]]:
    assert response.status_code == 200, response.json()
    return [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])) for s in response.json()["spans"]]


def end_of(segment) -> datetime:
    return segment.start + timedelta(seconds=segment.duration)


def test_spans_merge_consecutive_segments_and_a_gap_starts_a_new_one(client_a, client_b, camera_a, record):
    # 10:00: 6 segments, a 5 s gap after the 3rd (two spans), then 4 more after a 0.5 s one (within GAP_TOLERANCE).
    gapped = record(camera_a, HOUR + timedelta(minutes=10), count=6, gap_after=3, gap=5)
    joined = record(camera_a, end_of(gapped[-1]) + timedelta(seconds=0.5), count=4)
    SegmentFactory(camera=CameraFactory(tenant=camera_a.tenant), start=HOUR)  # another camera: not in the spans

    spans = spans_of(timeline(client_a))

    assert spans == [(gapped[0].start, end_of(gapped[2])), (gapped[3].start, end_of(joined[-1]))]
    assert timeline(client_b).status_code == 404


def test_spans_are_clipped_to_the_day(client_a, camera_a):
    day = HOUR - timedelta(hours=4)  # 2020-03-12 00:00
    SegmentFactory(camera=camera_a, start=day - timedelta(seconds=1), duration=2.0)  # from the evening before
    SegmentFactory(camera=camera_a, start=day + timedelta(seconds=1), duration=2.0)
    SegmentFactory(camera=camera_a, start=day + timedelta(hours=24, seconds=-1), duration=2.0)  # into the next day
    SegmentFactory(camera=camera_a, start=day - timedelta(seconds=10), duration=2.0)  # ends before the day

    assert spans_of(timeline(client_a)) == [
        (day, day + timedelta(seconds=3)),
        (day + timedelta(hours=24, seconds=-1), day + timedelta(hours=24)),
    ]
    # The next day starts with the rest of that segment.
    next_day = spans_of(timeline(client_a, date="2020-03-13"))
    assert next_day == [(day + timedelta(hours=24), day + timedelta(hours=24, seconds=1))]


def test_a_day_without_recordings_has_no_spans(client_a, camera_a):
    assert timeline(client_a).json()["spans"] == []

"""Usage per tenant and UTC day (GET /v2/api/usage and the admin): counted by the work itself (segments indexed,
events stored, snapshots written, exports finished, webhooks sent), never another tenant's, never lost by
concurrent writers."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone

from events.models import Delivery, Subscription
from events.notify import webhooks
from events.services import create_event, create_events
from playback.exports import run_export
from playback.paths import new_snapshot, recordings_path
from playback.recording.indexer import SegmentIndexer
from tenants.catalogue import EVENTS_READ, SCOPES
from tenants.models import DailyUsage
from tenants.usage import record, today

from ..factories import UserFactory
from ..shared import cut_demo_segments, one_part_row, place_segment
from ..webhook_receiver import running_receiver

pytestmark = pytest.mark.django_db

USAGE = "/v2/api/usage"
DAY = date(2026, 11, 22)
ZERO = {"camera_hours": 0, "recording_bytes": 0, "export_bytes": 0, "snapshot_bytes": 0, "events": 0, "exports": 0,
        "deliveries": 0}  # fmt: skip


def usage(client, first: date, last: date) -> list[dict]:
    response = client.get(USAGE, {"from": first.isoformat(), "to": last.isoformat()})
    assert response.status_code == 200, response.json()
    return response.json()


def used_lately(client) -> dict:
    """The counters of yesterday and today added up (work done now counts today, UTC, which may just have begun)."""
    days = usage(client, today() - timedelta(days=1), today())
    return {name: sum(day[name] for day in days) for name in ZERO}


def test_every_day_of_the_range_with_zeros_where_nothing_was_used(client_a, client_b, tenant_a, tenant_b):
    record(tenant_a.pk, DAY, camera_seconds=5400, recording_bytes=10**12, events=3)
    record(tenant_a.pk, DAY, events=2, deliveries=7)
    record(tenant_b.pk, DAY, events=100, exports=1)
    record(tenant_b.pk, DAY + timedelta(days=1), snapshot_bytes=5)

    assert usage(client_a, DAY - timedelta(days=1), DAY + timedelta(days=1)) == [
        {"date": "2026-11-21", **ZERO},
        {**ZERO, "date": "2026-11-22", "camera_hours": 1.5, "recording_bytes": 10**12, "events": 5, "deliveries": 7},
        {"date": "2026-11-23", **ZERO},
    ]
    assert usage(client_b, DAY, DAY + timedelta(days=1)) == [
        {**ZERO, "date": "2026-11-22", "events": 100, "exports": 1},
        {**ZERO, "date": "2026-11-23", "snapshot_bytes": 5},
    ]


def test_camera_hours_are_rounded_to_three_decimals(client_a, tenant_a):
    record(tenant_a.pk, DAY, camera_seconds=2.0)
    assert usage(client_a, DAY, DAY)[0]["camera_hours"] == 0.001


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"to": "2026-11-22"}, "from"),
        ({"from": "2026-11-22"}, "to"),
        ({"from": "2026-11-31", "to": "2026-12-01"}, "from"),
        ({"from": "22/11/2026", "to": "2026-12-01"}, "from"),
        ({"from": "2026-11-22", "to": "2026-11-21"}, "to"),
        ({"from": "2025-11-22", "to": "2026-11-23"}, "to"),  # 367 days
    ],
)
def test_a_bad_range_is_a_400_naming_the_field(client_a, query, field):
    response = client_a.get(USAGE, query)
    assert response.status_code == 400
    assert (response.json()["code"], list(response.json()["fields"])) == ("invalid", [field])


def test_the_ends_of_the_calendar_and_the_longest_range(client_a):
    assert [d["date"] for d in usage(client_a, date(9999, 12, 30), date(9999, 12, 31))] == ["9999-12-30", "9999-12-31"]
    assert usage(client_a, date(1, 1, 1), date(1, 1, 1)) == [{"date": "0001-01-01", **ZERO}]
    assert len(usage(client_a, date(2024, 1, 1), date(2024, 12, 31))) == 366


def test_reading_needs_cameras_read(make_client, tenant_a):
    refused = make_client(tenant_a, scopes=[EVENTS_READ]).get(USAGE, {"from": "2026-11-22", "to": "2026-11-22"})
    assert (refused.status_code, refused.json()["detail"]) == (403, "This token lacks the 'cameras:read' scope.")
    reader = make_client(tenant_a, scopes=SCOPES)
    assert reader.get(USAGE, {"from": "2026-11-22", "to": "2026-11-22"}).status_code == 200


def test_the_query_count_does_not_grow_with_the_range(client_a, tenant_a, django_assert_max_num_queries):
    for n in range(30):
        record(tenant_a.pk, DAY + timedelta(days=n), events=1)
    with django_assert_max_num_queries(2):  # the token's tenant, then the days
        assert sum(d["events"] for d in usage(client_a, DAY, DAY + timedelta(days=365))) == 30


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_lose_a_count(tenant_a):
    """Threads with connections of their own add to one row that does not exist yet: the first INSERTs race, every
    later addition meets the others' row locks."""
    threads, adds = 4, 50
    start = threading.Barrier(threads)

    def add() -> None:
        try:
            start.wait()
            for _ in range(adds):
                record(tenant_a.pk, DAY, events=1, camera_seconds=0.5)
        finally:
            connection.close()

    workers = [threading.Thread(target=add) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    row = DailyUsage.objects.get(tenant=tenant_a, date=DAY)
    assert (row.events, row.camera_seconds) == (threads * adds, threads * adds * 0.5)


def test_events_stored_through_the_api_and_their_snapshots_count(client_a, client_b, tenant_a, camera_a):
    event = {"camera_id": camera_a.slug, "type": "person", "confidence": 0.8}
    for _ in range(3):
        response = client_a.post("/v2/api/events", event, format="json")
        assert response.status_code == 201, response.json()
    refused = client_a.post("/v2/api/events", {**event, "camera_id": "no-such"}, format="json")
    assert refused.status_code == 400
    snapshot = new_snapshot(tenant_a.pk, camera_a.slug, timezone.now())
    recordings_path(snapshot).parent.mkdir(parents=True, exist_ok=True)
    recordings_path(snapshot).write_bytes(b"\xff\xd8" + b"j" * 998)
    create_event(tenant=tenant_a, camera_id=camera_a.slug, type="person", confidence=0.9, snapshot=snapshot)
    create_events(tenant_a, [{"camera_id": camera_a.slug, "type": "vehicle", "confidence": 0.7}] * 5)

    assert used_lately(client_a) == {**ZERO, "events": 9, "snapshot_bytes": 1000}
    assert used_lately(client_b) == ZERO


@pytest.mark.django_db(transaction=True)
def test_indexed_segments_count_on_the_day_they_were_recorded(client_a, camera_a):
    before_midnight = datetime(2026, 11, 21, 23, 59, 58, tzinfo=UTC)
    after_midnight = before_midnight + timedelta(seconds=2)
    rows = [
        one_part_row(camera_a.tenant_id, camera_a.pk, before_midnight, 2.0, 1500, "tenant-a/cam/1.ts"),
        one_part_row(camera_a.tenant_id, camera_a.pk, after_midnight, 1.6, 1200, "tenant-a/cam/2.ts"),
    ]
    segments = SegmentIndexer()
    for row in rows:
        segments.add(row)
    segments.flush()
    # A retry that finds its rows stored already (its first COPY's reply was lost) counts nothing twice.
    segments.add(rows[1])
    segments.flush()

    assert usage(client_a, DAY - timedelta(days=1), DAY) == [
        {**ZERO, "date": "2026-11-21", "camera_hours": 0.001, "recording_bytes": 1500},
        {**ZERO, "date": "2026-11-22", "camera_hours": 0.0, "recording_bytes": 1200},
    ]


def test_a_finished_export_counts_its_files(client_a, camera_a, tmp_path):
    segments, start = SegmentIndexer(), datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    moment = start
    (tmp_path / "demo").mkdir()
    for source, duration in cut_demo_segments(tmp_path / "demo")[:5]:
        path, size = place_segment(source, camera_a.tenant_id, camera_a.slug, moment)
        segments.add(one_part_row(camera_a.tenant_id, camera_a.pk, moment, duration, size, path))
        moment += timedelta(seconds=duration)
    segments.flush()
    body = {"camera_ids": [camera_a.slug], "start": start.isoformat(), "end": moment.isoformat()}
    job = client_a.post("/v2/api/exports", body, format="json").json()
    assert used_lately(client_a)["exports"] == 0, "a queued export is not counted"

    run_export(job["id"])
    done = client_a.get(f"/v2/api/exports/{job['id']}").json()
    assert done["state"] == "done", done["error"]
    assert used_lately(client_a) == {**ZERO, "exports": 1, "export_bytes": done["files"][0]["size"]}


@pytest.mark.django_db(transaction=True)
def test_each_webhook_delivered_counts_once_whatever_its_attempts(client_a, tenant_a, settings, tmp_path):
    settings.VMS_WEBHOOK_RETRY_BASE = 0  # a retry is due at once, in the same drain
    with running_receiver(tmp_path / "receiver.jsonl", "500,200,404") as hook:
        subscription = Subscription.objects.create(tenant=tenant_a, url=hook.url)
        due = timezone.now()
        for n in range(2):
            Delivery.objects.create(subscription=subscription, event_id=f"evt-{n}", body="{}", next_attempt_at=due)
        assert webhooks.drain(subscription.pk, tenant_a.pk) == 3
        assert len(hook.requests()) == 3
    assert sorted(Delivery.objects.values_list("state", flat=True)) == ["delivered", "failed"]
    assert used_lately(client_a) == {**ZERO, "deliveries": 1}


def test_the_admin_lists_every_tenants_usage_to_the_platform_and_only_theirs_to_staff(
    client, staff_b, tenant_a, tenant_b
):
    record(tenant_a.pk, DAY, events=41)
    record(tenant_b.pk, DAY, events=42)
    staff = tenant_b.memberships.get().user
    staff.user_permissions.add(Permission.objects.get(codename="view_dailyusage"))

    page = staff_b.get("/admin/tenants/dailyusage/")
    assert page.status_code == 200
    assert b">42<" in page.content and b">41<" not in page.content
    row = DailyUsage.objects.get(tenant=tenant_a)
    assert staff_b.get(f"/admin/tenants/dailyusage/{row.pk}/change/").status_code == 302  # "does not exist"

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    query = {"tenant__id__exact": "tenant-a", "date__gte": "2026-11-22", "date__lt": "2026-11-23"}
    page = client.get("/admin/tenants/dailyusage/", query)
    assert b">41<" in page.content and b">42<" not in page.content
    assert client.get("/admin/tenants/dailyusage/add/").status_code == 403, "read-only, even for the platform"
    change = client.get(f"/admin/tenants/dailyusage/{row.pk}/change/")
    assert change.status_code == 200 and b'name="_save"' not in change.content

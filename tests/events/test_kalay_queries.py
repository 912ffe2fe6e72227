"""Kalay queries: the seed's request examples as written, filters, paging, archived events, tenant isolation."""

import json
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.kalay.schema import schema
from events.models import Event
from playback.signing import tenant_from_signature
from tenants.catalogue import EVENTS_READ, PLAYBACK_READ

from ..factories import EventFactory, SegmentFactory
from .kalay import (
    BE,
    END_MS,
    IN_LIST_WINDOW,
    IN_WINDOW,
    LIST_END_MS,
    LIST_START_MS,
    START_MS,
    arguments,
    data,
    error,
    post,
)

pytestmark = pytest.mark.django_db

FUTURE = timezone.now() + timedelta(days=365)
PAST = timezone.now() - timedelta(days=1)
ALL_FIELDS = [
    "pk", "created", "updated", "device", "account", "start_time", "start_time_ts", "expires", "thumbnail", "url",
    "event_type", "contract", "is_archieve", "event_id",
]  # fmt: skip

SEED_COUNT_BODY = (
    'query {get_event_count(device:"udid",start_time:"1583985297000",end_time:"1584011301000",'
    'is_archieve:false,event_id:1,tags:"门口")}'
)
SEED_COUNT_CURL = (
    'query {get_event_count(device:"udid",start_time:"1583985297000",end_time:"1584011301000",is_archieve:false)}'
)
SEED_LIST_BODY = (
    'query {get_event_list(device:"KJKWJK",start_time:"1582398139849",end_time:"1582398239849",'
    "skip:0,limit:100,is_archieve:false){pk,start_time,start_time_ts,thumbnail,event_id}}"
)
SEED_LIST_CURL = (
    'query {get_event_list(device:"KJKWJK",start_time:"1582398139849",end_time:"1582398239849",'
    "skip:0,limit:100){pk,start_time,start_time_ts,thumbnail,event_id}}"
)
SEED_ARCHIVED = "query {get_archieved_event_list {device,events{pk,start_time,start_time_ts,expires,thumbnail}}}"


WINDOW = {"device": "udid", "start_time": str(START_MS), "end_time": str(END_MS)}


def count_query(**args) -> str:
    return f"{{get_event_count({arguments(**{**WINDOW, **args})})}}"


def list_query(fields: str = "pk", **args) -> str:
    return f"{{get_event_list({arguments(**{**WINDOW, **args})}){{{fields}}}}}"


@pytest.fixture
def udid_events(tenant_a, tenant_b):
    """Two events that match the seed's count body, and one per filter that rules an event out."""
    motion = {"tenant": tenant_a, "camera_id": "udid", "type": "motion", "expires": FUTURE}
    EventFactory(**motion, ts=IN_WINDOW, tags=["门口"])
    EventFactory(**motion, ts=IN_WINDOW + timedelta(hours=1), tags=["花园", "门口"])
    EventFactory(**{**motion, "type": "person"}, ts=IN_WINDOW, tags=["门口"])  # event_id 2
    EventFactory(**motion, ts=IN_WINDOW, tags=["花园"])  # other tag
    EventFactory(**motion, ts=IN_WINDOW, tags=["门口外"])  # tags match exactly, not by prefix
    EventFactory(**{**motion, "expires": PAST}, ts=IN_WINDOW, tags=["门口"])  # archived
    EventFactory(**motion, ts=IN_WINDOW - timedelta(hours=1), tags=["门口"])  # before start_time
    EventFactory(**motion, ts=IN_WINDOW.replace(hour=11, minute=8, second=21), tags=["门口"])  # == end_time
    EventFactory(**{**motion, "camera_id": "other"}, ts=IN_WINDOW, tags=["门口"])
    EventFactory(**{**motion, "tenant": tenant_b}, ts=IN_WINDOW, tags=["门口"])


def test_seed_count_body_counts_only_matching_events(client_a, udid_events):
    assert data(post(client_a, SEED_COUNT_BODY)) == {"get_event_count": 2}


def test_seed_count_curl_example(client_a, udid_events):
    # every unarchived event of udid in the window, whatever its category or tags
    assert data(post(client_a, SEED_COUNT_CURL)) == {"get_event_count": 5}


def test_count_filters_is_archieve_and_tags(client_a, tenant_a, udid_events):
    def count(**args) -> int:
        return data(post(client_a, count_query(**args)))["get_event_count"]

    assert count() == 6
    assert count(is_archieve=True) == 1
    assert count(tags="门口") == 4
    assert count(tags="门口 花园") == 1
    assert count(tags="门") == 0
    assert count(event_id=2) == 1
    EventFactory(tenant=tenant_a, camera_id="udid", ts=IN_WINDOW, expires=FUTURE, tags=["x" * 100])
    assert count(tags="x" * 100) == 1
    assert "100" in error(post(client_a, count_query(tags="x" * 101)), 400)  # not cut to match the tag above


def test_count_without_match_is_0_and_another_tenant_sees_0(client_a, client_b, udid_events):
    assert data(post(client_a, count_query(device="nothing-here"))) == {"get_event_count": 0}
    assert data(post(client_b, SEED_COUNT_BODY)) == {"get_event_count": 1}  # only its own event
    assert data(post(client_b, count_query(device="other"))) == {"get_event_count": 0}


@pytest.fixture
def kjkwjk_events(tenant_a, tenant_b):
    first = EventFactory(
        tenant=tenant_a,
        camera_id="KJKWJK",
        ts=IN_LIST_WINDOW + timedelta(seconds=30),
        expires=FUTURE,
        snapshot="tenant-a/KJKWJK/2020-02-22/19/snap-1582398210000.jpg",
        type="person",
    )
    second = EventFactory(tenant=tenant_a, camera_id="KJKWJK", ts=IN_LIST_WINDOW, expires=FUTURE, type="motion")
    EventFactory(tenant=tenant_a, camera_id="KJKWJK", ts=IN_LIST_WINDOW + timedelta(seconds=10), expires=PAST)
    EventFactory(tenant=tenant_b, camera_id="KJKWJK", ts=IN_LIST_WINDOW, expires=FUTURE)
    return second, first


@pytest.mark.parametrize("query", [SEED_LIST_BODY, SEED_LIST_CURL])
def test_seed_list_examples_return_the_asked_fields_oldest_first(client_a, kjkwjk_events, query):
    events = data(post(client_a, query))["get_event_list"]
    expected_len = 2 if "is_archieve" in query else 3
    assert len(events) == expected_len
    assert all(set(event) == {"pk", "start_time", "start_time_ts", "thumbnail", "event_id"} for event in events)
    second, first = kjkwjk_events
    assert events[0] == {
        "pk": second.id,
        "start_time": "2020-02-22 19:03:00",
        "start_time_ts": "1582398180000",
        "thumbnail": "",
        "event_id": 1,
    }
    assert events[-1]["pk"] == first.id
    assert events[-1]["start_time_ts"] == "1582398210000"


def test_list_gives_every_seed_field_with_working_signed_links(client_a, tenant_a, kjkwjk_events):
    query = list_query(" ".join(ALL_FIELDS), device="KJKWJK", start_time=str(LIST_START_MS), end_time=str(LIST_END_MS))
    events = data(post(client_a, query))["get_event_list"]
    archived = next(e for e in events if e["is_archieve"])
    event = next(e for e in events if e["pk"] == kjkwjk_events[1].id)
    row = Event.objects.get(pk=event["pk"])
    assert set(event) == set(ALL_FIELDS)
    assert event["created"] == row.created.strftime("%Y-%m-%d %H:%M:%S")
    assert event["updated"] == row.updated.strftime("%Y-%m-%d %H:%M:%S")
    assert event["expires"] == FUTURE.strftime("%Y-%m-%d %H:%M:%S")
    assert (event["device"], event["account"], event["contract"]) == ("KJKWJK", "tenant-a", "event-retention-30d")
    assert (event["event_type"], event["event_id"], event["is_archieve"]) == (2, 2, False)
    assert archived["expires"] == PAST.strftime("%Y-%m-%d %H:%M:%S")
    for link, path in [
        (event["thumbnail"], "/v2/hls/KJKWJK/2020-02-22/19/snap-1582398210000.jpg"),
        (event["url"], "/v2/hls/KJKWJK/2020-02-22/19/index.m3u8"),
    ]:
        parts = urlsplit(link)
        assert (parts.scheme, parts.netloc, parts.path) == ("http", "testserver", path)
        assert tenant_from_signature(parts.path, dict(parse_qsl(parts.query))) == "tenant-a"


def test_thumbnail_and_url_open_without_a_token_and_only_for_their_tenant(client_a, tenant_a, camera_a, settings):
    snapshot = "tenant-a/cam-front-01/2020-03-12/04/snap-1583985600000.jpg"
    snapshot_file = settings.VMS_RECORDINGS_ROOT / snapshot
    snapshot_file.parent.mkdir(parents=True)
    snapshot_file.write_bytes(b"\xff\xd8 a jpeg")
    SegmentFactory(camera=camera_a, start=IN_WINDOW)
    EventFactory(tenant=tenant_a, camera_id="cam-front-01", ts=IN_WINDOW, snapshot=snapshot)
    [event] = data(post(client_a, list_query("thumbnail url", device="cam-front-01")))["get_event_list"]

    anonymous = Client()
    thumbnail = anonymous.get(event["thumbnail"])
    assert thumbnail.status_code == 200
    assert b"".join(thumbnail.streaming_content) == b"\xff\xd8 a jpeg"
    playlist = anonymous.get(event["url"])
    assert playlist.status_code == 200
    assert playlist.content.startswith(b"#EXTM3U")
    for link in (event["thumbnail"], event["url"]):
        assert anonymous.get(link.replace("tid=tenant-a", "tid=tenant-b")).status_code == 401


def test_url_plays_video_so_only_a_token_with_playback_read_gets_one(make_client, tenant_a, kjkwjk_events):
    query = list_query("pk url", device="KJKWJK", start_time=str(LIST_START_MS), end_time=str(LIST_END_MS))
    events_only = data(post(make_client(tenant_a, scopes=[EVENTS_READ]), query))["get_event_list"]
    assert len(events_only) == 3
    assert all(event["url"] is None for event in events_only)
    may_play = data(post(make_client(tenant_a, scopes=[EVENTS_READ, PLAYBACK_READ]), query))["get_event_list"]
    assert [urlsplit(event["url"]).path for event in may_play] == ["/v2/hls/KJKWJK/2020-02-22/19/index.m3u8"] * 3


def test_fields_asked_through_fragments_and_aliases_are_filled(client_a, kjkwjk_events):
    window = arguments(device="KJKWJK", start_time=str(LIST_START_MS), end_time=str(LIST_END_MS), is_archieve=False)
    query = (
        f"query {{get_event_list({window}) {{id: pk ...Times ... on Event {{event_id}} __typename}}}} "
        "fragment Times on Event {start_time_ts}"
    )
    second, first = kjkwjk_events
    assert data(post(client_a, query))["get_event_list"] == [
        {"id": second.id, "start_time_ts": "1582398180000", "event_id": 1, "__typename": "Event"},
        {"id": first.id, "start_time_ts": "1582398210000", "event_id": 2, "__typename": "Event"},
    ]
    archived = "{get_archieved_event_list {...on ArchievedEvent {events {...E}}}} fragment E on Event {pk expires}"
    [group] = data(post(client_a, archived))["get_archieved_event_list"]
    assert [set(event) for event in group["events"]] == [{"pk", "expires"}]


def test_list_pages_with_skip_and_clamps_limit_to_100(client_a, tenant_a):
    Event.objects.bulk_create(
        EventFactory.build(tenant=tenant_a, camera_id="udid", ts=IN_WINDOW + timedelta(seconds=i)) for i in range(120)
    )
    expected = list(Event.objects.order_by("ts").values_list("id", flat=True))

    def page(**args) -> list[str]:
        return [e["pk"] for e in data(post(client_a, list_query(**args)))["get_event_list"]]

    assert page() == expected[:50]
    assert page(skip=50, limit=20) == expected[50:70]
    assert page(limit=500) == expected[:100]
    assert page(skip=110, limit=100) == expected[110:]
    assert page(skip=500) == []


def test_list_takes_the_same_queries_however_many_events(client_a, tenant_a):
    EventFactory.create_batch(3, tenant=tenant_a, camera_id="udid", ts=IN_WINDOW)
    with CaptureQueriesContext(connection) as few:
        assert len(data(post(client_a, list_query(" ".join(ALL_FIELDS))))["get_event_list"]) == 3
    EventFactory.create_batch(30, tenant=tenant_a, camera_id="udid", ts=IN_WINDOW)
    with CaptureQueriesContext(connection) as many:
        assert len(data(post(client_a, list_query(" ".join(ALL_FIELDS))))["get_event_list"]) == 33
    assert len(many) == len(few) <= 2  # the token's tenant, then the page


def test_another_tenants_device_lists_nothing(client_b, kjkwjk_events, tenant_a):
    EventFactory(tenant=tenant_a, camera_id="cam-a-only", ts=IN_LIST_WINDOW, expires=FUTURE)
    assert data(post(client_b, SEED_LIST_BODY.replace("KJKWJK", "cam-a-only"))) == {"get_event_list": []}
    assert [e["pk"] for e in data(post(client_b, SEED_LIST_CURL))["get_event_list"]] == [
        Event.objects.get(tenant_id="tenant-b").id
    ]


def test_seed_archived_example_groups_expired_events_by_device(client_a, client_b, tenant_a, tenant_b):
    old = timezone.now() - timedelta(days=400)
    a1 = EventFactory(tenant=tenant_a, camera_id="KJKWJK", ts=old, expires=PAST, snapshot_url="/v2/hls/x/y/z/s.jpg")
    a2 = EventFactory(tenant=tenant_a, camera_id="XYZ789", ts=old, expires=PAST)
    a3 = EventFactory(tenant=tenant_a, camera_id="KJKWJK", ts=old - timedelta(hours=1), expires=PAST)
    EventFactory(tenant=tenant_a, camera_id="KJKWJK", ts=old, expires=FUTURE)  # not expired
    b1 = EventFactory(tenant=tenant_b, camera_id="KJKWJK", ts=old, expires=PAST)

    groups = data(post(client_a, SEED_ARCHIVED))["get_archieved_event_list"]
    assert [(g["device"], [e["pk"] for e in g["events"]]) for g in groups] == [
        ("KJKWJK", [a3.id, a1.id]),
        ("XYZ789", [a2.id]),
    ]
    event = groups[0]["events"][1]
    assert set(event) == {"pk", "start_time", "start_time_ts", "expires", "thumbnail"}
    assert event["expires"] == PAST.strftime("%Y-%m-%d %H:%M:%S")
    assert urlsplit(event["thumbnail"]).path == "/v2/hls/x/y/z/s.jpg"
    assert data(post(client_b, SEED_ARCHIVED))["get_archieved_event_list"] == [
        {"device": "KJKWJK", "events": [{**event, "pk": b1.id, "thumbnail": ""}]}
    ]


def archived_page(client, **args) -> dict[str, list[str]]:
    query = f"{{get_archieved_event_list{f'({arguments(**args)})' if args else ''} {{device events {{pk}}}}}}"
    groups = data(post(client, query))["get_archieved_event_list"]
    return {group["device"]: [event["pk"] for event in group["events"]] for group in groups}


def test_archived_list_gives_the_oldest_100_and_pages_with_skip_and_limit(client_a, tenant_a):
    old = timezone.now() - timedelta(days=60)
    Event.objects.bulk_create(
        [EventFactory.build(tenant=tenant_a, camera_id="busy", ts=old + timedelta(seconds=i), expires=PAST)
         for i in range(130)]
        + [EventFactory.build(tenant=tenant_a, camera_id="quiet", ts=old + timedelta(seconds=50.5), expires=PAST)]
        + [EventFactory.build(tenant=tenant_a, camera_id="busy", ts=old, expires=FUTURE)]  # not archived
    )  # fmt: skip
    archived = list(Event.objects.filter(expires=PAST).order_by("ts").values_list("camera_id", "id"))

    def grouped(rows: list[tuple[str, str]]) -> dict[str, list[str]]:
        return {device: [pk for camera, pk in rows if camera == device] for device in sorted({c for c, _ in rows})}

    assert archived_page(client_a) == grouped(archived[:100])  # the seed's call: no arguments, at most 100
    assert archived_page(client_a, skip=100) == grouped(archived[100:])
    assert archived_page(client_a, skip=5, limit=10) == grouped(archived[5:15])
    assert archived_page(client_a, limit=500) == grouped(archived[:100])  # clamped, as get_event_list's limit
    assert archived_page(client_a, skip=131) == {}


def test_archived_list_takes_the_same_queries_however_many_events(client_a, tenant_a):
    def archived(count: int) -> int:
        Event.objects.bulk_create(
            EventFactory.build(tenant=tenant_a, camera_id=f"cam-{i % 3}", expires=PAST) for i in range(count)
        )
        with CaptureQueriesContext(connection) as queries:
            page = archived_page(client_a)
        assert sum(map(len, page.values())) == min(Event.objects.count(), 100)
        return len(queries)

    assert archived(3) == archived(400) <= 2  # the token's tenant, then the page


@pytest.mark.parametrize("path", [BE, BE.rstrip("/")])
def test_get_and_post_work_with_and_without_trailing_slash(client_a, udid_events, path):
    assert data(client_a.get(path, {"query": SEED_COUNT_BODY})) == {"get_event_count": 2}
    assert data(post(client_a, SEED_COUNT_BODY, path=path)) == {"get_event_count": 2}


def test_variables_are_accepted_in_post_bodies_and_query_strings(client_a, udid_events):
    query = (
        "query Count($device: String!, $tags: String) "
        '{get_event_count(device: $device, start_time: "1583985297000", end_time: "1584011301000", tags: $tags)}'
    )
    variables = {"device": "udid", "tags": "门口 花园"}
    assert data(post(client_a, query, variables)) == {"get_event_count": 1}
    params = {"query": query, "variables": json.dumps(variables), "operationName": "Count"}
    assert data(client_a.get(BE, params)) == {"get_event_count": 1}


def test_schema_has_the_seeds_names_and_types():
    sdl = " ".join(schema.as_str().split())
    for signature in [
        "get_event_count(device: String!, start_time: String!, end_time: String!, is_archieve: Boolean = null, "
        "event_id: Int = null, tags: String = null): Int",
        "get_event_list(device: String!, start_time: String!, end_time: String!, is_archieve: Boolean = null, "
        "event_id: Int = null, tags: String = null, skip: Int = 0, limit: Int = 50): [Event]",
        "get_archieved_event_list(skip: Int = 0, limit: Int = 100): [ArchievedEvent]",
        "update_event(pk: String!, tags: [String]!): String",
        "remove_event(pk: String = null, device: String!, start_time: String = null, end_time: String = null): String",
        "type ArchievedEvent { device: String events: [Event] }",
        "type Event { pk: String created: String updated: String device: String account: String start_time: String "
        "start_time_ts: String expires: String thumbnail: String url: String event_type: Int contract: String "
        "is_archieve: Boolean event_id: Int }",
    ]:
        assert signature in sdl

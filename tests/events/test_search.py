"""Colour and plate search: GET /v2/api/events?color=|upper_color=|lower_color=|plate= and the same filters on
WS /v2/ws/events, over events made by events.services.create_events, on real PostgreSQL (fuzzystrmatch, the
migration's functions and indexes) and the real channel layer."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection, connections
from django.utils import timezone

from events.models import Event
from events.plates import edit_distance, normalize_plate, plates_match
from events.search import filter_events
from events.services import create_events
from vms.asgi import application

from ..factories import CameraFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the WebSocket consumer reads from another thread

RED_PERSON = {"color": ["red", "black"], "upper_color": "red", "lower_color": "black"}
BLUE_PERSON = {"color": ["blue"], "upper_color": "blue", "lower_color": "blue"}
BLUE_CAR = {"color": ["blue", "white"]}


@pytest.fixture
async def _close_consumer_connections():
    """The consumer's DB thread keeps a connection; closing it lets the test database be dropped at once."""
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
def cameras(tenant_a, tenant_b):
    return [CameraFactory(tenant=tenant, slug="cam-front-01") for tenant in (tenant_a, tenant_b)]


def store(tenant, *events: tuple[str, dict]) -> list[Event]:
    """Events of (type, payload), oldest first, a minute apart and ending a minute ago."""
    now = timezone.now()
    return create_events(
        tenant,
        [
            {
                "camera_id": "cam-front-01",
                "type": type,
                "confidence": 0.9,
                "payload": payload,
                "ts": now - timedelta(minutes=len(events) - i),
            }
            for i, (type, payload) in enumerate(events)
        ],
    )


def found(client, query: str) -> list[str]:
    response = client.get(f"/v2/api/events?{query}")
    assert response.status_code == 200, response.json()
    return [event["id"] for event in response.json()]


# ---------------------------------------------------------------- the plate key


@pytest.mark.parametrize(
    "text",
    [
        "51f-123.45",
        "S1F-I2345",
        "51F12345",
        " oq iz sb ",
        "Ä5ß-1é",
        "\uff15\uff11F",
        "---",
        "",
        "A" * 32,
        "A" * 33,
        "ab_cd%",
    ],
)
def test_the_sql_key_is_the_python_key(text):
    with connection.cursor() as cursor:
        cursor.execute("SELECT events_plate_key(%s)", [text])
        assert cursor.fetchone()[0] == normalize_plate(text)


def test_look_alikes_fold_for_matching_only():
    assert normalize_plate("S1F-I23.45") == normalize_plate("51f 12345") == "51F12345"
    assert normalize_plate("OQ-IZ-SB") == "001258"
    assert normalize_plate("D6L") == "D6L"  # kept apart: see events.plates
    assert plates_match("51F12345", "S1F-I2345", fuzzy=False)
    assert not plates_match("51F12345", "51F12346", fuzzy=False)
    assert plates_match("51F12345", "51F12346")


# ---------------------------------------------------------------- GET /v2/api/events?plate=


def test_plate_search_finds_exact_look_alike_one_and_two_errors_not_three_newest_first(client_a, cameras, tenant_a):
    reads = {
        "exact": "51F-123.45",
        "look_alike": "S1F-I2345",
        "one_wrong": "51F-123.46",
        "one_missing": "51F-1234",
        "two_errors": "61F-123.46",
        "three_errors": "61G-123.46",
    }
    assert edit_distance(normalize_plate(reads["three_errors"]), "51F12345") == 3
    events = dict(
        zip(reads, store(tenant_a, *[("license_plate", {"text": t, "plate": t}) for t in reads.values()]), strict=True)
    )
    expected = [events[name].id for name in reversed(reads) if name != "three_errors"]
    assert found(client_a, "plate=51F12345") == expected
    assert found(client_a, "plate=51f 123-45") == expected  # the pattern is normalised as the plates are
    # A person event with a plate in its payload is no plate event.
    store(tenant_a, ("person", {"plate": "51F12345"}))
    assert found(client_a, "plate=51F12345") == expected
    # Keyset pages walk the same matches.
    first = found(client_a, "plate=51F12345&limit=2")
    rest = found(client_a, f"plate=51F12345&limit=10&before={first[-1]}")
    assert first + rest == expected


def test_a_short_pattern_allows_fewer_errors(client_a, cameras, tenant_a):
    ab12, ab13 = store(tenant_a, ("license_plate", {"plate": "AB12"}), ("license_plate", {"plate": "AB13"}))
    assert found(client_a, "plate=AB12") == [ab13.id, ab12.id]  # 4 characters: one error
    assert found(client_a, "plate=12") == []  # 2 characters: exact only
    assert found(client_a, "plate=AB-1") == [ab13.id, ab12.id]  # 3 characters: one error, a missing one here
    assert found(client_a, "plate=AX1") == []  # two errors from either


def test_another_tenants_plates_never_match(client_a, client_b, cameras, tenant_a, tenant_b):
    [ours] = store(tenant_a, ("license_plate", {"plate": "51F12345"}))
    store(tenant_b, ("license_plate", {"plate": "51F12345"}), ("license_plate", {"plate": "51F12346"}))
    assert found(client_a, "plate=51F12345") == [ours.id]
    assert ours.id not in found(client_b, "plate=51F12345")


@pytest.mark.parametrize("pattern", ["51F_123", "x", "A" * 17, "%", "--", "51F%25", "5 -"])
def test_a_bad_plate_pattern_is_400_naming_the_field(client_a, cameras, pattern):
    response = client_a.get("/v2/api/events", {"plate": pattern})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"] == {
        "plate": ["A plate is 2 to 16 letters, digits, spaces or dashes, at least 2 of them letters or digits."]
    }
    assert body["detail"].startswith("plate: ")


# ---------------------------------------------------------------- colours


def test_colour_filters_for_people_and_vehicles(client_a, client_b, cameras, tenant_a, tenant_b):
    red_person, blue_person, blue_car, _, _, _ = store(
        tenant_a,
        ("person", {"attributes": RED_PERSON}),
        ("person", {"attributes": BLUE_PERSON}),
        ("vehicle", {"attributes": BLUE_CAR}),
        ("motion", {"attributes": BLUE_CAR}),  # only people and vehicles have colours
        ("vehicle", {}),
        ("vehicle", {"attributes": {"upper_color": "red"}}),  # and only people clothes
    )
    [others_red] = store(tenant_b, ("person", {"attributes": RED_PERSON}))
    assert found(client_a, "color=red") == [red_person.id]
    assert found(client_a, "color=blue") == [blue_car.id, blue_person.id]
    assert found(client_a, "color=blue&type=vehicle") == [blue_car.id]
    assert found(client_a, "color=white") == [blue_car.id]
    assert found(client_a, "upper_color=red") == [red_person.id]
    assert found(client_a, "lower_color=red") == []
    assert found(client_a, "upper_color=red&lower_color=black&color=black") == [red_person.id]
    assert found(client_a, "color=purple") == []
    assert found(client_b, "color=red") == [others_red.id]


def test_a_colour_off_the_palette_is_400(client_a, cameras):
    response = client_a.get("/v2/api/events?upper_color=teal")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["upper_color"]


def plan(query) -> str:
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        return "\n".join(row[0] for row in cursor.execute(f"EXPLAIN {sql}", params).fetchall())


def test_the_searches_read_their_indexes(tenant_a):
    """The ORM's expressions are the indexes' own: on a table where a filter is selective, the plan reads its
    index (a plate among thousands; a colour, or a pair of clothes colours, few wear)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_event (id, tenant_id, camera_id, type, event_id, confidence, payload, snapshot_url,
                                      trace_id, model_version, ts, tags, expires, created, updated)
            SELECT 'evt-' || i, %s, 'cam-front-01', kind, 2, 0.9, CASE kind
                     WHEN 'license_plate' THEN jsonb_build_object('plate', '51F-' || lpad(i::text, 5, '0'))
                     ELSE '{"attributes": {"color": ["red"], "upper_color": "red", "lower_color": "black"}}' END,
                   '', md5(i::text), '', now() - i * interval '1 s', '{}', now() + interval '1 day', now(), now()
            FROM generate_series(1, 4000) AS i,
                 LATERAL (SELECT (ARRAY['person', 'license_plate'])[1 + i %% 2]) AS k(kind)
            """,
            [tenant_a.id],
        )
        cursor.execute("ANALYZE events_event")
    events = Event.objects.filter(tenant=tenant_a).order_by("-ts", "-id")
    assert "event_plate_variants" in plan(filter_events(events, {"plate": "51F-00333"})[:50])
    assert "event_attributes_gin" in plan(filter_events(events, {"color": "purple"})[:50])
    assert "event_person_clothes" in plan(filter_events(events, {"upper_color": "blue", "lower_color": "pink"})[:50])


# ---------------------------------------------------------------- WS /v2/ws/events


async def connect(token: str, query: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/v2/ws/events?token={token}{query}")
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    return communicator


@pytest.mark.usefixtures("_close_consumer_connections")
async def test_the_websocket_filters_as_the_list_does(make_token, cameras, tenant_a, tenant_b):
    plates = await connect(make_token(tenant_a), "&plate=51F-12345")
    blue = await connect(make_token(tenant_a), "&color=blue")
    upper_red = await connect(make_token(tenant_a), "&upper_color=red")
    stored = await database_sync_to_async(store)(
        tenant_a,
        ("license_plate", {"text": "S1F-I2345", "plate": "S1FI2345"}),
        ("license_plate", {"plate": "61G12346"}),
        ("person", {"attributes": RED_PERSON}),
        ("vehicle", {"attributes": BLUE_CAR}),
        ("motion", {"attributes": BLUE_CAR}),
    )
    await database_sync_to_async(store)(tenant_b, ("license_plate", {"plate": "51F12345"}))
    look_alike, _, red_person, blue_car, _ = stored
    assert (await plates.receive_json_from(timeout=3))["data"]["id"] == look_alike.id
    assert (await blue.receive_json_from(timeout=3))["data"]["id"] == blue_car.id
    assert (await upper_red.receive_json_from(timeout=3))["data"]["id"] == red_person.id
    for client in (plates, blue, upper_red):
        assert await client.receive_nothing(timeout=0.3)
        await client.disconnect()


@pytest.mark.usefixtures("_close_consumer_connections")
async def test_a_resuming_websocket_replays_only_matching_events(make_token, cameras, tenant_a):
    anchor, match, _ = await database_sync_to_async(store)(
        tenant_a,
        ("motion", {}),
        ("license_plate", {"plate": "51F12346"}),
        ("license_plate", {"plate": "99X00000"}),
    )
    client = await connect(make_token(tenant_a), f"&plate=51F12345&after={anchor.id}")
    assert (await client.receive_json_from(timeout=3))["data"]["id"] == match.id
    assert (await client.receive_json_from(timeout=3))["count"] == 1
    await client.disconnect()


@pytest.mark.usefixtures("_close_consumer_connections")
@pytest.mark.parametrize("query", ["plate=%25", "plate=x", "color=teal", "lower_color=" + "red" * 30])
async def test_a_search_filter_the_rest_api_refuses_is_refused_with_its_message_and_4400(client_a, make_token, query):
    rest = await database_sync_to_async(client_a.get)(f"/v2/api/events?{query}")
    assert rest.status_code == 400
    client = await connect(make_token(rest.wsgi_request.user.tenant), f"&{query}")
    assert await client.receive_json_from(timeout=3) == {"type": "error", "detail": rest.json()["detail"]}
    assert await client.receive_output(timeout=3) == {"type": "websocket.close", "code": 4400}
    await client.disconnect()  # its application instance ends here, not in the next test

"""Watch-list matching in the relay: a plate (exact or fuzzy) or an object rule that matches a stored event becomes a
`watchlist_match` alert event, once, in its tenant only, and goes out like any other event."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event, Severity
from events.notify.relay import relay_once
from events.services import create_events
from watchlists.matching import WatchlistSink
from watchlists.models import WatchList

from ..factories import CameraFactory

pytestmark = pytest.mark.django_db


def plate_event(camera, text: str) -> dict:
    return {"camera_id": camera.slug, "type": "license_plate", "confidence": 0.8, "payload": {"plate": text}}


def object_event(camera, type_: str, attributes: dict, zones: list[str] | None = None) -> dict:
    payload = {"label": "car" if type_ == "vehicle" else "person", "attributes": attributes}
    if zones is not None:
        payload["zones"] = zones
    return {"camera_id": camera.slug, "type": type_, "confidence": 0.9, "payload": payload}


def watch(tenant, *entries: dict, name: str = "hot") -> WatchList:
    from watchlists.entries import clean_entries

    return WatchList.objects.create(tenant=tenant, name=name, entries=clean_entries(list(entries)))


def alerts(tenant) -> list[Event]:
    return list(Event.objects.filter(tenant=tenant, type="watchlist_match").order_by("seq"))


@pytest.fixture
def gate(tenant_a):
    return CameraFactory(tenant=tenant_a, slug="cam-gate")


def test_a_plate_matches_exactly_as_normalised_and_fuzzily_only_when_asked(tenant_a, gate):
    exact = watch(tenant_a, {"plate": "51F-12345"}, name="Hot plates")  # a name a tag could not be
    fuzzy = watch(tenant_a, {"plate": "30A99999", "fuzzy": True}, name="fuzzy")
    written = create_events(tenant_a, [
        plate_event(gate, "51f 123.45"),  # the same plate, written otherwise: exact
        plate_event(gate, "51F12346"),  # one wrong character: the exact entry does not match
        plate_event(gate, "30A99989"),  # one wrong character: the fuzzy entry matches
        plate_event(gate, "11B22222"),  # nothing like either
    ])  # fmt: skip
    assert relay_once(WatchlistSink()) == 4

    found = alerts(tenant_a)
    assert [(a.payload["watchlist"], a.payload["event_id"]) for a in found] == [
        ("Hot plates", written[0].id), ("fuzzy", written[2].id)
    ]  # fmt: skip
    first = found[0]
    assert first.severity == Severity.ALERT and first.event_id == 8 and first.camera_id == "cam-gate"
    assert first.tags == [f"watchlist-{exact.pk}"]
    assert first.payload == {"watchlist": "Hot plates", "watchlist_id": exact.pk, "entry": exact.entries[0],
                             "event_id": written[0].id}  # fmt: skip
    assert (first.ts, first.trace_id) == (written[0].ts, written[0].trace_id)
    assert found[1].payload["entry"] == fuzzy.entries[0]


def test_an_object_rule_matches_label_colour_camera_and_zone_together(tenant_a, gate):
    lobby = CameraFactory(tenant=tenant_a, slug="cam-lobby")
    watch(tenant_a, {"label": "vehicle", "color": "red", "camera_id": "cam-gate", "zone": "entry"},
          {"label": "person", "color": "black"})  # fmt: skip
    written = create_events(tenant_a, [
        object_event(gate, "vehicle", {"color": ["white", "red"]}, ["entry"]),  # matches the vehicle rule
        object_event(gate, "vehicle", {"color": ["red"]}, ["exit"]),  # another zone
        object_event(lobby, "vehicle", {"color": ["red"]}, ["entry"]),  # another camera
        object_event(gate, "person", {"color": ["red"], "upper_color": "red", "lower_color": "black"}),  # person rule
        object_event(gate, "person", {"color": ["blue"], "upper_color": "blue", "lower_color": "grey"}),
        object_event(gate, "vehicle", {}, ["entry"]),  # no attributes (an ingested event): no colour to match
    ])  # fmt: skip
    relay_once(WatchlistSink())
    assert [a.payload["event_id"] for a in alerts(tenant_a)] == [written[0].id, written[3].id]


def test_an_expired_entry_matches_nothing(tenant_a, gate):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    watch(tenant_a, {"plate": "51F12345", "expires": past})
    create_events(tenant_a, [plate_event(gate, "51F12345")])
    relay_once(WatchlistSink())
    assert alerts(tenant_a) == []


def test_another_tenants_lists_never_match_and_alerts_are_not_matched_again(tenant_a, tenant_b, gate):
    theirs = CameraFactory(tenant=tenant_b, slug="cam-gate")
    watch(tenant_b, {"plate": "51F12345"})
    create_events(tenant_a, [plate_event(gate, "51F12345")])
    create_events(tenant_b, [plate_event(theirs, "51F12345")])
    relay_once(WatchlistSink())
    assert alerts(tenant_a) == []
    assert len(alerts(tenant_b)) == 1
    relay_once(WatchlistSink())  # the alert itself is handed to the sink now, and matches nothing
    assert len(alerts(tenant_b)) == 1


def test_a_client_cannot_ingest_a_watchlist_match(client_a, gate):
    body = {"camera_id": "cam-gate", "type": "watchlist_match", "confidence": 1}
    answer = client_a.post("/v2/api/events", body, format="json")
    assert answer.status_code == 400
    assert "written by the system only" in answer.json()["detail"]

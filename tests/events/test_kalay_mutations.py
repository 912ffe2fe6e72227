"""Kalay mutations: update_event and remove_event as the seed writes them, their 400/404s and tenant isolation."""

from datetime import timedelta

import pytest

from events.models import Event
from tenants.catalogue import READ_SCOPES

from ..factories import EventFactory
from .kalay import BE, IN_LIST_WINDOW, LIST_END_MS, LIST_START_MS, arguments, data, error, post

pytestmark = pytest.mark.django_db

SEED_PK = "8dfaksjk2jkjkdjkjckjed3354"
SEED_SET_TAGS = 'mutation {update_event(pk:"8dfaksjk2jkjkdjkjckjed3354",tags:["home","family","门口"])}'
SEED_CLEAR_TAGS = 'mutation {update_event(pk:"8dfaksjk2jkjkdjkjckjed3354",tags:[])}'
SEED_REMOVE_PKS = 'mutation {remove_event(pk:"8dfaksjk2jkjkdjkjckjed3354 event789012",device:"KJKWJK")}'
SEED_REMOVE_RANGE = 'mutation {remove_event(device:"KJKWJK",start_time:"1582398139849",end_time:"1582398239849")}'


def update(**args) -> str:
    return f"mutation {{update_event({arguments(**args)})}}"


def remove(**args) -> str:
    return f"mutation {{remove_event({arguments(**args)})}}"


def tags_of(pk: str) -> list[str]:
    return Event.objects.get(pk=pk).tags


@pytest.fixture
def seed_event(tenant_a):
    return EventFactory(id=SEED_PK, tenant=tenant_a, camera_id="KJKWJK", ts=IN_LIST_WINDOW, tags=["old"])


def test_seed_update_replaces_every_tag(client_a, seed_event):
    assert data(post(client_a, SEED_SET_TAGS)) == {"update_event": "Update event finish."}
    row = Event.objects.get(pk=SEED_PK)
    assert row.tags == ["home", "family", "门口"]
    assert row.updated > seed_event.updated


def test_seed_clear_tags_empties_them(client_a, seed_event):
    assert data(post(client_a, SEED_CLEAR_TAGS)) == {"update_event": "Update event finish."}
    assert tags_of(SEED_PK) == []


def test_update_over_get_works_as_the_seed_lists_it(client_a, seed_event):
    assert data(client_a.get(BE, {"query": SEED_CLEAR_TAGS})) == {"update_event": "Update event finish."}
    assert tags_of(SEED_PK) == []


def test_update_of_an_unknown_pk_is_404(client_a, seed_event):
    message = error(post(client_a, update(pk="evt-nope", tags=["x"])), 404)
    assert "evt-nope" in message


def test_update_of_another_tenants_event_is_404_and_changes_nothing(client_b, seed_event):
    error(post(client_b, SEED_SET_TAGS), 404)
    assert tags_of(SEED_PK) == ["old"]


@pytest.mark.parametrize("tags", [["two words"], [""], ["x" * 101], ["ok", None], [f"t{i}" for i in range(21)]])
def test_bad_tags_are_400_and_change_nothing(client_a, seed_event, tags):
    error(post(client_a, update(pk=SEED_PK, tags=tags)), 400)
    assert tags_of(SEED_PK) == ["old"]


def test_update_needs_the_tags_argument_and_a_pk(client_a, seed_event):
    assert error(post(client_a, 'mutation {update_event(pk:"x")}'), 400) == (
        "Field 'tags' of required type '[String]!' is not provided"
    )
    error(post(client_a, update(pk=" ", tags=[])), 400)
    assert tags_of(SEED_PK) == ["old"]


@pytest.fixture
def kjkwjk(tenant_a, tenant_b, seed_event):
    """Events of KJKWJK in and around the seed's removal window, plus look-alikes that must survive."""
    make = EventFactory
    return {
        "seed": seed_event,
        "second": make(id="event789012", tenant=tenant_a, camera_id="KJKWJK", ts=IN_LIST_WINDOW),
        "in_window": make(tenant=tenant_a, camera_id="KJKWJK", ts=IN_LIST_WINDOW + timedelta(seconds=30)),
        "after": make(tenant=tenant_a, camera_id="KJKWJK", ts=IN_LIST_WINDOW + timedelta(minutes=5)),
        "other_device": make(tenant=tenant_a, camera_id="XYZ789", ts=IN_LIST_WINDOW),
        "other_tenant": make(tenant=tenant_b, camera_id="KJKWJK", ts=IN_LIST_WINDOW),
    }


def surviving(events: dict) -> set[str]:
    ids = set(Event.objects.values_list("id", flat=True))
    return {name for name, event in events.items() if event.id in ids}


def test_seed_remove_by_pks(client_a, kjkwjk):
    assert data(post(client_a, SEED_REMOVE_PKS)) == {"remove_event": "Remove event finish."}
    assert surviving(kjkwjk) == {"in_window", "after", "other_device", "other_tenant"}


def test_remove_deletes_the_snapshot_files_too(client_a, settings, django_capture_on_commit_callbacks, kjkwjk):
    snapshot = settings.VMS_RECORDINGS_ROOT / "tenant-a/KJKWJK/2020-02-22/19/snap-1582398180000.jpg"
    snapshot.parent.mkdir(parents=True)
    snapshot.write_bytes(b"\xff\xd8 jpeg")
    Event.objects.filter(pk=SEED_PK).update(snapshot="tenant-a/KJKWJK/2020-02-22/19/snap-1582398180000.jpg")
    with django_capture_on_commit_callbacks(execute=True):
        data(post(client_a, SEED_REMOVE_PKS))
    assert not snapshot.exists()


def test_seed_remove_by_time_range(client_a, kjkwjk):
    assert data(post(client_a, SEED_REMOVE_RANGE)) == {"remove_event": "Remove event finish."}
    assert surviving(kjkwjk) == {"after", "other_device", "other_tenant"}


def test_remove_by_pk_keeps_events_of_other_devices_and_tenants(client_a, client_b, kjkwjk):
    pks = " ".join(kjkwjk[name].id for name in ("other_device", "other_tenant"))
    assert data(post(client_a, remove(pk=pks, device="KJKWJK"))) == {"remove_event": "Remove event finish."}
    assert data(post(client_b, SEED_REMOVE_PKS)) == {"remove_event": "Remove event finish."}
    assert len(surviving(kjkwjk)) == len(kjkwjk)


def test_remove_for_another_tenants_range_removes_only_its_own(client_b, kjkwjk):
    assert data(post(client_b, SEED_REMOVE_RANGE)) == {"remove_event": "Remove event finish."}
    assert surviving(kjkwjk) == set(kjkwjk) - {"other_tenant"}


@pytest.mark.parametrize(
    "args",
    [
        {"pk": SEED_PK, "start_time": str(LIST_START_MS), "end_time": str(LIST_END_MS)},  # both
        {"pk": SEED_PK, "start_time": str(LIST_START_MS)},  # both, half a range
        {},  # neither
        {"pk": "  "},  # neither: a blank pk is no pk
        {"start_time": str(LIST_START_MS)},  # half a range
        {"start_time": "yesterday", "end_time": str(LIST_END_MS)},
        {"start_time": str(LIST_END_MS), "end_time": str(LIST_START_MS)},
    ],
)
def test_remove_needs_exactly_one_of_pk_and_a_valid_range(client_a, kjkwjk, args):
    error(post(client_a, remove(device="KJKWJK", **args)), 400)
    assert len(surviving(kjkwjk)) == len(kjkwjk)


def test_remove_needs_device(client_a, kjkwjk):
    message = error(post(client_a, f'mutation {{remove_event(pk:"{SEED_PK}")}}'), 400)
    assert message == "Field 'device' of required type 'String!' is not provided"
    assert len(surviving(kjkwjk)) == len(kjkwjk)


def test_a_read_only_token_may_query_but_not_mutate(make_client, tenant_a, kjkwjk):
    viewer = make_client(tenant_a, scopes=READ_SCOPES)
    assert "events:write" in error(post(viewer, SEED_REMOVE_PKS), 403)
    assert "events:write" in error(post(viewer, SEED_SET_TAGS), 403)
    assert len(surviving(kjkwjk)) == len(kjkwjk)
    assert tags_of(SEED_PK) == ["old"]
    archived = data(post(viewer, "{get_archieved_event_list {device}}"))["get_archieved_event_list"]
    assert archived == [{"device": "KJKWJK"}, {"device": "XYZ789"}]  # the 2020 events have expired

"""/v2/api/watchlists: a tenant's lists of plates and object rules, checked entry by entry, through the gate."""

from datetime import timedelta

import pytest

from tenants import audit
from tenants.catalogue import SCOPES, WATCHLISTS_WRITE
from tenants.models import AuditEntry
from tenants.tokens import issue_access_token
from watchlists.api.serializers import MAX_WATCHLISTS
from watchlists.models import WatchList

from ..factories import CameraFactory

pytestmark = pytest.mark.django_db

LISTS = "/v2/api/watchlists"
HOT = {
    "name": "Stolen cars",
    "entries": [
        {"plate": "51F-12345", "fuzzy": True, "note": "reported 1 Dec"},
        {"label": "vehicle", "color": "red", "camera_id": "cam-gate", "zone": "entry"},
    ],
}


def test_a_list_is_made_read_changed_and_deleted_with_its_entries_ids_kept(client_a, tenant_a):
    made = client_a.post(LISTS, HOT, format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    plate, rule = body["entries"]
    assert plate == {"id": plate["id"], "plate": "51F-12345", "fuzzy": True, "note": "reported 1 Dec"}
    assert rule == {"id": rule["id"], "label": "vehicle", "color": "red", "camera_id": "cam-gate", "zone": "entry"}
    assert plate["id"] != rule["id"]

    added = {"plate": "30A 99999", "expires": "2030-01-01T00:00:00+00:00"}
    changed = client_a.patch(f"{LISTS}/{body['id']}", {"entries": [plate, added]}, format="json").json()
    assert changed["entries"][0] == plate  # sent back with its id: the same entry
    assert changed["entries"][1]["plate"] == "30A 99999" and changed["entries"][1]["fuzzy"] is False
    assert [row["name"] for row in client_a.get(LISTS).json()] == ["Stolen cars"]

    assert client_a.delete(f"{LISTS}/{body['id']}").status_code == 204
    assert not WatchList.objects.exists()
    audit.drain()
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "watchlist.create", "watchlist.update", "watchlist.delete"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ("plates", "Must be a list of entries."),
        ([{"plate": "51F_123"}], "Entry 0: `plate` must be 2-16 letters, digits, spaces or dashes."),
        ([{"plate": "x"}], "Entry 0: `plate` must be 2-16 letters, digits, spaces or dashes."),
        ([{"plate": "- -"}], "Entry 0: `plate` must hold at least 2 letters or digits."),
        ([{"plate": "51F12345", "fuzzy": "yes"}], "Entry 0: `fuzzy` must be true or false."),
        ([{"label": "dog"}], "Entry 0: `label` must be one of: person, vehicle (or give a `plate`)."),
        (
            [{"label": "vehicle", "color": "teal"}],
            "Entry 0: `color` must be one of: black, white, grey, red, orange, "
            "yellow, green, blue, purple, brown, pink.",
        ),
        ([{"label": "person", "zone": ""}], "Entry 0: `zone` must be a non-empty string of at most 64 characters."),
        (
            [{"plate": "51F12345", "expires": "tomorrow"}],
            "Entry 0: `expires` must be an ISO 8601 date and time with its UTC offset.",
        ),
        (
            [{"plate": "51F12345", "color": "red"}],
            "Entry 0: unknown keys: color (a plate entry holds plate, fuzzy, "
            "note, expires; an object rule label, color, camera_id, zone, note, expires).",
        ),
        (["51F12345"], "Entry 0: must be an object."),
    ],
)
def test_a_bad_entry_is_a_400_naming_it_and_nothing_is_stored(client_a, entries, message):
    answer = client_a.post(LISTS, {"name": "hot", "entries": entries}, format="json")
    assert answer.status_code == 400
    assert answer.json()["fields"]["entries"] == [message]
    assert not WatchList.objects.exists()


def test_names_are_unique_per_tenant_ignoring_case(client_a, client_b):
    assert client_a.post(LISTS, {"name": "Hot"}, format="json").status_code == 201
    again = client_a.post(LISTS, {"name": "hot"}, format="json")
    assert again.status_code == 400
    assert again.json()["fields"]["name"] == ["A watch list with this name already exists in this tenant."]
    assert client_b.post(LISTS, {"name": "hot"}, format="json").status_code == 201  # another tenant's own


def test_a_tenant_has_at_most_so_many_lists_whoever_else_has_some(client_a, tenant_a, tenant_b):
    WatchList.objects.bulk_create(WatchList(tenant=tenant_a, name=f"list {n}") for n in range(MAX_WATCHLISTS - 1))
    WatchList.objects.create(tenant=tenant_b, name="theirs")
    assert client_a.post(LISTS, HOT, format="json").status_code == 201
    refused = client_a.post(LISTS, {**HOT, "name": "one more"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["detail"] == f"A tenant has at most {MAX_WATCHLISTS} watch lists: delete one first."
    assert WatchList.objects.filter(tenant=tenant_a).count() == MAX_WATCHLISTS


def test_another_tenants_list_is_not_found_and_never_listed(client_a, client_b):
    theirs = client_b.post(LISTS, HOT, format="json").json()
    assert client_a.get(LISTS).json() == []
    for answer in (
        client_a.get(f"{LISTS}/{theirs['id']}"),
        client_a.patch(f"{LISTS}/{theirs['id']}", {"name": "mine"}, format="json"),
        client_a.delete(f"{LISTS}/{theirs['id']}"),
    ):
        assert answer.status_code == 404
    assert WatchList.objects.get().name == "Stolen cars"


def test_it_needs_watchlists_write_which_a_camera_limited_token_never_has(make_client, tenant_a, client):
    reader = make_client(tenant_a, [s for s in SCOPES if s != WATCHLISTS_WRITE])
    assert reader.get(LISTS).status_code == 403
    CameraFactory(tenant=tenant_a, slug="lobby")
    limited = issue_access_token(tenant_a, SCOPES, timedelta(hours=1), ("lobby",))
    answer = client.get(LISTS, HTTP_AUTHORIZATION=f"Bearer {limited}")
    assert answer.status_code == 403
    assert "watchlists:write" in answer.json()["detail"]

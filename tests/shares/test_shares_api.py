"""/v2/api/shares: making, listing and revoking share links; bad input is a 400 naming what is wrong and makes
nothing; shares:write is needed for every method; another tenant's share or camera does not exist."""

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from tenants import audit
from tenants.catalogue import OPERATOR_SCOPES, READ_SCOPES, SCOPES
from tenants.models import AuditEntry, Share
from tenants.tokens import issue_access_token, issue_share_token

from ..factories import CameraFactory
from .conftest import CLIP, HOUR, SHARES, make_share

pytestmark = pytest.mark.django_db

DATETIME_FORMATS = "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
FIELDS = {"id", "camera_id", "live", "start", "end", "expires", "password", "created_at", "created_by", "revoked_at"}


def entries(action: str) -> list[tuple[str, str, str, str]]:
    audit.drain()
    rows = AuditEntry.objects.filter(tenant_id="tenant-a", action=action).order_by("id")
    return list(rows.values_list("actor", "object_type", "object_id", "camera_id"))


def test_a_clip_share_is_made_and_its_link_shown_once(client_a, camera_a, record):
    record(camera_a)
    before = timezone.now()
    response = client_a.post(SHARES, {"camera_id": "cam-front-01", **CLIP, "password": "open sesame"}, format="json")

    assert response.status_code == 201, response.json()
    made = response.json()
    assert set(made) == FIELDS | {"url"}
    assert made["url"].startswith("http://testserver/v2/s/")
    key = made["url"].rsplit("/", 1)[1]
    assert len(key) >= 43
    share = Share.objects.get(pk=made["id"])
    assert share.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert share.password.startswith("pbkdf2_") and "open sesame" not in share.password
    assert (made["camera_id"], made["live"], made["password"]) == ("cam-front-01", False, True)
    assert made["revoked_at"] is None
    assert (share.start, share.end) == (HOUR + timedelta(seconds=4), HOUR + timedelta(seconds=10))
    assert made["created_by"] == "token:api"
    # Default lifetime: a day.
    assert before + timedelta(hours=24) <= share.expires <= timezone.now() + timedelta(hours=24)

    listed = client_a.get(SHARES).json()
    assert [set(item) for item in listed] == [FIELDS]  # the link is never shown again
    assert client_a.get(f"{SHARES}/{made['id']}").json() == {k: v for k, v in made.items() if k != "url"}
    assert entries("share.create") == [("token:api", "share", str(made["id"]), "cam-front-01")]


def test_a_live_share_has_no_range_and_expires_when_asked(client_a, camera_a):
    expires = (timezone.now() + timedelta(days=7) - timedelta(minutes=1)).replace(microsecond=0)
    body = {"camera_id": "cam-front-01", "live": True, "expires": expires.isoformat()}

    made = client_a.post(SHARES, body, format="json").json()

    assert (made["live"], made["start"], made["end"], made["password"]) == (True, None, None, False)
    assert Share.objects.get(pk=made["id"]).expires == expires


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"camera_id": "nope"}, "camera_id: No camera 'nope' in this tenant."),
        ({"camera_id": "cam-of-b"}, "camera_id: No camera 'cam-of-b' in this tenant."),
        (
            {"start": (HOUR + timedelta(hours=2)).isoformat(), "end": (HOUR + timedelta(hours=3)).isoformat()},
            "camera_id: Camera 'cam-front-01' has no recording in the range.",
        ),
        ({"end": CLIP["start"]}, "end: Must be later than start."),
        (
            {"end": (HOUR + timedelta(seconds=4, days=1, microseconds=1)).isoformat()},
            "end: A shared clip covers at most 86400 seconds (the plan's max_export_seconds).",
        ),
        ({"start": None, "end": None}, 'start: Required for a clip (a live share sends "live": true).'),
        ({"end": "later"}, "end: Datetime has wrong format. Use one of these formats instead: " + DATETIME_FORMATS),
        ({"start": "absent"}, 'start: Required for a clip (a live share sends "live": true).'),
        ({"live": True}, "start: A live share has no start or end."),
        ({"expires": "2020-01-01T00:00:00Z"}, "expires: Must be in the future."),
        ({"expires": "expires-late"}, "expires: Must be at most 7 days from now."),
        ({"password": "abc"}, "password: Ensure this field has at least 4 characters."),
        ({"password": "x" * 129}, "password: Ensure this field has no more than 128 characters."),
    ],
)
def test_bad_input_is_a_400_that_says_why_and_makes_nothing(client_a, camera_a, tenant_b, record, body, message):
    CameraFactory(tenant=tenant_b, slug="cam-of-b")
    record(camera_a)
    sent = {"camera_id": "cam-front-01", **CLIP, **body}
    if body.get("start") == "absent":
        del sent["start"]
    if body.get("expires") == "expires-late":
        sent["expires"] = (timezone.now() + timedelta(days=7, minutes=1)).isoformat()

    response = client_a.post(SHARES, sent, format="json")

    assert response.status_code == 400
    assert (response.json()["detail"], response.json()["code"]) == (message, "invalid")
    assert not Share.objects.exists()
    assert entries("share.create") == []


def test_every_method_needs_shares_write(make_client, tenant_a, camera_a, client_a):
    share = make_share(client_a, live=True)
    refused = [
        make_client(tenant_a, scopes=READ_SCOPES),
        make_client(tenant_a, scopes=[s for s in SCOPES if s != "shares:write"]),
        APIClient(HTTP_AUTHORIZATION=f"Bearer {issue_share_token(Share.objects.get(pk=share['id']))}"),
    ]
    for client in refused:
        for response in (
            client.get(SHARES),
            client.get(f"{SHARES}/{share['id']}"),
            client.post(SHARES, {"camera_id": "cam-front-01", "live": True}, format="json"),
            client.delete(f"{SHARES}/{share['id']}"),
        ):
            assert response.status_code == 403, response.json()
            assert response.json()["code"] == "permission_denied"
    assert "shares:write" in OPERATOR_SCOPES  # an operator makes shares
    assert Share.objects.get().revoked_at is None


def test_the_list_costs_the_same_queries_however_long(client_a, camera_a):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client_a.get(SHARES).status_code == 200
        return len(captured)

    make_share(client_a, live=True)
    one = queries()
    for _ in range(3):
        make_share(client_a, live=True, password="open sesame")
    assert queries() == one


def test_another_tenants_share_and_camera_do_not_exist(client_b, camera_a, client_a):
    share = make_share(client_a, live=True)

    assert client_b.get(SHARES).json() == []
    assert client_b.get(f"{SHARES}/{share['id']}").status_code == 404
    response = client_b.delete(f"{SHARES}/{share['id']}")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert Share.objects.get().revoked_at is None


def test_delete_revokes_and_keeps_the_row(client, client_a, camera_a, record):
    record(camera_a)
    older = make_share(client_a, live=True)
    share = make_share(client_a)
    token = client.post(f"/v2/s/{share['key']}", {}, "application/json").json()["token"]

    assert client_a.delete(f"{SHARES}/{share['id']}").status_code == 204
    assert client_a.delete(f"{SHARES}/{share['id']}").status_code == 204  # again: nothing changes

    listed = client_a.get(SHARES).json()
    assert [item["id"] for item in listed] == [share["id"], older["id"]]  # newest first, the revoked one kept
    assert listed[0]["revoked_at"] is not None and listed[1]["revoked_at"] is None
    page = client.get(f"/v2/s/{share['key']}")
    assert page.status_code == 410
    assert "This share link has been revoked." in page.content.decode()
    refused = client.get(f"/v2/s/{share['key']}/clip.m3u8?token={token}")
    assert refused.status_code == 401
    assert refused.json() == {"detail": "This share link has been revoked.", "code": "token_not_valid"}
    assert entries("share.revoke") == [("token:api", "share", str(share["id"]), "cam-front-01")]


def test_a_camera_limited_principal_shares_and_sees_its_cameras_only(tenant_a, camera_a, client_a):
    CameraFactory(tenant=tenant_a, slug="cam-back")
    other = make_share(client_a, camera_id="cam-back", live=True)
    limited = APIClient()
    token = issue_access_token(tenant_a, OPERATOR_SCOPES, timedelta(hours=1), cameras=("cam-front-01",))
    limited.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    mine = make_share(limited, live=True)
    response = limited.post(SHARES, {"camera_id": "cam-back", "live": True}, format="json")

    assert response.json()["detail"] == "camera_id: No camera 'cam-back' in this tenant."
    assert [item["id"] for item in limited.get(SHARES).json()] == [mine["id"]]
    assert limited.get(f"{SHARES}/{other['id']}").status_code == 404
    assert limited.delete(f"{SHARES}/{other['id']}").status_code == 404

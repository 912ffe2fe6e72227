"""GET /v2/api/audit (filters, keyset pages, CSV, the audit:read scope, one tenant's entries only), the read-only
admin, and the entries that sign-ins, tokens, cameras, exports, subscriptions and admin changes write."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tenants import audit
from tenants.catalogue import AUDIT_READ, OPERATOR_SCOPES, READ_SCOPES, SCOPES
from tenants.models import AuditEntry, Membership

from ..factories import MembershipFactory, SegmentFactory, UserFactory

pytestmark = pytest.mark.django_db

AUDIT = "/v2/api/audit"


def written() -> list[AuditEntry]:
    """The entries recorded so far, once the drain has written them, in the chain's order."""
    audit.drain()
    return list(AuditEntry.objects.order_by("id"))


@pytest.fixture
def trail(tenant_a, tenant_b) -> list[AuditEntry]:
    """Five entries of tenant A (oldest first) and one of tenant B."""
    audit.record(tenant_a.pk, "auth.login", actor="user:alice", address="10.0.0.1", object_type="user", object_id="1")
    for slug in ("gate", "dock", "gate"):
        audit.record(tenant_a.pk, "playback.view", actor="user:bob", object_type="hour", camera_id=slug)
    audit.record(tenant_a.pk, "token.issue", actor="system", object_type="token", object_id="=HYPERLINK(1)")
    audit.record(tenant_b.pk, "auth.login", actor="user:eve", camera_id="gate")
    return [entry for entry in written() if entry.tenant_id == tenant_a.pk]


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [entry["id"] for entry in response.json()]


def test_the_list_is_the_tenant_s_entries_newest_first(client_a, trail):
    response = client_a.get(AUDIT)
    assert ids(response) == [entry.pk for entry in reversed(trail)]
    login = response.json()[-1]
    assert set(login) == {"id", "ts", "actor", "address", "action", "object_type", "object_id", "camera_id",
                          "outcome", "prev_hash", "hash"}  # fmt: skip
    assert (login["action"], login["actor"], login["address"], login["outcome"]) == (
        "auth.login", "user:alice", "10.0.0.1", "ok"
    )  # fmt: skip
    assert login["hash"] == trail[0].hash


def test_filters(client_a, trail):
    assert ids(client_a.get(AUDIT, {"actor": "user:bob"})) == [trail[3].pk, trail[2].pk, trail[1].pk]
    assert ids(client_a.get(AUDIT, {"action": "token.issue"})) == [trail[4].pk]
    assert ids(client_a.get(AUDIT, {"camera_id": "gate", "actor": "user:bob"})) == [trail[3].pk, trail[1].pk]
    AuditEntry.objects.filter(pk=trail[0].pk).update(ts=datetime(2026, 1, 1, tzinfo=UTC))  # test data: an old entry
    old = {"since": "2025-12-31T00:00:00Z", "until": "2026-01-02T00:00:00Z"}
    assert ids(client_a.get(AUDIT, old)) == [trail[0].pk]
    assert ids(client_a.get(AUDIT, {"since": "2026-01-02T00:00:00Z"})) == [entry.pk for entry in reversed(trail[1:])]


@pytest.mark.parametrize(
    "query, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"before": "\uff11"}, "before"),  # a fullwidth 1
        ({"actor": "x" * 201}, "actor"),
    ],
)
def test_bad_filters_are_a_json_400(client_a, trail, query, field):
    for response in (client_a.get(AUDIT, query), client_a.get(AUDIT, {**query, "format": "csv"})):
        assert (response.status_code, response["Content-Type"]) == (400, "application/json")
        assert response.json()["code"] == "invalid"
        assert field in response.json()["fields"]


def test_a_format_it_cannot_answer_is_a_400_naming_it_not_a_404(client_a, trail):
    response = client_a.get(AUDIT, {"format": "xml"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"format": ["Must be csv (JSON is the default)."]}


def test_a_cursor_that_is_no_entry_is_a_400(client_a, trail):
    response = client_a.get(AUDIT, {"before": "999999999"})
    assert response.status_code == 400
    assert response.json()["detail"] == "before: No entry '999999999' in this tenant."


def test_pages_follow_the_link_header_to_the_end(client_a, trail):
    AuditEntry.objects.filter(tenant_id="tenant-a").update(ts=timezone.now())  # test data: one ts, ordered by id
    seen, url = [], f"{AUDIT}?limit=2&actor=user:bob"
    while url:
        response = client_a.get(url)
        seen += ids(response)
        link = response.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
    assert seen == [trail[3].pk, trail[2].pk, trail[1].pk]


def test_another_tenant_s_entries_are_never_seen(client_a, client_b, trail):
    (entry_b,) = AuditEntry.objects.filter(tenant_id="tenant-b")
    assert entry_b.pk not in ids(client_a.get(AUDIT))
    assert ids(client_a.get(AUDIT, {"actor": "user:eve"})) == []
    assert client_a.get(AUDIT, {"before": entry_b.pk}).status_code == 400  # not a cursor of this tenant
    assert ids(client_b.get(AUDIT)) == [entry_b.pk]
    assert "user:eve" not in b"".join(client_a.get(AUDIT, {"format": "csv"}).streaming_content).decode()


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="audit-tenant-a.csv"'
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_download_by_accept_header_or_format(client_a, trail):
    rows = csv_rows(client_a.get(AUDIT, HTTP_ACCEPT="text/csv"))
    assert [int(row["id"]) for row in rows] == [entry.pk for entry in reversed(trail)]
    assert list(rows[0]) == ["id", "ts", "actor", "address", "action", "object_type", "object_id", "camera_id",
                             "outcome", "prev_hash", "hash"]  # fmt: skip
    assert rows[0]["object_id"] == "'=HYPERLINK(1)"  # a spreadsheet shows it, and does not run it
    assert datetime.fromisoformat(rows[-1]["ts"]) == trail[0].ts
    filtered = csv_rows(client_a.get(AUDIT, {"format": "csv", "camera_id": "gate", "limit": "1"}))
    assert [int(row["id"]) for row in filtered] == [trail[3].pk, trail[1].pk]  # every match, not a page


def test_audit_read_is_an_admin_s_scope_never_a_viewer_s(make_client, tenant_a, trail):
    assert AUDIT_READ in SCOPES and AUDIT_READ not in READ_SCOPES and AUDIT_READ not in OPERATOR_SCOPES
    viewer = make_client(tenant_a, READ_SCOPES)
    response = viewer.get(AUDIT)
    assert response.status_code == 403 and "audit:read" in response.json()["detail"]
    assert viewer.get(AUDIT, {"format": "csv"}).status_code == 403
    assert make_client(tenant_a, OPERATOR_SCOPES).get(AUDIT).status_code == 403
    assert make_client(tenant_a, [AUDIT_READ]).get(AUDIT).status_code == 200
    roles = {role: Membership(role=role).scopes for role in Membership.Role}
    assert [AUDIT_READ in scopes for scopes in roles.values()] == [True, False, False]  # admin, operator, viewer


def login(client, username: str, password: str = "correct-horse-battery", address: str = "198.51.100.7"):
    body = {"username": username, "password": password}
    return client.post("/v2/api/auth/token", body, content_type="application/json", REMOTE_ADDR=address)


def test_sign_ins_and_failures_are_audited_with_the_address(client, tenant_a):
    admin = MembershipFactory(user__username="alice", tenant=tenant_a, role=Membership.Role.ADMIN)
    response = login(client, "alice")
    assert AUDIT_READ in response.json()["scope"].split()  # an admin's login may read the trail
    assert login(client, "alice", "wrong", address="203.0.113.9").status_code == 401
    assert login(client, "nobody").status_code == 401  # in no tenant: no tenant's trail has it
    ok, failed = written()
    assert (ok.tenant_id, ok.action, ok.actor, ok.address, ok.outcome, ok.object_id) == (
        "tenant-a", "auth.login", "user:alice", "198.51.100.7", "ok", str(admin.user_id)
    )  # fmt: skip
    assert (failed.action, failed.actor, failed.address, failed.outcome) == (
        "auth.login_failed", "user:alice", "203.0.113.9", "denied"
    )  # fmt: skip


def test_issue_token_is_audited(tenant_a):
    call_command("issue_token", "--tenant", "tenant-a", stdout=io.StringIO())
    (entry,) = written()
    assert (entry.action, entry.actor, entry.object_type, len(entry.object_id)) == (
        "token.issue",
        "system",
        "token",
        32,
    )


def test_camera_changes_are_audited(client_a, tenant_a):
    created = client_a.post("/v2/api/cameras", {"name": "Gate", "rtsp_url": "rtsp://10.0.0.9/s"}, format="json")
    slug = created.json()["id"]
    client_a.patch(f"/v2/api/cameras/{slug}", {"name": "Front gate"}, format="json")
    client_a.patch(f"/v2/api/cameras/{slug}", {"alert_labels": ["person"]}, format="json")
    client_a.patch(f"/v2/api/cameras/{slug}", {"name": "Front gate"}, format="json")  # nothing changed: no entry
    client_a.delete(f"/v2/api/cameras/{slug}")
    entries = written()
    assert [(e.action, e.actor, e.object_type, e.object_id, e.camera_id) for e in entries] == [
        (action, "token:api", "camera", slug, slug)
        for action in ("camera.create", "camera.update", "camera.aim", "camera.delete")
    ]


def test_export_jobs_are_audited_per_camera(client_a, camera_a):
    start = datetime(2020, 3, 12, 4, 0, tzinfo=UTC)
    for n in range(3):
        SegmentFactory(camera=camera_a, start=start + timedelta(seconds=2 * n))
    body = {
        "camera_ids": [camera_a.slug],
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=6)).isoformat(),
    }
    export_id = client_a.post("/v2/api/exports", body, format="json").json()["id"]
    client_a.patch(f"/v2/api/exports/{export_id}", {"legal_hold": True}, format="json")
    client_a.patch(f"/v2/api/exports/{export_id}", {"legal_hold": False}, format="json")
    client_a.delete(f"/v2/api/exports/{export_id}")
    assert [(e.action, e.object_type, e.object_id, e.camera_id) for e in written()] == [
        (action, "export", str(export_id), camera_a.slug)
        for action in ("export.create", "export.hold", "export.release", "export.delete")
    ]


def test_subscription_changes_are_audited(client_a, tenant_a):
    body = {"url": "http://127.0.0.1:9/hook", "types": ["person"]}
    subscription_id = client_a.post("/v2/api/subscriptions", body, format="json").json()["id"]
    client_a.patch(f"/v2/api/subscriptions/{subscription_id}", {"enabled": False}, format="json")
    client_a.delete(f"/v2/api/subscriptions/{subscription_id}")
    assert [(e.action, e.object_id) for e in written()] == [
        (action, str(subscription_id))
        for action in ("subscription.create", "subscription.update", "subscription.delete")
    ]


def test_admin_changes_are_audited_in_the_object_s_tenant(client, camera_a):
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(staff)
    form = {"name": camera_a.name, "slug": camera_a.slug, "tenant": camera_a.tenant_id, "rtsp_url": camera_a.rtsp_url,
            "features": "person", "fps": 5, "enabled": "on"}  # fmt: skip
    response = client.post(f"/admin/cameras/camera/{camera_a.pk}/change/", form, REMOTE_ADDR="192.0.2.1")
    assert response.status_code == 302, response.content
    (entry,) = written()
    assert (entry.tenant_id, entry.action, entry.actor, entry.address, entry.object_type, entry.camera_id) == (
        "tenant-a", "admin.change", "staff:root", "192.0.2.1", "camera", camera_a.slug
    )  # fmt: skip


def test_the_admin_shows_the_trail_read_only_and_one_tenant_to_its_staff(staff_b, trail):
    user = Membership.objects.get(tenant_id="tenant-b").user
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_auditentry", "change_auditentry"]))
    page = staff_b.get("/admin/tenants/auditentry/")
    assert page.status_code == 200
    assert b"user:eve" in page.content and b"user:alice" not in page.content
    (entry_b,) = AuditEntry.objects.filter(tenant_id="tenant-b")
    assert staff_b.post(f"/admin/tenants/auditentry/{entry_b.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff_b.get(f"/admin/tenants/auditentry/{trail[0].pk}/change/").status_code == 302  # "does not exist"
    assert AuditEntry.objects.count() == 6


def test_the_schema_describes_the_audit_list(client):
    schema = client.get("/v2/api/schema", {"format": "json"}).json()
    operation = schema["paths"]["/v2/api/audit"]["get"]
    assert {"application/json", "text/csv"} <= set(operation["responses"]["200"]["content"])
    assert {"since", "until", "actor", "action", "camera_id", "before", "limit", "format"} <= {
        parameter["name"] for parameter in operation["parameters"]
    }


def test_no_token_is_a_401(client, trail):
    assert client.get(AUDIT).status_code == 401


def test_the_chain_state_is_what_the_hourly_walk_found(client_a, client_b, make_client, tenant_a, trail):
    chain = AUDIT + "/chain"
    assert client_a.get(chain).json() == {"checked_at": None, "entries": 0, "intact": None, "broken_entry": None,
                                          "problem": ""}  # fmt: skip
    audit.check_chains()
    state = client_a.get(chain).json()
    assert (state["entries"], state["intact"], state["broken_entry"]) == (5, True, None)
    assert state["checked_at"] is not None
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tenants_auditentry SET actor = 'user:mallory' WHERE id = %s", [trail[3].pk])
    audit.check_chains()
    state = client_a.get(chain).json()
    assert (state["intact"], state["broken_entry"]) == (False, trail[3].pk)
    assert state["problem"].startswith("edited")
    assert client_b.get(chain).json()["entries"] == 1  # tenant B's own chain, intact
    assert client_b.get(chain).json()["intact"] is True
    assert make_client(tenant_a, READ_SCOPES).get(chain).status_code == 403

"""Camera-limited access (issue 25): a token limited to some of its tenant's cameras is refused every other camera on
every protocol, as another tenant's camera is (the tenant matrix): "not found", absent from lists, 4404 on sockets,
400 "no camera" where the API answers so for an unknown camera, and 403 for what spans the whole tenant.

One tenant with two cameras that each have recordings, events (with a snapshot), a line crossing, an export, an
audit entry and a share: `lobby`, which the limited token sees, and `vault`, which it does not. An unlimited token of
the same tenant is the control: it gets the vault where the limited one is refused, so a refusal is the limit's.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

import jwt
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from events.services import create_events
from playback.export_queue import queue_export
from playback.exports import publish, run_export
from playback.models import Export
from playback.paths import new_snapshot, recordings_path, url_for_file
from tenants import audit
from tenants.catalogue import SCOPES
from tenants.models import AuditEntry, Membership, Share
from tenants.tokens import issue_access_token
from vms.asgi import application

from ..events.kalay import arguments, data, error, post
from ..factories import CameraFactory, MembershipFactory, UserFactory
from ..pipeline.test_live import _close_consumer_connections  # noqa: F401  (the consumers' threads' connections)
from ..playback.conftest import HOUR, record  # noqa: F401  (the recordings the playback tests make)
from .test_commands import run

pytestmark = pytest.mark.django_db

SEEN, UNSEEN = "lobby", "vault"
DAY = HOUR.date().isoformat()
EPOCH_MS = int(HOUR.timestamp() * 1000)
WINDOW = {"start_time": str(EPOCH_MS - 60_000), "end_time": str(EPOCH_MS + 60_000)}
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) + b"\xff\xd9"


def tenant_token(tenant, cameras: tuple[str, ...] = ()) -> str:
    """An integration's token with every scope, seeing only `cameras` (all when none), as `issue_token` makes it."""
    return issue_access_token(tenant, SCOPES, timedelta(hours=1), cameras=cameras)


def api_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def world(tenant_a, record):  # noqa: F811  (the fixture imported above)
    """The two cameras and what each has (`.ids[camera]`: the ids of its rows by kind); `.limited_token` sees the
    lobby only, `.control_token` every camera, and `.limited`, `.control` are API clients with them."""
    ids = {}
    for slug in (SEEN, UNSEEN):
        camera = CameraFactory(tenant=tenant_a, slug=slug)
        [segment] = record(camera, count=1)  # 04:00:00-04:00:02
        snapshot = new_snapshot(tenant_a.pk, slug, HOUR + timedelta(seconds=1))
        recordings_path(snapshot).parent.mkdir(parents=True, exist_ok=True)
        recordings_path(snapshot).write_bytes(JPEG)
        person, crossing = create_events(tenant_a, [
            {"camera_id": slug, "type": "person", "confidence": 0.9, "ts": HOUR + timedelta(seconds=1),
             "snapshot": snapshot},
            {"camera_id": slug, "type": "line_crossing", "confidence": 0.8, "ts": HOUR,
             "payload": {"line": "door", "direction": "a_to_b", "label": "person"}},
        ])  # fmt: skip
        export = queue_export(tenant_a.pk, {slug: camera}, HOUR, HOUR + timedelta(seconds=2), slug, False)
        audit.record(tenant_a.pk, "camera.update", actor="user:alice", object_type="camera", object_id=slug,
                     camera_id=slug)  # fmt: skip
        # Listed and revoked through the API only: no link is opened, so its key (hash) is any unique text.
        share = Share.objects.create(tenant=tenant_a, camera_id=slug, live=True, key_hash=slug * 8,
                                     expires=timezone.now() + timedelta(days=1), created_by="user:alice")  # fmt: skip
        ids[slug] = SimpleNamespace(
            camera=camera, event=person.id, crossing=crossing.id, export=export.pk, share=share.pk,
            segment=url_for_file(segment.path), snapshot=url_for_file(snapshot),
        )  # fmt: skip
    both = {slug: ids[slug].camera for slug in (SEEN, UNSEEN)}
    mixed = queue_export(tenant_a.pk, both, HOUR, HOUR + timedelta(seconds=2), "both", False)
    audit.record(tenant_a.pk, "auth.login", actor="user:alice", object_type="user", object_id="1")  # the tenant's
    audit.drain()
    limited_token, control_token = tenant_token(tenant_a, (SEEN,)), tenant_token(tenant_a)
    return SimpleNamespace(
        tenant=tenant_a, ids=ids, mixed=mixed.pk, limited_token=limited_token, control_token=control_token,
        limited=api_client(limited_token), control=api_client(control_token),
    )  # fmt: skip


# --- REST and HLS: one request per row, about one camera ---------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A request about one camera: `path` and `body` are formatted with the camera's ids (`{camera}`, `{event}`,
    `{export}`, `{share}`, `{segment}`, `{snapshot}`); the seen camera gets `ok`, the unseen one `refused` (the
    unlimited token's answer for it is `ok` again)."""

    method: str
    path: str
    ok: int
    refused: int = 404
    body: dict = field(default_factory=dict)
    says: str = f"'{UNSEEN}'"  # what a 400's detail names

    def send(self, client: APIClient, ids: SimpleNamespace):
        values = {name: getattr(ids, name) for name in ("event", "export", "share", "segment", "snapshot")}
        values["camera"] = ids.camera.slug
        body = fill(self.body, values)
        return getattr(client, self.method.lower())(self.path.format(**values), body or None, format="json")


def fill(value, values: dict):
    """`value` (a request body) with `{name}` in its text replaced by values[name]."""
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, list):
        return [fill(item, values) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    return value


EVENT = {"camera_id": "{camera}", "type": "person", "confidence": 0.5}
CLIP = {"start": HOUR.isoformat(), "end": (HOUR + timedelta(seconds=2)).isoformat()}
CASES = {
    "camera detail": Case("GET", "/v2/api/cameras/{camera}", 200),
    "camera change": Case("PATCH", "/v2/api/cameras/{camera}", 200, body={"name": "Renamed"}),
    "camera delete": Case("DELETE", "/v2/api/cameras/{camera}", 204),
    "event detail": Case("GET", "/v2/api/events/{event}", 200),
    "events after a cursor": Case("GET", "/v2/api/events?before={event}", 200, 400, says="No event"),
    "event playback": Case("GET", "/v2/api/playback/event/{event}", 200),
    "timeline": Case("GET", f"/v2/api/playback/timeline?camera_id={{camera}}&date={DAY}", 200),
    "line counts": Case("GET", f"/v2/api/cameras/{{camera}}/counts?date={DAY}", 200),
    "export detail": Case("GET", "/v2/api/exports/{export}", 200),
    "export hold": Case("PATCH", "/v2/api/exports/{export}", 200, body={"legal_hold": True}),
    "export delete": Case("DELETE", "/v2/api/exports/{export}", 204),
    "export create": Case("POST", "/v2/api/exports", 202, 400, body={"camera_ids": ["{camera}"], **CLIP}),
    "event ingest": Case("POST", "/v2/api/events", 201, 400, body=EVENT),
    "event ingest, snapshot_url": Case(
        "POST", "/v2/api/events", 201, 400, {**EVENT, "camera_id": SEEN, "snapshot_url": "{snapshot}"}, "snapshot_url"
    ),
    "batch ingest": Case("POST", "/v2/api/events:batch", 201, 400, body={"events": [EVENT]}),
    "share detail": Case("GET", "/v2/api/shares/{share}", 200),
    "share revoke": Case("DELETE", "/v2/api/shares/{share}", 204),
    "share create": Case("POST", "/v2/api/shares", 201, 400, body={"camera_id": "{camera}", "live": True}),
    "webrtc offer": Case("POST", "/v2/api/cameras/{camera}/webrtc", 400, body={"sdp": "not an offer"}),
    "hls hour playlist": Case("GET", f"/v2/hls/{{camera}}/{DAY}/04/index.m3u8", 200),
    "hls segment": Case("GET", "{segment}", 200),
    "hls live playlist": Case("GET", "/v2/hls/{camera}/live.m3u8", 200),
    "hls latest.jpg": Case("GET", "/v2/hls/{camera}/latest.jpg", 200),
    "event snapshot": Case("GET", "{snapshot}", 200),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_request_about_another_camera_is_refused_as_one_that_does_not_exist(world, case):
    seen = case.send(world.limited, world.ids[SEEN])
    assert seen.status_code == case.ok, seen.content
    refused = case.send(world.limited, world.ids[UNSEEN])
    assert refused.status_code == case.refused, refused.content
    problem = refused.json()
    if case.refused == 404:
        assert problem["code"] == "not_found"
    else:
        assert problem["code"] == "invalid" and case.says in problem["detail"], problem
    control = case.send(world.control, world.ids[UNSEEN])
    assert control.status_code == case.ok, control.content  # the refusal changed nothing, and was the limit's


# --- lists: the other camera's rows are absent -------------------------------------------------------------------


LISTS = {
    "cameras": ("/v2/api/cameras", "id"),
    "events": ("/v2/api/events", "camera_id"),
    "events of the other camera": (f"/v2/api/events?camera_id={UNSEEN}", "camera_id"),
    "audit": ("/v2/api/audit", "camera_id"),
    "audit of the other camera": (f"/v2/api/audit?camera_id={UNSEEN}", "camera_id"),
    "shares": ("/v2/api/shares", "camera_id"),
    "activity report": (f"/v2/api/reports/activity?from={DAY}&to={HOUR.date() + timedelta(days=1)}", "camera_id"),
}


@pytest.mark.parametrize("path, key", LISTS.values(), ids=LISTS.keys())
def test_a_list_holds_only_the_seen_cameras_rows(world, path, key):
    limited = world.limited.get(path)
    assert limited.status_code == 200, limited.content
    assert {row[key] for row in limited.json()} == (set() if UNSEEN in path else {SEEN})
    control = {row[key] for row in world.control.get(path).json()}
    assert UNSEEN in control


def test_exports_list_holds_only_exports_of_seen_cameras_alone(world):
    def listed(client) -> set[int]:
        response = client.get("/v2/api/exports")
        assert response.status_code == 200, response.content
        return {job["id"] for job in response.json()}

    ids = world.ids
    assert listed(world.limited) == {ids[SEEN].export}
    assert listed(world.control) == {ids[SEEN].export, ids[UNSEEN].export, world.mixed}
    assert world.limited.get(f"/v2/api/exports/{world.mixed}").status_code == 404  # it shows the vault's file too
    both = {"camera_ids": [SEEN, UNSEEN], **CLIP}
    refused = world.limited.post("/v2/api/exports", both, format="json")
    assert (refused.status_code, refused.json()["detail"]) == (400, f"camera_ids: No camera '{UNSEEN}' in this tenant.")


def test_an_export_file_downloads_only_for_a_seen_camera(world):
    files = {camera: f"/v2/exports/{world.ids[camera].export}/{camera}.mp4" for camera in (SEEN, UNSEEN)}
    for camera in files:
        assert run_export(world.ids[camera].export).state == "done"  # real ffmpeg on the recorded segments
    assert world.limited.get(files[SEEN]).status_code == 200
    refused = world.limited.get(files[UNSEEN])
    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert world.control.get(files[UNSEEN]).status_code == 200
    # An export of both cameras is not found whole: its seen camera's file too.
    assert run_export(world.mixed).state == "done"
    mixed = f"/v2/exports/{world.mixed}/{SEEN}.mp4"
    assert world.limited.get(mixed).status_code == 404
    assert world.control.get(mixed).status_code == 200


def test_the_audit_csv_holds_only_the_seen_cameras_entries(world):
    response = world.limited.get("/v2/api/audit", {"format": "csv"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    camera_column = lines[0].split(",").index("camera_id")
    assert {line.split(",")[camera_column] for line in lines[1:]} == {SEEN}
    entry = AuditEntry.objects.filter(camera_id=UNSEEN).values_list("pk", flat=True).first()
    assert world.limited.get("/v2/api/audit", {"before": entry}).status_code == 400  # a cursor it cannot see


# --- what spans the whole tenant: 403 -------------------------------------------------------------------------------


WHOLE_TENANT = {
    "camera create": ("POST", "/v2/api/cameras", {"name": "New", "rtsp_url": "rtsp://10.0.0.9/stream"}, 201),
    "usage": ("GET", "/v2/api/usage?from=2020-03-12&to=2020-03-12", {}, 200),
    "subscriptions": ("GET", "/v2/api/subscriptions", {}, 200),
    "subscription create": ("POST", "/v2/api/subscriptions", {"url": "http://127.0.0.1:9/hook"}, 201),
    "watch lists": ("GET", "/v2/api/watchlists", {}, 200),
    "audit chain": ("GET", "/v2/api/audit/chain", {}, 200),
}


@pytest.mark.parametrize("method, path, body, ok", WHOLE_TENANT.values(), ids=WHOLE_TENANT.keys())
def test_what_spans_every_camera_is_forbidden(world, method, path, body, ok):
    refused = getattr(world.limited, method.lower())(path, body or None, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    control = getattr(world.control, method.lower())(path, body or None, format="json")
    assert control.status_code == ok, control.content


def test_a_limited_token_loses_the_tenant_wide_scopes_it_names(world):
    named = jwt.decode(world.limited_token, options={"verify_signature": False})["scope"].split()
    for scope, path in (("subscriptions:write", "/v2/api/subscriptions"), ("watchlists:write", "/v2/api/watchlists")):
        assert scope in named
        assert scope in world.limited.get(path).json()["detail"]  # dropped when the token is read


# --- Kalay GraphQL ---------------------------------------------------------------------------------------------------


def test_kalay_finds_no_event_of_another_camera(world):
    def events(client, camera: str) -> list[str]:
        query = f"{{get_event_list({arguments(device=camera, **WINDOW)}) {{pk}}}}"
        return [event["pk"] for event in data(post(client, query))["get_event_list"]]

    def count(client, camera: str) -> int:
        return data(post(client, f"{{get_event_count({arguments(device=camera, **WINDOW)})}}"))["get_event_count"]

    ids = world.ids
    assert (count(world.limited, SEEN), count(world.limited, UNSEEN), count(world.control, UNSEEN)) == (2, 0, 2)
    assert set(events(world.limited, SEEN)) == {ids[SEEN].event, ids[SEEN].crossing}
    assert events(world.limited, UNSEEN) == []
    assert set(events(world.control, UNSEEN)) == {ids[UNSEEN].event, ids[UNSEEN].crossing}

    archived = "{get_archieved_event_list {device events {pk}}}"  # 2020's events are past the tenant's retention
    assert [group["device"] for group in data(post(world.limited, archived))["get_archieved_event_list"]] == [SEEN]

    def update(client, camera: str):
        return post(client, f"mutation {{update_event({arguments(pk=ids[camera].event, tags=['seen'])})}}")

    assert data(update(world.limited, SEEN)) == {"update_event": "Update event finish."}
    error(update(world.limited, UNSEEN), 404)
    assert data(update(world.control, UNSEEN)) == {"update_event": "Update event finish."}

    remove = f"mutation {{remove_event({arguments(device=UNSEEN, **WINDOW)})}}"
    assert data(post(world.limited, remove)) == {"remove_event": "Remove event finish."}
    assert count(world.control, UNSEEN) == 2  # removed nothing
    assert data(post(world.control, remove)) == {"remove_event": "Remove event finish."}
    assert count(world.control, UNSEEN) == 0


# --- WebSockets --------------------------------------------------------------------------------------------------


async def feed(token: str, query: str = "") -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, f"/v2/ws/events?token={token}{query}")
    assert (await socket.connect(timeout=5))[0]
    return socket


@database_sync_to_async
def new_event(tenant, camera: str) -> str:
    [event] = create_events(tenant, [{"camera_id": camera, "type": "person", "confidence": 0.9}])
    return event.id


@database_sync_to_async
def publish_export(export_id: int) -> None:
    publish(Export.objects.get(pk=export_id))


@pytest.mark.django_db(transaction=True)  # the consumers read committed rows from their threads
async def test_the_events_socket_carries_only_the_seen_cameras_events_and_exports(world):
    limited, control = await feed(world.limited_token), await feed(world.control_token)

    unseen = await new_event(world.tenant, UNSEEN)
    assert (await control.receive_json_from(timeout=3))["data"]["id"] == unseen
    seen = await new_event(world.tenant, SEEN)
    assert (await limited.receive_json_from(timeout=3))["data"]["id"] == seen  # the vault's came first, and not here
    assert (await control.receive_json_from(timeout=3))["data"]["id"] == seen

    for export in (world.ids[UNSEEN].export, world.mixed, world.ids[SEEN].export):
        await publish_export(export)
        assert (await control.receive_json_from(timeout=3))["data"]["id"] == export
    assert (await limited.receive_json_from(timeout=3))["data"]["id"] == world.ids[SEEN].export
    assert await limited.receive_nothing(timeout=0.3)
    await limited.disconnect()
    await control.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_events_socket_replays_only_the_seen_cameras_events(world):
    after_unseen = WebsocketCommunicator(
        application, f"/v2/ws/events?token={world.limited_token}&after={world.ids[UNSEEN].event}"
    )
    assert (await after_unseen.connect(timeout=5))[0]  # accepted only to say why
    assert await after_unseen.receive_json_from(timeout=3) == {
        "type": "error", "detail": f"No event '{world.ids[UNSEEN].event}' in this tenant."
    }  # fmt: skip
    assert await after_unseen.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}

    # After the lobby's first event: its line crossing, the vault's two, then three more.
    missed = [await new_event(world.tenant, camera) for camera in (UNSEEN, SEEN, UNSEEN)]
    resumed = await feed(world.limited_token, f"&after={world.ids[SEEN].event}")
    replayed = []
    while (message := await resumed.receive_json_from(timeout=3)).get("type") != "replay":
        replayed.append(message["data"]["id"])
    assert replayed == [world.ids[SEEN].crossing, missed[1]]
    assert message["count"] == 2
    await resumed.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_live_socket_of_another_camera_is_4404(world):
    unseen = WebsocketCommunicator(application, f"/v2/ws/live/{UNSEEN}?token={world.limited_token}")
    assert (await unseen.connect(timeout=5))[0]
    assert json.loads(await unseen.receive_from(timeout=5)) == {
        "type": "error", "detail": f"No camera '{UNSEEN}' in this tenant."
    }  # fmt: skip
    assert (await unseen.receive_output(timeout=5))["code"] == 4404

    for path in (
        f"/v2/ws/live/{SEEN}?token={world.limited_token}",
        f"/v2/ws/live/{UNSEEN}?token={world.control_token}",
    ):
        viewer = WebsocketCommunicator(application, path)
        assert (await viewer.connect(timeout=5))[0]
        assert json.loads(await viewer.receive_from(timeout=5)) == {"type": "waiting"}  # not streaming: still a view
        await viewer.disconnect()


# --- a user's limit: login, refresh, the membership, issue_token, the admin ----------------------------------------


def login(client, username: str):
    body = {"username": username, "password": "correct-horse-battery"}
    response = client.post("/v2/api/auth/token", body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def cameras_seen(access: str) -> list[str]:
    return [camera["id"] for camera in api_client(access).get("/v2/api/cameras").json()]


def test_a_users_token_carries_the_memberships_cameras_until_a_refresh_lifts_them(client, world):
    membership = MembershipFactory(tenant=world.tenant, user__username="lena", cameras=[SEEN])
    tokens = login(client, "lena")
    assert jwt.decode(tokens["access"], options={"verify_signature": False})["cameras"] == [SEEN]
    assert cameras_seen(tokens["access"]) == [SEEN]
    assert api_client(tokens["access"]).get(f"/v2/api/events/{world.ids[UNSEEN].event}").status_code == 404

    membership.cameras = []
    membership.save()
    refreshed = client.post("/v2/api/auth/refresh", {"refresh": tokens["refresh"]}, content_type="application/json")
    assert refreshed.status_code == 200, refreshed.content
    assert "cameras" not in jwt.decode(refreshed.json()["access"], options={"verify_signature": False})
    assert cameras_seen(refreshed.json()["access"]) == [SEEN, UNSEEN]

    membership.cameras = [UNSEEN]
    membership.save()
    again = client.post("/v2/api/auth/refresh", {"refresh": tokens["refresh"]}, content_type="application/json")
    assert cameras_seen(again.json()["access"]) == [UNSEEN]  # a limit set since the login applies at once too


def test_a_memberships_cameras_are_the_tenants_own(world):
    membership = Membership(user=UserFactory(), tenant=world.tenant, cameras=["LOBBY", SEEN])
    membership.full_clean()
    assert membership.cameras == [SEEN]  # ids ignore case, each once
    membership.cameras = [SEEN, "nope"]
    with pytest.raises(ValidationError) as refused:
        membership.full_clean()
    assert refused.value.message_dict["cameras"] == ["No camera 'nope' in this tenant."]


def test_issue_token_limits_a_token_to_the_cameras_named(world):
    issued = run("issue_token", "--tenant", world.tenant.pk, "--cameras", "LOBBY").strip()
    assert jwt.decode(issued, options={"verify_signature": False})["cameras"] == [SEEN]
    assert cameras_seen(issued) == [SEEN]
    with pytest.raises(CommandError, match="No camera 'nope' in this tenant"):
        run("issue_token", "--tenant", world.tenant.pk, "--cameras", f"{SEEN},nope")


@pytest.fixture
def limited_staff(client, world):
    """The Django test client logged in as a staff admin of the tenant whose membership sees the lobby only."""
    membership = MembershipFactory(tenant=world.tenant, role=Membership.Role.ADMIN, user__is_staff=True, cameras=[SEEN])
    app_labels = ["cameras", "events", "playback"]
    membership.user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=app_labels))
    client.force_login(membership.user)
    return client


def test_the_admin_of_a_limited_staff_user_shows_only_the_seen_camera(limited_staff, world):
    lobby, vault = world.ids[SEEN].camera, world.ids[UNSEEN].camera
    page = limited_staff.get("/admin/cameras/camera/")
    assert page.status_code == 200
    assert f"/admin/cameras/camera/{lobby.pk}/change/" in page.content.decode()
    assert f"/admin/cameras/camera/{vault.pk}/change/" not in page.content.decode()
    assert limited_staff.get(f"/admin/cameras/camera/{vault.pk}/change/").status_code == 302  # "does not exist"
    events = limited_staff.get("/admin/events/event/").content.decode()
    assert world.ids[SEEN].event in events and world.ids[UNSEEN].event not in events


def test_a_limited_staff_user_adds_no_camera_in_the_admin(limited_staff):
    assert limited_staff.get("/admin/cameras/camera/add/").status_code == 403

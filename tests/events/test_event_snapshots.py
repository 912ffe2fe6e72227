"""Event snapshots: a file the system wrote is a stored path, presented as its /v2/hls URL and deleted with its
event; a client's `snapshot_url` is an http(s) URL or this tenant's own media path, shown as given, never signed,
never deleted. The SPA page restricts where images and media may come from."""

import re
import time
from urllib.parse import urlsplit

import pytest

from events.models import Event
from events.services import create_event, delete_events
from playback.paths import new_snapshot, recordings_path, url_for_file
from playback.storage import upload_soon
from tenants.catalogue import EVENTS_WRITE

from ..factories import CameraFactory, EventFactory, SegmentFactory
from .kalay import IN_WINDOW, arguments, data, post

pytestmark = pytest.mark.django_db

EVENTS = "/v2/api/events"
BODY = {"camera_id": "cam-front-01", "type": "person", "confidence": 0.87}


def write(relative_path: str, content: bytes) -> None:
    path = recordings_path(relative_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def test_a_client_url_naming_a_recording_never_deletes_it(
    make_client, tenant_a, camera_a, django_capture_on_commit_callbacks
):
    segment = SegmentFactory(camera=camera_a)
    write(segment.path, b"G" * 188)
    writer = make_client(tenant_a, scopes=[EVENTS_WRITE])

    response = writer.post(EVENTS, {**BODY, "snapshot_url": url_for_file(segment.path)}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["snapshot_url"] == url_for_file(segment.path)
    event_id = response.json()["id"]
    remove = f"mutation {{remove_event({arguments(pk=event_id, device='cam-front-01')})}}"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert data(post(writer, remove)) == {"remove_event": "Remove event finish."}
    assert callbacks  # the file removal ran, and left the recording alone

    assert not Event.objects.exists()
    assert recordings_path(segment.path).read_bytes() == b"G" * 188


def test_a_written_snapshot_is_a_path_shown_as_its_url_and_deleted_with_its_event(
    client_a, tenant_a, camera_a, django_capture_on_commit_callbacks
):
    snapshot = new_snapshot(tenant_a.id, "cam-front-01", IN_WINDOW)
    write(snapshot, b"\xff\xd8 jpeg")
    event = create_event(tenant=tenant_a, camera_id="cam-front-01", type="person", confidence=0.9, snapshot=snapshot)

    stored = Event.objects.get(pk=event.pk)
    assert (stored.snapshot, stored.snapshot_url) == ("tenant-a/cam-front-01/2020-03-12/04/snap-1583985600000.jpg", "")
    [shown] = client_a.get(EVENTS).json()
    assert shown["snapshot_url"] == "/v2/hls/cam-front-01/2020-03-12/04/snap-1583985600000.jpg"
    with django_capture_on_commit_callbacks(execute=True):
        delete_events(Event.objects.filter(pk=event.pk))
    assert not recordings_path(snapshot).exists()


@pytest.mark.parametrize(
    "snapshot_url",
    [
        "https://cdn.example.com/snaps/1.jpg?size=large",
        "http://10.0.0.5:8080/snap.jpg",
        "/v2/hls/cam-front-01/2026-04-30/14/snap-12.jpg",
    ],
)
def test_ingest_takes_http_urls_and_this_tenants_media_paths(client_a, camera_a, snapshot_url):
    response = client_a.post(EVENTS, {**BODY, "snapshot_url": snapshot_url}, format="json")
    assert response.status_code == 201, response.json()
    assert Event.objects.get().snapshot_url == response.json()["snapshot_url"] == snapshot_url


@pytest.mark.parametrize(
    "snapshot_url",
    [
        "javascript:alert(document.cookie)",
        "ftp://example.com/snap.jpg",
        "data:image/png;base64,iVBORw0KGgo=",
        "/v2/hls/cam-b/2026-04-30/14/snap-12.jpg",  # tenant B's camera
        "/v2/hls/cam-front-01/../../api/events",
        "/v2/hls/cam-front-01/%2e%2e/x.jpg",
        "//evil.example/v2/hls/cam-front-01/a.jpg",
        "/static/snap.jpg",
        "snap.jpg",
        "https://",
        "https://evil.example/a b.jpg",
        "http://[x",  # urlsplit raises on an unclosed IPv6 bracket
    ],
)
def test_ingest_refuses_other_urls_naming_snapshot_url(client_a, camera_a, tenant_b, snapshot_url):
    CameraFactory(tenant=tenant_b, slug="cam-b")
    response = client_a.post(EVENTS, {**BODY, "snapshot_url": snapshot_url}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"snapshot_url"}
    assert not Event.objects.exists()


def test_kalay_signs_only_written_snapshots(client_a, tenant_a):
    written = EventFactory(tenant=tenant_a, ts=IN_WINDOW, snapshot="tenant-a/cam-front-01/2020-03-12/04/snap-1.jpg")
    own_path = EventFactory(tenant=tenant_a, ts=IN_WINDOW, snapshot_url="/v2/hls/cam-front-01/2020-03-12/04/seg-1.ts")
    off_site = EventFactory(tenant=tenant_a, ts=IN_WINDOW, snapshot_url="https://cdn.example.com/1.jpg")
    window = {"device": "cam-front-01", "start_time": "1", "end_time": "9999999999999"}

    listed = data(post(client_a, f"{{get_event_list({arguments(**window)}){{pk thumbnail}}}}"))["get_event_list"]
    thumbnails = {e["pk"]: e["thumbnail"] for e in listed}
    assert thumbnails[own_path.pk] == "http://testserver/v2/hls/cam-front-01/2020-03-12/04/seg-1.ts"
    assert thumbnails[off_site.pk] == "https://cdn.example.com/1.jpg"
    signed = urlsplit(thumbnails[written.pk])
    assert signed.path == "/v2/hls/cam-front-01/2020-03-12/04/snap-1.jpg"
    assert "sig=" in signed.query


def test_the_console_page_allows_media_only_from_this_site(client):
    page = client.get("/v2/").content.decode()
    [policy] = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["default-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:", "blob:"]
    assert directives["media-src"] == ["'self'", "blob:"]
    assert directives["connect-src"] == ["'self'", "ws:", "wss:"]
    assert "'unsafe-inline'" not in policy
    # Nothing inline that the policy would block.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\sstyle=", page)


def test_a_snapshot_goes_to_the_bucket_is_served_from_it_and_deleted_there(
    client, make_token, tenant_a, camera_a, s3, django_capture_on_commit_callbacks
):
    snapshot = new_snapshot(tenant_a.id, "cam-front-01", IN_WINDOW)
    write(snapshot, b"\xff\xd8 jpeg")
    event = create_event(tenant=tenant_a, camera_id="cam-front-01", type="person", confidence=0.9, snapshot=snapshot)
    upload_soon(snapshot, recordings_path(snapshot), "image/jpeg")  # as the detector does once the event is written
    deadline = time.monotonic() + 10
    while recordings_path(snapshot).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not recordings_path(snapshot).exists(), "uploaded, then taken off this disk"

    response = client.get(url_for_file(snapshot), {"token": make_token(tenant_a, ["events:read"])})
    assert (response.status_code, b"".join(response.streaming_content)) == (200, b"\xff\xd8 jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        delete_events(Event.objects.filter(pk=event.pk))
    assert s3.client.list_objects_v2(Bucket=s3.bucket).get("KeyCount") == 0

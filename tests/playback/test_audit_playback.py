"""Recorded viewing in the audit trail: one `playback.view` per viewer, camera and hour (not per playlist request or
segment), one `snapshot.view` per viewer and snapshot, a signed URL's viewer named "signed-url"."""

from datetime import timedelta

import pytest

from playback import paths
from playback.signing import signed_url
from tenants import audit
from tenants.models import AuditEntry
from tenants.tokens import refresh_token_for

from ..factories import MembershipFactory
from .conftest import HOUR
from .test_hls_media import write

pytestmark = pytest.mark.django_db

PLAYLIST = "/v2/hls/cam-front-01/2020-03-12/04/index.m3u8"
NEXT_HOUR = "/v2/hls/cam-front-01/2020-03-12/05/index.m3u8"


@pytest.fixture
def user_token(tenant_a):
    """user_token(name): an access token of a user of tenant A, as the console's login makes it."""

    def make(username: str) -> str:
        membership = MembershipFactory(tenant=tenant_a, user__username=username)
        return str(refresh_token_for(membership).access_token)

    return make


@pytest.fixture
def olivia(user_token):
    return user_token("olivia")


def views(action: str) -> list[tuple[str, str, str, str, str]]:
    """The tenant's entries of `action`, oldest first, once the pending ones are written."""
    audit.drain()
    entries = AuditEntry.objects.filter(tenant_id="tenant-a", action=action).order_by("id")
    return list(entries.values_list("actor", "address", "object_type", "object_id", "camera_id"))


def test_a_playlist_requested_again_is_one_view_and_another_hour_another(client, camera_a, record, olivia):
    record(camera_a)
    record(camera_a, start=HOUR + timedelta(hours=1), count=2)
    for url in (PLAYLIST, PLAYLIST, NEXT_HOUR, PLAYLIST):
        assert client.get(url, {"token": olivia}).status_code == 200

    assert views("playback.view") == [
        ("user:olivia", "127.0.0.1", "hour", "cam-front-01/2020-03-12/04", "cam-front-01"),
        ("user:olivia", "127.0.0.1", "hour", "cam-front-01/2020-03-12/05", "cam-front-01"),
    ]


def test_each_viewer_of_an_hour_is_recorded(client, camera_a, record, olivia, user_token):
    record(camera_a)
    for token in (olivia, user_token("sam"), olivia):
        assert client.get(PLAYLIST, {"token": token}).status_code == 200
    assert [actor for actor, *_ in views("playback.view")] == ["user:olivia", "user:sam"]


def test_a_signed_playlist_names_no_user(client, camera_a, record):
    record(camera_a)
    assert client.get(signed_url(PLAYLIST, "tenant-a")).status_code == 200
    assert views("playback.view") == [("signed-url", "127.0.0.1", "hour", "cam-front-01/2020-03-12/04", "cam-front-01")]


def test_an_hour_without_recordings_or_another_tenants_camera_is_no_view(client, camera_a, tenant_b, make_token):
    assert client.get(PLAYLIST, {"token": make_token(camera_a.tenant)}).status_code == 404  # nothing recorded
    assert client.get(PLAYLIST, {"token": make_token(tenant_b)}).status_code == 404
    assert views("playback.view") == []
    assert not AuditEntry.objects.filter(tenant_id="tenant-b").exists()


def test_an_event_snapshot_opened_again_is_one_view_and_its_segments_none(client, camera_a, record, olivia):
    segments = record(camera_a, count=2)
    relative = paths.new_snapshot("tenant-a", camera_a.slug, HOUR + timedelta(minutes=3))
    write(paths.recordings_path(relative))
    url = paths.url_for_file(relative)
    for _ in range(2):
        assert client.get(url, {"token": olivia}).status_code == 200
    for segment in segments:
        assert client.get(paths.url_for_file(segment.path), {"token": olivia}).status_code == 200

    object_id = f"cam-front-01/2020-03-12/04/{relative.rsplit('/', 1)[1]}"
    assert views("snapshot.view") == [("user:olivia", "127.0.0.1", "snapshot", object_id, "cam-front-01")]
    assert views("playback.view") == []

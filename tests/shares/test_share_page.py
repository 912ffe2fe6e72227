"""A share link's page (/v2/s/<key>): what it shows, the token its script gets (with the password, when the share has
one, tries throttled per share and address), and a clear page once the link is unknown, expired or revoked."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants import audit
from tenants.models import AuditEntry, Share

from .conftest import make_share

pytestmark = pytest.mark.django_db

JSON = "application/json"


def open_link(client, key: str, body: dict | None = None, address: str = "127.0.0.1"):
    return client.post(f"/v2/s/{key}", body or {}, JSON, REMOTE_ADDR=address)


def test_a_clip_link_shows_its_camera_and_range_and_gives_its_token(client, camera_a, record, client_a):
    record(camera_a)
    share = make_share(client_a)

    page = client.get(f"/v2/s/{share['key']}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Front gate" in html
    assert 'Recorded clip, <time datetime="2020-03-12T04:00:04+00:00">2020-03-12 04:00:04</time>' in html
    assert "data-password" not in html
    assert "Content-Security-Policy" in html and "vendor/hls/hls.min.js" in html and "shares/share.js" in html
    assert "Sign out" not in html  # no console

    opened = open_link(client, share["key"], address="10.9.8.7")
    assert opened.status_code == 200
    body = opened.json()
    assert set(body) == {"token", "camera_id", "camera_name", "live", "start", "end", "expires", "playlist_url"}
    assert (body["camera_id"], body["camera_name"], body["live"]) == ("cam-front-01", "Front gate", False)
    assert (body["start"], body["end"]) == ("2020-03-12T04:00:04+00:00", "2020-03-12T04:00:10+00:00")
    assert body["playlist_url"] == f"/v2/s/{share['key']}/clip.m3u8?token={body['token']}"
    audit.drain()
    opens = AuditEntry.objects.filter(action="share.open").values_list("actor", "address", "object_id", "camera_id")
    assert list(opens) == [(f"share:{share['id']}", "10.9.8.7", str(share["id"]), "cam-front-01")]


def test_a_live_link_says_live_and_has_no_playlist(client, camera_a, client_a):
    share = make_share(client_a, live=True)

    assert "Live view" in client.get(f"/v2/s/{share['key']}").content.decode()
    body = open_link(client, share["key"]).json()
    assert (body["live"], body["start"], body["end"], body["playlist_url"]) == (True, None, None, None)


def test_an_unknown_link_is_a_404_page(client, camera_a):
    page = client.get("/v2/s/not-a-key-of-any-share")
    assert page.status_code == 404
    assert "This share link does not exist." in page.content.decode()
    refused = open_link(client, "not-a-key-of-any-share")
    assert refused.status_code == 404
    assert refused.json() == {"detail": "This share link does not exist.", "code": "not_found"}


def test_an_expired_link_is_a_410_page_and_its_token_is_refused(client, camera_a, record, client_a):
    record(camera_a)
    share = make_share(client_a)
    token = open_link(client, share["key"]).json()["token"]
    Share.objects.filter(pk=share["id"]).update(expires=timezone.now() - timedelta(seconds=1))

    page = client.get(f"/v2/s/{share['key']}")
    assert page.status_code == 410
    assert "This share link has expired." in page.content.decode()
    refused = open_link(client, share["key"])
    assert refused.status_code == 410
    assert refused.json() == {"detail": "This share link has expired.", "code": "share_ended"}
    playlist = client.get(f"/v2/s/{share['key']}/clip.m3u8?token={token}")
    assert (playlist.status_code, playlist.json()["code"]) == (401, "token_not_valid")


def test_a_password_is_asked_for_and_wrong_tries_are_throttled(client, settings, camera_a, record, client_a):
    settings.VMS_LOGIN_RATE_PER_USER = "3/min"
    record(camera_a)
    share = make_share(client_a, password="open sesame")

    page = client.get(f"/v2/s/{share['key']}").content.decode()
    assert "data-password" in page and 'type="password"' in page
    for body in ({}, {"password": "wrong one"}, {"password": ["open sesame"]}):
        refused = open_link(client, share["key"], body)
        assert refused.status_code == 401
        assert refused.json() == {"detail": "Wrong password.", "code": "wrong_password"}
    throttled = open_link(client, share["key"], {"password": "open sesame"})
    assert (throttled.status_code, throttled.json()["code"]) == (429, "throttled")
    assert "Retry-After" in throttled.headers

    opened = open_link(client, share["key"], {"password": "open sesame"}, address="10.0.0.2")  # another viewer
    assert opened.status_code == 200
    assert opened.json()["token"]
    audit.drain()
    assert AuditEntry.objects.filter(action="share.open").count() == 1

"""Share tests: real recordings (the playback tests' demo segments, indexed) and a share made through the API."""

from datetime import timedelta

from ..playback.conftest import HOUR, record  # noqa: F401  (the recordings the playback tests make)

SHARES = "/v2/api/shares"
# Inside the 20 s the `record` fixture writes from HOUR.
CLIP = {"start": (HOUR + timedelta(seconds=4)).isoformat(), "end": (HOUR + timedelta(seconds=10)).isoformat()}


def make_share(client, **body) -> dict:
    """A share of cam-front-01 made through the API by `client` (a clip of CLIP unless live): its JSON, with `key`,
    the link's key, added."""
    sent = {"camera_id": "cam-front-01", **({} if body.get("live") else CLIP), **body}
    response = client.post(SHARES, sent, format="json")
    assert response.status_code == 201, response.json()
    made = response.json()
    return {**made, "key": made["url"].rsplit("/", 1)[1]}

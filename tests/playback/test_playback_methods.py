"""The playback API is read-only: a method it does not serve is a 405 for a token that may read it."""

import pytest

from tenants.catalogue import CAMERAS_READ, PLAYBACK_READ

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/v2/api/playback/timeline", "/v2/api/playback/event/evt-1"])
def test_a_method_the_playback_api_lacks_is_a_405_and_without_playback_read_a_403(make_client, tenant_a, path):
    response = make_client(tenant_a, [PLAYBACK_READ]).post(path, {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert make_client(tenant_a, [CAMERAS_READ]).get(path).status_code == 403

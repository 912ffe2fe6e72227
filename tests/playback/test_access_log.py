"""The web process's access log never holds a token: media URLs and WebSockets carry JWTs as `?token=`."""

import urllib.error
import urllib.request

import pytest

from vms.server import redact_tokens

from ..processes import running_daphne


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.django_db(transaction=True)
def test_daphne_logs_each_request_with_its_token_masked(camera_a, make_token, tmp_path):
    token = make_token(camera_a.tenant, ["playback:read"])
    # Unbuffered, so the log can be read while the server runs (the Procfile's daphne writes the same lines).
    with running_daphne(tmp_path / "daphne.log", PYTHONUNBUFFERED="1") as server:
        assert status_of(f"{server.url}/v2/hls/x/live.m3u8?token=abc.def.ghi") == 401
        assert status_of(f"{server.url}/v2/hls/cam-front-01/live.m3u8?a=1&token={token}&b=2") == 200
        log = server.log.read_text()
    assert "abc.def.ghi" not in log and token not in log
    assert '"GET /v2/hls/x/live.m3u8?token=***" 401' in log
    assert "/v2/hls/cam-front-01/live.m3u8?a=1&token=***&b=2" in log


@pytest.mark.parametrize(
    "uri, logged",
    [
        ("/v2/ws/events?token=a.b.c", "/v2/ws/events?token=***"),
        ("/p?x=1&token=a.b.c&y=2", "/p?x=1&token=***&y=2"),
        ("/p?mytoken=keep&token=", "/p?mytoken=keep&token=***"),
        ("/p?tid=t&exp=1&sig=ab", "/p?tid=t&exp=1&sig=***"),
        ("/p?sig=ab&mysig=keep", "/p?sig=***&mysig=keep"),
    ],
)
def test_redact_tokens(uri, logged):
    assert redact_tokens(uri) == logged

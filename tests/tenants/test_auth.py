import time
from collections.abc import Callable

import jwt
import pytest
from django.conf import settings
from django.http import HttpResponse

from tenants.catalogue import READ_SCOPES, SCOPES
from tenants.models import Membership

from ..factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CAMERAS = "/v2/api/cameras"


def test_missing_token_is_401(client, tenant_a):
    response = client.get(CAMERAS)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Bearer", "Token abc", "Bearer a.b.c"])
def test_malformed_token_is_401(client, tenant_a, header):
    assert client.get(CAMERAS, HTTP_AUTHORIZATION=header).status_code == 401


def test_expired_token_is_401(client, tenant_a, make_token):
    token = make_token(tenant_a, ttl=1)
    time.sleep(1.1)
    response = client.get(CAMERAS, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"].lower()


def test_token_signed_with_another_key_is_401(client, tenant_a):
    forged = jwt.encode(
        {
            "token_type": "access",
            "exp": int(time.time()) + 60,
            "jti": "x",
            "tenant_id": tenant_a.id,
            "scope": "cameras:read",
        },
        "not-our-key-but-long-enough-for-hs256",
        algorithm="HS256",
    )
    assert client.get(CAMERAS, HTTP_AUTHORIZATION=f"Bearer {forged}").status_code == 401


def test_token_without_tenant_is_401(client, tenant_a):
    token = jwt.encode(
        {"token_type": "access", "exp": int(time.time()) + 60, "jti": "x", "scope": " ".join(SCOPES)},
        settings.SIMPLE_JWT["SIGNING_KEY"],
        algorithm="HS256",
    )
    response = client.get(CAMERAS, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert "tenant_id" in response.json()["detail"]


def test_token_of_deleted_tenant_is_401(client, tenant_a, make_token):
    token = make_token(tenant_a)
    tenant_a.delete()
    assert client.get(CAMERAS, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "JWT"])
def test_both_header_forms_are_accepted(make_client, tenant_a, header):
    assert make_client(tenant_a, header=header).get(CAMERAS).status_code == 200


def test_missing_scope_is_403_naming_the_scope(make_client, tenant_a):
    reader = make_client(tenant_a, scopes=["cameras:read"])
    assert reader.get(CAMERAS).status_code == 200
    response = reader.post(CAMERAS, {"name": "x", "rtsp_url": "rtsp://h/s"}, format="json")
    assert response.status_code == 403
    assert "cameras:write" in response.json()["detail"]
    assert make_client(tenant_a, scopes=["events:read"]).get(CAMERAS).status_code == 403


def test_password_login_gives_tenant_scoped_tokens_and_refresh_works(client, tenant_a):
    MembershipFactory(user__username="alice", tenant=tenant_a, role=Membership.Role.VIEWER)
    response = client.post(
        "/v2/api/auth/token",
        {"username": "alice", "password": "correct-horse-battery"},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    claims = jwt.decode(body["access"], options={"verify_signature": False})
    assert claims["tenant_id"] == "tenant-a"
    assert claims["scope"].split() == list(READ_SCOPES)
    assert client.get(CAMERAS, HTTP_AUTHORIZATION=f"JWT {body['access']}").status_code == 200

    refreshed = client.post("/v2/api/auth/refresh", {"refresh": body["refresh"]}, content_type="application/json")
    assert refreshed.status_code == 200
    new_claims = jwt.decode(refreshed.json()["access"], options={"verify_signature": False})
    assert (new_claims["tenant_id"], new_claims["scope"]) == (claims["tenant_id"], claims["scope"])


def login(client, username: str, password: str = "correct-horse-battery"):
    body = {"username": username, "password": password}
    return client.post("/v2/api/auth/token", body, content_type="application/json")


def test_every_failed_login_gets_the_same_401(client, tenant_a):
    MembershipFactory(user__username="alice", tenant=tenant_a)
    MembershipFactory(user__username="idle", user__is_active=False, tenant=tenant_a)
    UserFactory(username="loner")
    failures = [login(client, "alice", "nope"), login(client, "nobody"), login(client, "idle"), login(client, "loner")]
    assert [response.status_code for response in failures] == [401] * 4
    assert [response.json() for response in failures] == [
        {"detail": "Wrong username or password.", "code": "authentication_failed"}
    ] * 4


def test_login_needs_both_fields(client):
    response = client.post("/v2/api/auth/token", {"username": "alice"}, content_type="application/json")
    assert response.status_code == 400
    assert "password" in response.json()["fields"]


def refresher(client, user) -> Callable[[], HttpResponse]:
    """Logs `user` in; the function it returns posts the login's refresh token to /v2/api/auth/refresh."""
    token = login(client, user.username).json()["refresh"]
    return lambda: client.post("/v2/api/auth/refresh", {"refresh": token}, content_type="application/json")


def test_refresh_takes_the_scopes_of_the_users_role_now(client, tenant_a):
    membership = MembershipFactory(tenant=tenant_a, role=Membership.Role.OPERATOR)
    post = refresher(client, membership.user)
    membership.role = Membership.Role.VIEWER
    membership.save()
    response = post()
    assert response.status_code == 200
    claims = jwt.decode(response.json()["access"], options={"verify_signature": False})
    assert (claims["tenant_id"], claims["scope"].split()) == ("tenant-a", list(READ_SCOPES))
    access = f"Bearer {response.json()['access']}"
    denied = client.post(CAMERAS, {}, content_type="application/json", HTTP_AUTHORIZATION=access)
    assert denied.status_code == 403


def test_refresh_follows_a_user_moved_to_another_tenant(client, tenant_a, tenant_b):
    membership = MembershipFactory(tenant=tenant_a)
    post = refresher(client, membership.user)
    membership.tenant = tenant_b
    membership.save()
    claims = jwt.decode(post().json()["access"], options={"verify_signature": False})
    assert claims["tenant_id"] == "tenant-b"


@pytest.mark.parametrize("change", ["user deleted", "user inactive", "membership removed"])
def test_refresh_is_refused_when_the_user_has_lost_access(client, tenant_a, change):
    membership = MembershipFactory(tenant=tenant_a)
    user = membership.user
    post = refresher(client, user)
    if change == "user deleted":
        user.delete()
    elif change == "user inactive":
        user.is_active = False
        user.save()
    else:
        membership.delete()
    response = post()
    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"
    assert "access" not in response.json()


def test_a_password_change_ends_every_refresh_token_issued_before_it(client, tenant_a):
    user = MembershipFactory(tenant=tenant_a).user
    post = refresher(client, user)
    assert post().status_code == 200
    user.set_password("a-new-horse-battery")
    user.save()
    response = post()
    assert response.status_code == 401
    assert response.json() == {
        "detail": "This refresh token was issued before the user's password changed: log in again.",
        "code": "password_changed",
    }
    fresh = login(client, user.username, "a-new-horse-battery").json()["refresh"]
    again = client.post("/v2/api/auth/refresh", {"refresh": fresh}, content_type="application/json")
    assert again.status_code == 200


def test_tokens_carry_no_part_of_the_password_hash(client, tenant_a):
    user = MembershipFactory(tenant=tenant_a).user
    body = login(client, user.username).json()
    refresh = jwt.decode(body["refresh"], options={"verify_signature": False})
    access = jwt.decode(body["access"], options={"verify_signature": False})
    hash_parts = [part for part in user.password.split("$") if len(part) > 8]
    assert not [claim for claim in refresh.values() for part in hash_parts if part in str(claim)]
    # Access tokens travel in URLs (HLS, WebSocket): the refresh's password check stays out of them.
    assert set(access) - set(refresh) == set() and set(refresh) - set(access) == {"auth_hash"}

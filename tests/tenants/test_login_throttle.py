"""Password guessing is throttled per username and per client address, on the API's login and the admin's."""

import jwt
import pytest

from ..factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/v2/api/auth/token"
ADMIN_LOGIN = "/admin/login/"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def rates(settings):
    """Limits out of the way; each test sets a small one, to spend it in a few attempts."""
    settings.VMS_LOGIN_RATE_PER_USER = "100/min"
    settings.VMS_LOGIN_RATE_PER_ADDRESS = "100/min"
    return settings


def login(client, username: str, password: str = "nope", address: str = "127.0.0.1", **headers):
    body = {"username": username, "password": password}
    return client.post(LOGIN, body, content_type="application/json", REMOTE_ADDR=address, headers=headers)


def test_a_usernames_budget_is_per_username_and_ends_in_429_with_retry_after(client, tenant_a, rates):
    rates.VMS_LOGIN_RATE_PER_USER = "3/min"
    MembershipFactory(user__username="alice", tenant=tenant_a)
    # From three addresses: the budget belongs to the username, wherever the guesses come from.
    assert [login(client, "alice", address=f"10.0.0.{n}").status_code for n in range(3)] == [401] * 3
    refused = login(client, "ALICE", PASSWORD, address="10.0.0.9")  # the right password, too late; any case
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert login(client, "bob").status_code == 401  # another username still gets an answer


def test_an_addresss_budget_covers_every_username_and_x_forwarded_for_is_not_trusted(client, tenant_a, rates):
    rates.VMS_LOGIN_RATE_PER_ADDRESS = "3/min"
    MembershipFactory(user__username="alice", tenant=tenant_a)
    assert [login(client, f"guess{n}").status_code for n in range(3)] == [401] * 3
    refused = login(client, "alice", PASSWORD, x_forwarded_for="203.0.113.7")
    assert refused.status_code == 429
    assert "Retry-After" in refused
    assert login(client, "alice", PASSWORD, address="10.0.0.2").status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(client, tenant_a, rates):
    rates.VMS_LOGIN_RATE_PER_ADDRESS = "1/min"
    rates.REST_FRAMEWORK = {**rates.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert login(client, "x", x_forwarded_for="203.0.113.7").status_code == 401
    assert login(client, "y", x_forwarded_for="203.0.113.8").status_code == 401
    assert login(client, "z", x_forwarded_for="203.0.113.7").status_code == 429


def admin_login(client, username: str, password: str = "nope", address: str = "127.0.0.1"):
    return client.post(ADMIN_LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("limit", ["VMS_LOGIN_RATE_PER_USER", "VMS_LOGIN_RATE_PER_ADDRESS"])
def test_failed_admin_logins_are_throttled(client, rates, limit):
    setattr(rates, limit, "2/min")
    UserFactory(username="root", is_staff=True, is_superuser=True)
    assert admin_login(client, "root", PASSWORD).status_code == 302  # a success does not count
    client.logout()
    for _ in range(2):
        assert "Please enter the correct username" in admin_login(client, "root").content.decode()
    response = admin_login(client, "root", PASSWORD)
    assert response.status_code == 200
    assert "Too many failed logins. Try again in" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The other door shares the budget: the API refuses the same username, or address, too.
    assert login(client, "root").status_code == 429


REFRESH = "/v2/api/auth/refresh"


def refresh(client, token: str, address: str = "127.0.0.1"):
    return client.post(REFRESH, {"refresh": token}, content_type="application/json", REMOTE_ADDR=address)


def test_refreshes_are_throttled_per_user_wherever_they_come_from(client, tenant_a, rates):
    rates.VMS_LOGIN_RATE_PER_USER = "3/min"
    MembershipFactory(user__username="alice", tenant=tenant_a)
    MembershipFactory(user__username="bob", tenant=tenant_a)
    alice = login(client, "alice", PASSWORD).json()["refresh"]
    bob = login(client, "bob", PASSWORD).json()["refresh"]
    assert [refresh(client, alice, address=f"10.0.0.{n}").status_code for n in range(3)] == [200] * 3
    refused = refresh(client, alice, address="10.0.0.9")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refresh(client, bob).status_code == 200  # another user still gets an answer


def test_refreshes_spend_the_addresss_login_budget_and_forged_tokens_spend_no_users(client, tenant_a, rates):
    rates.VMS_LOGIN_RATE_PER_USER = "5/min"
    rates.VMS_LOGIN_RATE_PER_ADDRESS = "3/min"
    MembershipFactory(user__username="alice", tenant=tenant_a)
    token = login(client, "alice", PASSWORD, address="10.0.0.1").json()["refresh"]
    forged = jwt.encode({**jwt.decode(token, options={"verify_signature": False}), "jti": "f"}, "another-key-" * 3)
    # Five forged tokens naming alice, each from its own address: were they counted, alice's budget would be gone.
    assert [refresh(client, forged, address=f"10.0.1.{n}").status_code for n in range(5)] == [401] * 5
    assert [refresh(client, token).status_code for _ in range(2)] == [200] * 2
    assert login(client, "guess").status_code == 401  # the third try from 127.0.0.1, whichever door
    refused = refresh(client, token)
    assert refused.status_code == 429
    assert "Retry-After" in refused
    assert refresh(client, token, address="10.0.0.2").status_code == 200

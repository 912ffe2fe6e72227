"""/v2/api/subscriptions: webhook subscriptions of a tenant (secret shown once), their delivery log, a test delivery;
every bad input a 400 naming its field, another tenant's subscription a 404, a token without the scope a 403."""

import json
import time
from datetime import timedelta
from ipaddress import ip_network

import jsonschema
import pytest
from django.utils import timezone

from events.api.subscriptions import MAX_SUBSCRIPTIONS
from events.models import Delivery, Subscription
from tenants.catalogue import READ_SCOPES, SCOPES, SUBSCRIPTIONS_WRITE

from ..factories import CameraFactory
from ..processes import running_worker
from ..webhook_receiver import running_receiver, verify_signature

pytestmark = pytest.mark.django_db

SUBSCRIPTIONS = "/v2/api/subscriptions"
FIELDS = {
    "id", "url", "types", "camera_ids", "zones", "severity", "enabled", "disabled_reason", "failing_since",
    "created_at", "updated_at",
}  # fmt: skip
DELIVERY_FIELDS = {
    "id", "event_id", "state", "attempts", "response_code", "latency_ms", "last_error", "created_at",
    "last_attempt_at", "next_attempt_at",
}  # fmt: skip
HOOK = "https://198.51.100.7/vms"  # an address: no name resolves here, and a name must


@pytest.fixture
def sub_a(tenant_a):
    return Subscription.objects.create(tenant=tenant_a, url=HOOK)


def create(client, **body):
    return client.post(SUBSCRIPTIONS, {"url": HOOK, **body}, format="json")


def delivery(subscription, minutes_ago: float = 0, **fields) -> Delivery:
    made = Delivery.objects.create(subscription=subscription, event_id="evt-1", body="{}", **fields)
    Delivery.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return made


def test_the_secret_is_in_the_create_response_only(client_a, tenant_a):
    created = create(client_a)
    assert created.status_code == 201, created.json()
    body = created.json()
    subscription = Subscription.objects.get()
    assert body["secret"] == subscription.secret and body["secret"].startswith("whsec_")
    assert set(body) == FIELDS | {"secret"}

    path = f"{SUBSCRIPTIONS}/{subscription.pk}"
    answers = [
        client_a.get(SUBSCRIPTIONS),
        client_a.get(path),
        client_a.patch(path, {"zones": ["door"]}, format="json"),
    ]
    for answer in answers:
        assert answer.status_code == 200
        assert subscription.secret not in answer.content.decode()
        assert b'"secret"' not in answer.content
    assert set(answers[1].json()) == FIELDS


def test_create_stores_the_filters_as_the_engine_matches_them(client_a, tenant_a, camera_a):
    CameraFactory(tenant=tenant_a, slug="Dock_2")
    body = {
        "types": ["person", "vehicle", "person"],
        "camera_ids": ["CAM-FRONT-01", "dock_2", "cam-front-01"],
        "zones": ["door", "yard", "door"],
        "severity": "alert",
        "enabled": False,
    }
    created = create(client_a, **body)
    assert created.status_code == 201, created.json()
    subscription = Subscription.objects.get()
    assert (subscription.url, subscription.types, subscription.camera_ids, subscription.zones) == (
        HOOK, ["person", "vehicle"], ["cam-front-01", "Dock_2"], ["door", "yard"],
    )  # fmt: skip
    assert (subscription.severity, subscription.enabled, subscription.tenant_id) == ("alert", False, "tenant-a")
    shown = created.json()
    assert (shown["camera_ids"], shown["severity"], shown["disabled_reason"], shown["failing_since"]) == (
        ["cam-front-01", "Dock_2"], "alert", "", None,
    )  # fmt: skip


def test_the_secret_and_the_engines_fields_cannot_be_sent(client_a, sub_a):
    body = {"secret": "whsec_mine", "disabled_reason": "x", "failing_since": "2020-01-01T00:00:00Z", "tenant": "t"}
    created = create(client_a, **body)
    assert created.status_code == 201
    assert created.json()["secret"] != "whsec_mine"
    changed = client_a.patch(f"{SUBSCRIPTIONS}/{sub_a.pk}", body, format="json")
    assert changed.status_code == 200
    stored = Subscription.objects.values_list("secret", "disabled_reason", "failing_since", "tenant_id")
    assert {s for s in stored if s[0] == "whsec_mine" or s[1:] != ("", None, "tenant-a")} == set()


@pytest.mark.parametrize("severity", [None, ""])
def test_no_severity_means_both(client_a, severity):
    created = create(client_a, severity=severity)
    assert created.status_code == 201, created.json()
    assert created.json()["severity"] is None
    assert Subscription.objects.get().severity == ""


def test_list_is_newest_first_and_keyset_paged(client_a, client_b, tenant_a, tenant_b):
    mine = [Subscription.objects.create(tenant=tenant_a, url=f"{HOOK}/{n}").pk for n in range(5)]
    Subscription.objects.create(tenant=tenant_b, url=HOOK)
    first = client_a.get(SUBSCRIPTIONS, {"limit": 3})
    assert [s["id"] for s in first.json()] == mine[::-1][:3]
    next_url = first.headers["Link"].split(">")[0].lstrip("<")
    second = client_a.get(next_url)
    assert [s["id"] for s in second.json()] == mine[::-1][3:]
    assert "Link" not in second.headers
    assert len(client_b.get(SUBSCRIPTIONS).json()) == 1
    assert client_a.get(SUBSCRIPTIONS, {"limit": 0}).status_code == 400


def test_change_and_delete(client_a, sub_a):
    delivery(sub_a)
    path = f"{SUBSCRIPTIONS}/{sub_a.pk}"
    changed = client_a.patch(path, {"url": "https://localhost/x", "types": ["motion"]}, format="json")
    assert changed.status_code == 200, changed.json()
    sub_a.refresh_from_db()
    assert (sub_a.url, sub_a.types, changed.json()["url"]) == ("https://localhost/x", ["motion"], sub_a.url)
    assert client_a.put(path, {"url": HOOK}, format="json").status_code == 405  # the API changes by PATCH
    assert client_a.delete(path).status_code == 204
    assert not Subscription.objects.exists() and not Delivery.objects.exists()
    assert client_a.get(path).status_code == 404


def test_enabling_a_disabled_subscription_forgives_its_failures(client_a, sub_a):
    failing = timezone.now() - timedelta(days=3)
    Subscription.objects.filter(pk=sub_a.pk).update(enabled=False, disabled_reason="HTTP 500", failing_since=failing)
    path = f"{SUBSCRIPTIONS}/{sub_a.pk}"

    other = client_a.patch(path, {"zones": ["door"]}, format="json").json()
    assert (other["enabled"], other["disabled_reason"]) == (False, "HTTP 500")
    enabled = client_a.patch(path, {"enabled": True}, format="json")
    assert enabled.status_code == 200
    assert (enabled.json()["enabled"], enabled.json()["disabled_reason"], enabled.json()["failing_since"]) == (
        True, "", None,
    )  # fmt: skip
    sub_a.refresh_from_db()
    assert (sub_a.enabled, sub_a.disabled_reason, sub_a.failing_since, sub_a.zones) == (True, "", None, ["door"])


def test_enabled_again_on_an_enabled_subscription_keeps_its_failure_clock(client_a, sub_a):
    failing = timezone.now() - timedelta(hours=1)
    Subscription.objects.filter(pk=sub_a.pk).update(failing_since=failing)
    assert client_a.patch(f"{SUBSCRIPTIONS}/{sub_a.pk}", {"enabled": True}, format="json").status_code == 200
    sub_a.refresh_from_db()
    assert sub_a.failing_since == failing


def test_a_change_keeps_what_the_engine_recorded_meanwhile(client_a, sub_a):
    """The API saves only the fields sent: a failure recorded after the subscription was read is not undone."""
    path = f"{SUBSCRIPTIONS}/{sub_a.pk}"
    failing = timezone.now()
    Subscription.objects.filter(pk=sub_a.pk).update(failing_since=failing)
    client_a.patch(path, {"types": ["person"]}, format="json")
    sub_a.refresh_from_db()
    assert sub_a.failing_since == failing and sub_a.types == ["person"]


BAD_URLS = [
    "ftp://hooks.example.com/x",
    "hooks.example.com/x",
    "https://",
    "https:///path",
    "https://user:pw@hooks.example.com/x",
    "https://user@hooks.example.com/x",
    "https://hooks.example.com:99999/x",
    "https://hooks.example.com/a b",
    "https://hooks.example.com/\x01",
    "https://169.254.169.254/latest/meta-data",  # link-local: the cloud's metadata service
    "https://[fe80::1]/x",
    "https://[::ffff:169.254.169.254]/x",
    "https://hooks.example.com/" + "x" * 2000,
    "",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_url_is_400_naming_url(client_a, url):
    response = create(client_a, url=url)
    assert response.status_code == 400
    assert (list(response.json()["fields"]), response.json()["code"]) == (["url"], "invalid")
    assert not Subscription.objects.exists()


def test_a_bad_url_on_change_is_400_and_changes_nothing(client_a, sub_a):
    response = client_a.patch(f"{SUBSCRIPTIONS}/{sub_a.pk}", {"url": "ftp://x/y"}, format="json")
    assert response.status_code == 400
    sub_a.refresh_from_db()
    assert sub_a.url == HOOK


def test_plain_http_only_where_the_deployment_allows_it(client_a, settings):
    assert create(client_a, url="http://localhost/x").status_code == 201
    settings.VMS_WEBHOOK_ALLOW_HTTP = False
    refused = create(client_a, url="http://localhost/x")
    assert refused.status_code == 400
    assert refused.json()["fields"] == {"url": ["URL must start with https://."]}
    assert create(client_a, url="https://localhost/x").status_code == 201
    assert Subscription.objects.count() == 2


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1/x", "https://localhost:8443/x", "https://[::1]/x", "https://0.0.0.0/x", "https://[::]/x",
     "https://[::ffff:127.0.0.1]/x", "https://2130706433/x",  # 0.0.0.0 and :: reach this host too
     "https://[64:ff9b::7f00:1]/x", "https://[2002:7f00:1::]/x", "https://[::ffff:0.0.0.0]/x"],  # NAT64, 6to4
)  # fmt: skip
def test_a_host_in_or_resolving_into_a_denied_network_is_one_fixed_400(client_a, settings, url):
    assert create(client_a, url=url).status_code == 201  # the tests' deployment allows loopback
    settings.VMS_WEBHOOK_DENY_NETS = [ip_network("127.0.0.0/8"), ip_network("::1/128")]
    response = create(client_a, url=url)
    assert response.status_code == 400
    assert response.json()["fields"] == {"url": ["URL must name a host webhooks may be sent to."]}
    assert Subscription.objects.count() == 1


SPELLING = "URL must name its host by letters, digits, '-', '_' and '.', or by an IP address."


@pytest.mark.parametrize(
    ("url", "message"),
    [
        # urlsplit read the host `127.0.0.1\.example` (which resolves to nothing), urllib3 connected to 127.0.0.1:80
        ("http://127.0.0.1\\.example/hook", "URL must not contain a backslash (write it as %5C)."),
        ("https://127.0.0.1%2eexample/x", SPELLING),
        ("https://[fe80::1%25eth0]/x", SPELLING),
        ("https://hooks.example.com/x", "URL must name a host that resolves."),  # nothing resolves here
        ("https://nothing.invalid/x", "URL must name a host that resolves."),
    ],
)  # fmt: skip
def test_a_url_read_two_ways_or_naming_nothing_is_400(client_a, url, message):
    response = create(client_a, url=url)
    assert response.status_code == 400
    assert response.json()["fields"] == {"url": [message]}
    assert not Subscription.objects.exists()


def test_camera_ids_must_be_the_tenants_cameras(client_a, tenant_b, camera_a):
    CameraFactory(tenant=tenant_b, slug="cam-b")
    for ids, unknown in ((["cam-nope"], "cam-nope"), (["cam-b"], "cam-b"), ([camera_a.slug, "cam-b"], "cam-b")):
        response = create(client_a, camera_ids=ids)
        assert response.status_code == 400
        assert response.json()["fields"] == {"camera_ids": [f"No camera '{unknown}' in this tenant."]}
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"types": ["ufo"]},
        {"types": "person"},
        {"severity": "urgent"},
        {"zones": [""]},
        {"zones": ["z" * 65]},
        {"camera_ids": ["c" * 65]},
        {"camera_ids": [f"cam-{n}" for n in range(101)]},
        {"zones": [f"z{n}" for n in range(101)]},
        {"enabled": "maybe"},
    ],
)
def test_bad_filters_are_400_naming_the_field(client_a, body):
    response = create(client_a, **body)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == list(body)
    assert not Subscription.objects.exists()


def test_a_tenant_has_at_most_so_many_subscriptions(client_a, tenant_a):
    Subscription.objects.bulk_create(Subscription(tenant=tenant_a, url=HOOK) for _ in range(MAX_SUBSCRIPTIONS - 1))
    assert create(client_a).status_code == 201
    refused = create(client_a)
    assert refused.status_code == 400
    assert f"at most {MAX_SUBSCRIPTIONS}" in refused.json()["detail"]
    assert Subscription.objects.count() == MAX_SUBSCRIPTIONS


def routes(subscription_id) -> list[tuple[str, str, dict | None]]:
    path = f"{SUBSCRIPTIONS}/{subscription_id}"
    return [
        ("get", path, None),
        ("patch", path, {"enabled": False}),
        ("delete", path, None),
        ("post", f"{path}/test", None),
        ("get", f"{path}/deliveries", None),
    ]


def test_another_tenants_subscription_is_not_found_on_every_route(client_b, sub_a):
    delivery(sub_a)
    for method, path, body in [*routes(sub_a.pk), *routes("nope"), *routes(10**30)]:
        response = getattr(client_b, method)(path, body, format="json")
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "not_found"
    sub_a.refresh_from_db()
    assert sub_a.enabled and Delivery.objects.count() == 1


@pytest.mark.parametrize("scopes", [READ_SCOPES, tuple(s for s in SCOPES if s != SUBSCRIPTIONS_WRITE)])
def test_every_route_needs_the_subscriptions_scope(make_client, tenant_a, sub_a, scopes):
    client = make_client(tenant_a, scopes)
    for method, path, body in [("get", SUBSCRIPTIONS, None), ("post", SUBSCRIPTIONS, {"url": HOOK}), *routes(sub_a.pk)]:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == 403, (method, path)
        assert SUBSCRIPTIONS_WRITE in response.json()["detail"]
    assert Subscription.objects.count() == 1 and not Delivery.objects.exists()


def test_the_delivery_log_is_newest_first_keyset_paged_and_filtered(client_a, sub_a, tenant_a):
    older = [delivery(sub_a, minutes_ago=10 - n, state="failed", attempts=3, response_code=500) for n in range(3)]
    newest = delivery(sub_a, attempts=1, response_code=200, latency_ms=12, state="delivered")
    same_moment = delivery(sub_a)  # ties on created_at are broken by id
    Delivery.objects.filter(pk=same_moment.pk).update(created_at=Delivery.objects.get(pk=newest.pk).created_at)
    delivery(Subscription.objects.create(tenant=tenant_a, url=HOOK))  # another subscription's
    path = f"{SUBSCRIPTIONS}/{sub_a.pk}/deliveries"

    expected = [*sorted([str(newest.pk), str(same_moment.pk)], reverse=True), *(str(d.pk) for d in older[::-1])]
    seen, url = [], f"{path}?limit=2"
    while url:
        page = client_a.get(url)
        assert page.status_code == 200
        seen += [d["id"] for d in page.json()]
        url = page.headers.get("Link", "").split(">")[0].lstrip("<")
    assert seen == expected

    delivered = client_a.get(path, {"state": "delivered"}).json()
    assert [d["id"] for d in delivered] == [str(newest.pk)]
    assert set(delivered[0]) == DELIVERY_FIELDS
    assert {k: delivered[0][k] for k in ("event_id", "state", "attempts", "response_code", "latency_ms")} == {
        "event_id": "evt-1", "state": "delivered", "attempts": 1, "response_code": 200, "latency_ms": 12,
    }  # fmt: skip
    assert "body" not in delivered[0]


@pytest.mark.parametrize("query", [{"before": "not-a-uuid"}, {"state": "lost"}, {"limit": 101}, {"before": "other"}])
def test_a_bad_delivery_log_query_is_400(client_a, sub_a, tenant_a, query):
    if query.get("before") == "other":  # a delivery of another subscription is no cursor of this one
        query = {"before": str(delivery(Subscription.objects.create(tenant=tenant_a, url=HOOK)).pk)}
    response = client_a.get(f"{SUBSCRIPTIONS}/{sub_a.pk}/deliveries", query)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == list(query)


def test_the_list_and_log_cost_a_fixed_number_of_queries(client_a, sub_a, tenant_a, django_assert_max_num_queries):
    for n in range(20):
        delivery(Subscription.objects.create(tenant=tenant_a, url=f"{HOOK}/{n}"))
        delivery(sub_a)
    with django_assert_max_num_queries(3):
        assert len(client_a.get(SUBSCRIPTIONS).json()) == 21
    with django_assert_max_num_queries(4):
        assert len(client_a.get(f"{SUBSCRIPTIONS}/{sub_a.pk}/deliveries").json()) == 20


def test_test_queues_a_test_event_and_answers_202_with_its_delivery(client_a, sub_a):
    Subscription.objects.filter(pk=sub_a.pk).update(enabled=False)  # testing is how one checks before enabling
    response = client_a.post(f"{SUBSCRIPTIONS}/{sub_a.pk}/test")
    assert response.status_code == 202
    body = response.json()
    assert set(body) == DELIVERY_FIELDS
    stored = Delivery.objects.get(subscription=sub_a)
    assert (body["id"], body["state"], body["attempts"]) == (str(stored.pk), "pending", 0)
    assert json.loads(stored.body)["data"]["type"] == "test"


def test_test_deliveries_are_limited_per_tenant(client_a, client_b, tenant_a, tenant_b, sub_a):
    """A test POSTs to whatever the URL names, whenever asked: a budget per tenant, whichever subscriptions."""
    other = Subscription.objects.create(tenant=tenant_a, url=HOOK)
    sub_b = Subscription.objects.create(tenant=tenant_b, url=HOOK)
    answers = [client_a.post(f"{SUBSCRIPTIONS}/{s.pk}/test").status_code for s in [sub_a, other] * 5]
    assert answers == [202] * 10
    refused = client_a.post(f"{SUBSCRIPTIONS}/{other.pk}/test")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled" and 0 < int(refused["Retry-After"]) <= 60
    assert Delivery.objects.count() == 10
    assert client_b.post(f"{SUBSCRIPTIONS}/{sub_b.pk}/test").status_code == 202  # tenant B's own budget


def wait_for(check, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


@pytest.mark.django_db(transaction=True)
def test_test_reaches_the_receiver_signed_with_the_secret_from_the_create(client_a, tmp_path):
    with running_receiver(tmp_path / "receiver.jsonl") as hook, running_worker(tmp_path / "worker.log", "notify"):
        created = create(client_a, url=hook.url).json()
        queued = client_a.post(f"{SUBSCRIPTIONS}/{created['id']}/test")
        assert queued.status_code == 202
        log_url = f"{SUBSCRIPTIONS}/{created['id']}/deliveries"
        log = wait_for(lambda: [d for d in client_a.get(log_url).json() if d["state"] != "pending"])
        [request] = hook.requests()
    assert [(d["id"], d["state"], d["attempts"], d["response_code"]) for d in log] == [
        (queued.json()["id"], "delivered", 1, 200),
    ]  # fmt: skip
    signature = {k.lower(): v for k, v in request["headers"].items()}["x-vms-signature"]
    assert verify_signature(created["secret"], signature, request["body"].encode())
    assert json.loads(request["body"])["data"]["type"] == "test"


def json_schema(openapi):
    """OpenAPI 3.0's `nullable: true` as JSON Schema says it (jsonschema ignores the keyword)."""
    if isinstance(openapi, list):
        return [json_schema(item) for item in openapi]
    if not isinstance(openapi, dict):
        return openapi
    schema = {key: json_schema(value) for key, value in openapi.items() if key != "nullable"}
    return {"anyOf": [schema, {"type": "null"}]} if openapi.get("nullable") else schema


def test_the_schema_documents_what_the_api_answers(client, client_a, sub_a):
    document = json_schema(client.get("/v2/api/schema", HTTP_ACCEPT="application/json").json())

    def check(response, method: str, path: str) -> None:
        responses = document["paths"][path][method]["responses"]
        schema = responses[str(response.status_code)]["content"]["application/json"]["schema"]
        jsonschema.validate(response.json(), {**schema, "components": document["components"]})

    delivery(sub_a, state="delivered", attempts=1, response_code=204, latency_ms=3)
    item = f"{SUBSCRIPTIONS}/{{id}}"
    check(create(client_a), "post", SUBSCRIPTIONS)
    check(create(client_a, url="ftp://x"), "post", SUBSCRIPTIONS)
    check(client_a.get(SUBSCRIPTIONS), "get", SUBSCRIPTIONS)
    check(client_a.get(f"{SUBSCRIPTIONS}/{sub_a.pk}"), "get", item)
    check(client_a.get(f"{SUBSCRIPTIONS}/0"), "get", item)
    check(client_a.patch(f"{SUBSCRIPTIONS}/{sub_a.pk}", {"severity": None}, format="json"), "patch", item)
    check(client_a.get(f"{SUBSCRIPTIONS}/{sub_a.pk}/deliveries"), "get", f"{item}/deliveries")
    check(client_a.post(f"{SUBSCRIPTIONS}/{sub_a.pk}/test"), "post", f"{item}/test")
    created = document["components"]["schemas"]["SubscriptionCreated"]
    assert "secret" in created["properties"] and "secret" not in document["components"]["schemas"]["Subscription"]
    assert set(document["paths"][item]) == {"get", "patch", "delete"}

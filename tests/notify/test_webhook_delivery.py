"""Webhook delivery end to end: events written here, the relay and a notify worker as real processes, and a real
HTTP receiver (tests/webhook_receiver.py) whose log of requests the tests read."""

import http.client
import json
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from events.models import Delivery, Event, Subscription
from events.notify import webhooks
from events.retention import DELIVERY_LOG_DAYS, purge_delivery_log
from events.serializers import event_envelope
from events.services import create_events

from ..factories import CameraFactory
from ..webhook_receiver import running_receiver, verify_signature

pytestmark = pytest.mark.django_db(transaction=True)



def wait_for(check: Callable[[], object], timeout: float = 15, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or check}")
        time.sleep(0.05)
    return result


@pytest.fixture
def receiver(tmp_path):
    """Starts a receiver: receiver(statuses="200", delay=0), a context manager."""
    count = 0

    def start(statuses: str = "200", delay: float = 0):
        nonlocal count
        count += 1
        return running_receiver(tmp_path / f"receiver-{count}.jsonl", statuses, delay)

    return start


@pytest.fixture
def cam_a(tenant_a):
    return CameraFactory(tenant=tenant_a, slug="cam-a")


def write(tenant, camera, count: int = 1, **fields) -> list[Event]:
    return create_events(tenant, [{"camera_id": camera.slug, "type": "person", "confidence": 0.9, **fields}] * count)


def header(request: dict, name: str) -> str:
    return {k.lower(): v for k, v in request["headers"].items()}[name.lower()]


def test_posts_the_signed_envelope_with_its_ids(tenant_a, cam_a, notify, receiver):
    with receiver() as hook, notify():
        subscription = Subscription.objects.create(tenant=tenant_a, url=hook.url)
        [written] = write(tenant_a, cam_a)
        [request] = wait_for(hook.requests, what="the webhook")

    delivery = Delivery.objects.get(subscription=subscription)
    assert verify_signature(subscription.secret, header(request, "X-VMS-Signature"), request["body"].encode())
    assert not verify_signature("whsec_other", header(request, "X-VMS-Signature"), request["body"].encode())
    assert request["body"] == event_envelope(Event.objects.get(pk=written.pk)).decode()
    assert json.loads(request["body"])["data"]["id"] == written.id
    assert header(request, "X-VMS-Event-Id") == written.id
    assert header(request, "X-VMS-Delivery-Id") == str(delivery.id)
    assert header(request, "Content-Type") == "application/json"
    assert header(request, "User-Agent") == "vms-webhooks/2"
    assert (delivery.state, delivery.attempts, delivery.response_code, delivery.last_error) == ("delivered", 1, 200, "")
    assert delivery.latency_ms is not None and delivery.body == request["body"]


def test_retries_5xx_with_back_off_under_the_same_delivery_id(tenant_a, cam_a, notify, receiver):
    with receiver("500,500,200") as hook, notify():
        subscription = Subscription.objects.create(tenant=tenant_a, url=hook.url)
        write(tenant_a, cam_a)
        requests = wait_for(lambda: len(hook.requests()) >= 3 and hook.requests(), what="three attempts")
        wait_for(lambda: Delivery.objects.filter(state="delivered").exists(), what="the delivered state")
        time.sleep(0.5)  # nothing more comes after the success
        assert len(hook.requests()) == 3

    assert len({header(r, "X-VMS-Delivery-Id") for r in requests}) == 1
    assert [header(r, "X-VMS-Attempt") for r in requests] == ["1", "2", "3"]
    for request in requests:  # each attempt signed afresh
        assert verify_signature(subscription.secret, header(request, "X-VMS-Signature"), request["body"].encode())
    assert len({r["body"] for r in requests}) == 1
    gaps = [b["at"] - a["at"] for a, b in pairwise(requests)]
    assert gaps[0] >= 0.2 * 0.5 and gaps[1] >= 0.4 * 0.5, gaps  # RETRY_BASE doubling, jitter at most halves it
    delivery = Delivery.objects.get(subscription=subscription)
    assert (delivery.state, delivery.attempts, delivery.response_code) == ("delivered", 3, 200)
    subscription.refresh_from_db()
    assert subscription.failing_since is None and subscription.enabled


def test_4xx_and_redirects_are_final_but_408_and_429_are_retried(tenant_a, cam_a, notify, receiver):
    with (
        receiver("404") as gone,
        receiver("302") as moved,
        receiver("429,408,200") as busy,
        notify(),
    ):
        subscriptions = {
            name: Subscription.objects.create(tenant=tenant_a, url=hook.url)
            for name, hook in {"gone": gone, "moved": moved, "busy": busy}.items()
        }
        write(tenant_a, cam_a)
        wait_for(lambda: len(busy.requests()) == 3, what="the 429 and 408 retried")
        wait_for(lambda: not Delivery.objects.filter(state="pending").exists(), what="every delivery settled")
        time.sleep(1)  # well past RETRY_MAX: a retry would have come
        assert (len(gone.requests()), len(moved.requests())) == (1, 1)

    outcome = {
        name: Delivery.objects.values_list("state", "attempts", "response_code", "last_error").get(subscription=s)
        for name, s in subscriptions.items()
    }
    assert outcome == {
        "gone": ("failed", 1, 404, "HTTP 404"),
        "moved": ("failed", 1, 302, "HTTP 302"),
        "busy": ("delivered", 3, 200, ""),
    }


def test_a_subscription_failing_past_the_threshold_is_disabled(tenant_a, cam_a, notify, receiver):
    with receiver("500") as hook, notify(VMS_WEBHOOK_DISABLE_AFTER="1", VMS_WEBHOOK_RETRY_MAX="0.3"):
        subscription = Subscription.objects.create(tenant=tenant_a, url=hook.url)
        write(tenant_a, cam_a)
        wait_for(lambda: not Subscription.objects.get(pk=subscription.pk).enabled, what="the subscription disabled")
        attempts = len(hook.requests())
        write(tenant_a, cam_a)  # not delivered any more
        time.sleep(1)
        assert len(hook.requests()) == attempts

    subscription.refresh_from_db()
    assert attempts >= 3
    assert subscription.disabled_reason.startswith("Disabled: failing since ")
    assert "HTTP 500" in subscription.disabled_reason and subscription.secret not in subscription.disabled_reason
    [delivery] = Delivery.objects.filter(subscription=subscription)
    assert (delivery.state, delivery.attempts, delivery.response_code) == ("failed", attempts, 500)


def test_filters_and_tenants(tenant_a, tenant_b, cam_a, notify, receiver):
    cam_a2 = CameraFactory(tenant=tenant_a, slug="cam-a2")
    cam_b = CameraFactory(tenant=tenant_b, slug="cam-b")
    with receiver() as hook, notify():
        for path, filters in {
            "any": {},
            "type": {"types": ["vehicle"]},
            "camera": {"camera_ids": ["cam-a2"]},
            "zone": {"zones": ["door", "gate"]},
            "alert": {"severity": "alert"},
            "all": {"types": ["person"], "camera_ids": ["cam-a"], "zones": ["door"], "severity": "detection"},
        }.items():
            Subscription.objects.create(tenant=tenant_a, url=f"{hook.url}/{path}", **filters)
        Subscription.objects.create(tenant=tenant_a, url=f"{hook.url}/disabled", enabled=False)
        Subscription.objects.create(tenant=tenant_b, url=f"{hook.url}/b")
        [door] = write(tenant_a, cam_a, payload={"zones": ["door"]})
        [car] = write(tenant_a, cam_a2, type="vehicle", severity="alert", payload={"zones": ["yard"]})
        [other] = write(tenant_b, cam_b, payload={"zones": ["door"]})
        wait_for(lambda: len(hook.requests()) >= 8, what="eight webhooks")
        time.sleep(0.5)

    got = {(r["path"].rsplit("/", 1)[-1], header(r, "X-VMS-Event-Id")) for r in hook.requests()}
    assert len(hook.requests()) == 8
    assert got == {
        ("any", door.id), ("any", car.id), ("type", car.id), ("camera", car.id), ("zone", door.id),
        ("alert", car.id), ("all", door.id), ("b", other.id),
    }  # fmt: skip


def test_a_slow_receiver_does_not_delay_another_tenant(tenant_a, tenant_b, cam_a, notify, receiver):
    cam_b = CameraFactory(tenant=tenant_b, slug="cam-b")
    # The receivers stop first, so the worker's shutdown need not wait out the slow drain.
    with notify(concurrency=4), receiver(delay=2) as slow, receiver() as fast:
        Subscription.objects.create(tenant=tenant_a, url=slow.url)
        Subscription.objects.create(tenant=tenant_b, url=fast.url)
        for _ in range(20):  # one by one, so several drains of A are asked for
            write(tenant_a, cam_a)
            time.sleep(0.05)
        wait_for(slow.requests, what="the slow receiver's first request")
        written = time.time()
        write(tenant_b, cam_b)
        [request] = wait_for(fast.requests, what="tenant B's webhook")
        wait_for(lambda: len(slow.requests()) >= 3, what="three slow deliveries")

    print(f"tenant B's webhook arrived {request['at'] - written:.2f} s after its event, behind 20 slow ones of A")
    assert request["at"] - written < 2, "tenant B waited behind tenant A's slow receiver"
    # One drain per subscription: the slow receiver never has two requests at once.
    arrivals = [r["at"] for r in slow.requests()]
    assert all(b - a >= 1.9 for a, b in pairwise(arrivals)), arrivals


def test_send_test_delivers_a_signed_test_event_whatever_the_filters(tenant_a, notify, receiver):
    """Even to a disabled subscription (to try it before enabling it again), which sends nothing else."""
    with receiver() as hook, notify(relay=False):
        subscription = Subscription.objects.create(
            tenant=tenant_a, url=hook.url, types=["vehicle"], camera_ids=["cam-x"], enabled=False
        )
        queued = Delivery.objects.create(
            subscription=subscription, event_id="evt-queued", body="{}", next_attempt_at=timezone.now()
        )
        delivery = webhooks.send_test(subscription)
        [request] = wait_for(hook.requests, what="the test webhook")
        time.sleep(0.3)
        assert len(hook.requests()) == 1

    queued.refresh_from_db()
    assert (queued.state, queued.attempts, queued.last_error) == ("failed", 0, "subscription disabled")

    assert verify_signature(subscription.secret, header(request, "X-VMS-Signature"), request["body"].encode())
    data = json.loads(request["body"])["data"]
    assert data["id"].startswith("evt-test-") and data["type"] == "test"
    assert (data["tenant_id"], data["camera_id"]) == (tenant_a.pk, "cam-x")
    assert header(request, "X-VMS-Delivery-Id") == str(delivery.id)
    assert Delivery.objects.get(pk=delivery.pk).state == "delivered"


def test_a_denied_target_is_never_contacted(tenant_a, cam_a, notify, receiver):
    """Checked before every attempt, not only when the subscription was saved (a name may resolve elsewhere)."""
    with receiver() as hook, notify(VMS_WEBHOOK_DENY_NETS="127.0.0.0/8,169.254.0.0/16"):
        local = Subscription.objects.create(tenant=tenant_a, url=hook.url)
        metadata = Subscription.objects.create(tenant=tenant_a, url="http://169.254.169.254/latest/meta-data")
        write(tenant_a, cam_a)
        wait_for(lambda: Delivery.objects.filter(state="failed").count() == 2, timeout=5, what="both refused")

    assert hook.requests() == []
    for subscription in (local, metadata):
        delivery = Delivery.objects.get(subscription=subscription)
        assert (delivery.attempts, delivery.response_code) == (1, None)
        assert delivery.last_error == "target host is not allowed"


def test_the_sweep_sends_what_no_message_announced(tenant_a, notify, receiver):
    """A delivery is durable in PostgreSQL: one whose drain message was lost goes out on the next sweep."""
    with receiver() as hook, notify(relay=False):
        subscription = Subscription.objects.create(tenant=tenant_a, url=hook.url)
        delivery = Delivery.objects.create(
            subscription=subscription, event_id="evt-lost", body='{"v":2}', next_attempt_at=timezone.now()
        )
        time.sleep(0.5)
        assert hook.requests() == []
        assert webhooks.sweep() == 1
        [request] = wait_for(hook.requests, what="the swept delivery")

    assert header(request, "X-VMS-Delivery-Id") == str(delivery.id)


def test_the_delivery_log_is_purged_after_its_days(tenant_a):
    subscription = Subscription.objects.create(tenant=tenant_a, url="https://hooks.example.com/")
    old, recent = Delivery.objects.bulk_create(
        [Delivery(subscription=subscription, event_id=f"evt-{n}", body="{}") for n in range(2)]
    )
    Delivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=DELIVERY_LOG_DAYS, hours=1))

    assert purge_delivery_log(batch_size=1) == 1
    assert list(Delivery.objects.values_list("pk", flat=True)) == [recent.pk]


@contextmanager
def forward_proxy():
    """A real HTTP forward proxy in a thread of this process: it passes each POST on to its absolute URL and keeps
    the URLs it was asked for (`.seen`); `.url` is its address."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            seen.append(self.path)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            target = urlsplit(self.path)
            upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "proxy-connection")}
            upstream.request("POST", target.path, body=body, headers=headers)
            answer = upstream.getresponse()
            answer.read()
            upstream.close()
            self.send_response(answer.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}", seen=seen)
    finally:
        server.shutdown()
        server.server_close()


def test_deliveries_go_through_the_environment_proxy_unless_no_proxy_names_the_host(tenant_a, cam_a, notify, receiver):
    with forward_proxy() as proxy, receiver() as hook:
        Subscription.objects.create(tenant=tenant_a, url=hook.url)
        with notify(HTTP_PROXY=proxy.url):
            [through_proxy] = write(tenant_a, cam_a)
            wait_for(hook.requests, what="the webhook through the proxy")
        assert proxy.seen == [hook.url]

        with notify(HTTP_PROXY=proxy.url, NO_PROXY="127.0.0.1"):
            [direct] = write(tenant_a, cam_a)
            wait_for(lambda: len(hook.requests()) == 2, what="the webhook sent directly")
        assert proxy.seen == [hook.url]  # not asked again

    assert [header(r, "X-VMS-Event-Id") for r in hook.requests()] == [through_proxy.id, direct.id]

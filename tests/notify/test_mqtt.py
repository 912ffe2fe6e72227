"""MQTT: the real relay process publishes to a private Mosquitto broker, and real MQTT clients subscribe."""

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from cameras.models import Camera, StatusChange
from events.models import CameraHealth, Event
from events.notify import mqtt as mqtt_sink
from events.notify.mqtt import BrokerUnavailable, MqttSink
from events.serializers import event_envelope, iso_ms
from events.services import create_events

from ..factories import CameraFactory
from ..mosquitto import Mosquitto
from ..processes import child_env, running_relay

PASSWORD = "pa@ss:w0rd"  # written %-encoded in the URL
RELAY_USER = {"relay": PASSWORD}


class Subscriber:
    """A real MQTT client subscribed (QoS 1) to `topics`, keeping every message it gets. With a `client_id` its
    session is persistent: the broker queues what it misses while away, a broker restart included."""

    def __init__(self, broker: Mosquitto, topics: list[str], client_id: str = "") -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not client_id)
        self.client.username_pw_set("relay", PASSWORD)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = lambda client, *_: client.subscribe([(name, 1) for name in topics])
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "the subscriber did not get its subscription"

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def wait_for(self, count: int, kind: str = "events", timeout: float = 15, distinct: bool = False):
        """The messages on `…/<kind>` topics once `count` have come; `distinct` counts a message redelivered
        (at least once, e.g. across a broker restart) only once."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.on(kind, distinct)) >= count, timeout)
            found = self.on(kind, distinct)
        assert len(found) >= count, f"{len(found)} of {count} {kind} messages came: {[m.topic for m in found]}"
        return found

    def on(self, kind: str, distinct: bool = False) -> list[mqtt.MQTTMessage]:
        found = [m for m in self.messages if m.topic.endswith(f"/{kind}")]
        if distinct:
            firsts = {(m.topic, m.payload): m for m in reversed(found)}
            found = [m for m in found if firsts[m.topic, m.payload] is m]
        return found

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker(tmp_path):
    broker = Mosquitto(tmp_path, users=RELAY_USER)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def subscribers():
    """Makes Subscribers, closed at the end of the test."""
    made: list[Subscriber] = []

    def make(*args, **kwargs) -> Subscriber:
        made.append(Subscriber(*args, **kwargs))
        return made[-1]

    yield make
    for subscriber in made:
        subscriber.close()


def relay_url(broker: Mosquitto) -> str:
    return f"mqtt://relay:pa%40ss%3Aw0rd@127.0.0.1:{broker.port}"


def person(camera: Camera, count: int = 1) -> list[dict]:
    return [{"camera_id": camera.slug, "type": "person", "confidence": 0.9}] * count


@pytest.mark.django_db(transaction=True)
def test_events_reach_their_tenants_topics_and_later_subscribers_get_each_cameras_status(
    tmp_path, broker, subscribers, tenant_a, tenant_b
):
    cam_a = CameraFactory(tenant=tenant_a, slug="cam-a")  # offline since added, no health told yet
    cam_c = CameraFactory(tenant=tenant_a, slug="cam-c", status=Camera.Status.ONLINE)
    came_online = StatusChange.objects.create(camera=cam_c, status=Camera.Status.ONLINE)
    cam_b = CameraFactory(tenant=tenant_b, slug="cam-b", status=Camera.Status.ONLINE)
    cam_b_since = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    CameraHealth.objects.create(camera=cam_b, reported=Camera.Status.ONLINE, since=cam_b_since)
    everything = subscribers(broker, ["vms/#"])
    only_b = subscribers(broker, ["vms/tenant-b/#"])
    log = tmp_path / "relay.log"
    with running_relay(log, VMS_MQTT_URL=relay_url(broker)):
        offline = {"camera_id": cam_a.slug, "type": "camera_offline", "confidence": 1.0, "payload": {"reason": "x"}}
        written = create_events(tenant_a, [*person(cam_a, 3), offline]) + create_events(tenant_b, person(cam_b, 2))
        got = everything.wait_for(6)
        later = subscribers(broker, ["vms/+/+/status"])
        statuses = later.wait_for(3, "status")

    stored = Event.objects.in_bulk([e.id for e in written])
    by_seq = sorted(stored.values(), key=lambda e: e.seq)
    assert [(m.topic, m.payload, m.qos) for m in got] == [
        (f"vms/{e.tenant_id}/{e.camera_id}/events", event_envelope(e), 1) for e in by_seq
    ], "every event, on its tenant's and camera's topic, in its tenant's order, once"
    assert [json.loads(m.payload)["data"]["id"] for m in only_b.on("events")] == [e.id for e in by_seq[4:]]
    assert all(m.topic.startswith("vms/tenant-b/") for m in only_b.messages), "another tenant's topics leaked"

    assert all(m.retain for m in statuses)
    assert {m.topic: json.loads(m.payload) for m in statuses} == {
        # the camera_offline event's status replaced the one published on connect (the camera's own)
        "vms/tenant-a/cam-a/status": {"camera_id": "cam-a", "status": "offline", "since": iso_ms(by_seq[3].ts)},
        "vms/tenant-a/cam-c/status": {"camera_id": "cam-c", "status": "online", "since": iso_ms(came_online.at)},
        "vms/tenant-b/cam-b/status": {"camera_id": "cam-b", "status": "online", "since": iso_ms(cam_b_since)},
    }
    on_connect = next(m for m in everything.on("status") if m.topic == "vms/tenant-a/cam-a/status")
    assert json.loads(on_connect.payload)["since"] == iso_ms(cam_a.created_at), "a camera never told: since created"

    output = log.read_text()
    assert f"connected to the MQTT broker mqtt://relay:***@127.0.0.1:{broker.port}" in output
    assert "pa%40ss" not in output and PASSWORD not in output


@pytest.mark.django_db(transaction=True)
def test_a_broker_restart_loses_no_event(tmp_path, broker, subscribers, tenant_a):
    camera = CameraFactory(tenant=tenant_a, slug="cam-a")
    subscriber = subscribers(broker, ["vms/+/+/events"], client_id="restart-test")
    log = tmp_path / "relay.log"
    with running_relay(log, VMS_MQTT_URL=relay_url(broker)):
        before = create_events(tenant_a, person(camera, 3))
        subscriber.wait_for(3)
        broker.stop()
        while_down = create_events(tenant_a, person(camera, 2)) + create_events(tenant_a, person(camera, 3))
        deadline = time.monotonic() + 10
        while "connection lost" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        restarted = time.monotonic()
        broker.start()
        got = subscriber.wait_for(8, timeout=30, distinct=True)
        caught_up_s = time.monotonic() - restarted

    ids = [json.loads(m.payload)["data"]["id"] for m in got]
    assert set(ids) == {e.id for e in before + while_down}, "an event written while the broker was down is lost"
    assert ids[3:] == [e.id for e in while_down], "the backlog went out out of order"
    assert "connection lost" in log.read_text(), "the relay did not notice the broker was gone"
    print(f"caught up {caught_up_s:.1f} s after the broker restarted")


def test_a_standby_relay_stays_off_the_broker(db, broker):
    """Relays share the deployment's client id, and a broker lets in one client of an id: only the relay handed
    events (the one holding the relay lease) connects, so a standby does not push it off."""
    active, standby = MqttSink(relay_url(broker)), MqttSink(relay_url(broker))
    try:
        active.handle([])  # connects
        time.sleep(1.5)  # longer than paho's first reconnect delay: a pushed-off client would be back by now
        assert active.client.is_connected() and not standby.client.is_connected()
        assert broker.log.read_text().count("New client connected") == 1
    finally:
        active.close()
        standby.close()


def test_a_batch_the_broker_does_not_acknowledge_in_time_goes_again(db, broker, monkeypatch, tenant_a, camera_a):
    """handle() returns only once the broker acknowledged (PUBACK) every message; else it raises, so the relay keeps
    its cursor and hands the batch on again."""
    monkeypatch.setattr(mqtt_sink, "PUBACK_TIMEOUT_S", 0.5)
    events = create_events(tenant_a, person(camera_a, 3))
    sink = MqttSink(relay_url(broker))
    try:
        sink.handle([])  # connected
        broker.proc.send_signal(signal.SIGSTOP)  # a hung broker: the connection stays up, nothing is acknowledged
        try:
            with pytest.raises(BrokerUnavailable, match="did not acknowledge"):
                sink.handle(events)
        finally:
            broker.proc.send_signal(signal.SIGCONT)
        sink.handle(events)
    finally:
        sink.close()


def test_a_bad_url_stops_the_relay_at_start_without_showing_the_password(db):
    for url in ["http://127.0.0.1", "mqtt://", "mqtt://host/path", "mqtt://host:99999", "mqtt://u:s3cret@h:x"]:
        with pytest.raises(ImproperlyConfigured, match="VMS_MQTT_URL") as error:
            MqttSink(url)
        assert "s3cret" not in str(error.value)
    argv = [sys.executable, "manage.py", "run_relay"]
    env = child_env("relay", VMS_MQTT_URL="mqtts://user:s3cret@broker.example:port")
    done = subprocess.run(argv, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "VMS_MQTT_URL" in done.stderr and "s3cret" not in done.stderr + done.stdout


@pytest.mark.django_db(transaction=True)
def test_a_deleted_cameras_retained_status_is_cleared(tmp_path, broker, subscribers, tenant_a):
    """Deleted while the relay runs, or while it was away: its retained status goes (an empty retained message),
    so a client that subscribes later is not told of a camera that is gone."""
    kept, deleted, deleted_while_away = (CameraFactory(tenant=tenant_a, slug=slug) for slug in ("kept", "gone", "away"))
    watcher = subscribers(broker, ["vms/+/+/status"])

    def cleared(slug: str) -> bool:
        return any(m.topic == f"vms/tenant-a/{slug}/status" and m.payload == b"" for m in list(watcher.messages))

    with running_relay(tmp_path / "relay.log", VMS_MQTT_URL=relay_url(broker)):
        create_events(tenant_a, person(kept))  # the relay connects once handed events, and publishes every status
        watcher.wait_for(3, "status")
        deleted.delete()
        deadline = time.monotonic() + 10
        while not cleared("gone") and time.monotonic() < deadline:
            time.sleep(0.05)
    deleted_while_away.delete()
    with running_relay(tmp_path / "relay-2.log", VMS_MQTT_URL=relay_url(broker)):
        create_events(tenant_a, person(kept))
        deadline = time.monotonic() + 10
        while not cleared("away") and time.monotonic() < deadline:
            time.sleep(0.05)
        later = subscribers(broker, ["vms/+/+/status"])
        time.sleep(0.5)  # retained messages come right after the subscription

    assert cleared("gone"), "the status of a camera deleted while the relay ran is still retained"
    assert cleared("away"), "the status of a camera deleted while the relay was away is still retained"
    assert [m.topic for m in later.messages] == ["vms/tenant-a/kept/status"]


@pytest.mark.django_db(transaction=True)
def test_topics_take_the_configured_prefix(tmp_path, broker, subscribers, tenant_a):
    camera = CameraFactory(tenant=tenant_a, slug="cam-a")
    prefixed, bare = subscribers(broker, ["site-1/vms/#"]), subscribers(broker, ["vms/#"])
    with running_relay(tmp_path / "relay.log", VMS_MQTT_URL=relay_url(broker), VMS_MQTT_TOPIC_PREFIX="site-1/"):
        [event] = create_events(tenant_a, person(camera))
        [message] = prefixed.wait_for(1)
        prefixed.wait_for(1, "status")

    assert (message.topic, json.loads(message.payload)["data"]["id"]) == ("site-1/vms/tenant-a/cam-a/events", event.id)
    assert [m.topic for m in prefixed.on("status")] == ["site-1/vms/tenant-a/cam-a/status"]
    assert bare.messages == []


def test_a_prefix_with_a_wildcard_stops_the_relay_at_start(db):
    argv = [sys.executable, "manage.py", "run_relay"]
    for prefix in ("site/+", "#", "a//b"):
        env = child_env("relay", VMS_MQTT_URL="mqtt://127.0.0.1:1", VMS_MQTT_TOPIC_PREFIX=prefix)
        done = subprocess.run(argv, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and "VMS_MQTT_TOPIC_PREFIX" in done.stderr, prefix

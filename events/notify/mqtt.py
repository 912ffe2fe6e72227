"""The MQTT publisher (VMS_MQTT_URL), a relay sink: every event to `vms/<tenant>/<camera>/events` (QoS 1), and each
camera's status, retained, to `vms/<tenant>/<camera>/status` (VMS_MQTT_TOPIC_PREFIX goes before `vms/`); a deleted
camera's retained status is cleared.

Events go out from the relay's durable cursor, not from memory: a batch counts as sent only once the broker has
acknowledged every message of it (PUBACK), so a broker that is down or restarts loses nothing; a batch cut off
half-way is sent again whole (at least once).
"""

import json
import logging
import ssl
import threading
import time
from datetime import datetime
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce

from cameras.models import Camera, StatusChange
from cameras.rtsp import mask_credentials

from ..models import CameraHealth, Event
from ..serializers import event_envelope, iso_ms

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
KEEPALIVE_S = 30
PUBACK_TIMEOUT_S = 10.0  # a batch whose acknowledgements take longer goes out again later
CONNECT_WAIT_S = 5.0  # how long the first batch waits for the connection it starts
RECONNECT_MAX_S = 30
# Unacknowledged messages on the wire: paho's default, 20 per round trip to the broker, is 1.3x slower even on
# localhost (3,300-3,900 against 4,500 events/s), and slower still the farther the broker.
MAX_INFLIGHT = 100
CLEAR_EVERY_S = 5.0  # how often the relay's tick looks for deleted cameras whose status the broker still retains
STATUS_OF = {"camera_offline": Camera.Status.OFFLINE, "camera_online": Camera.Status.ONLINE}


class BrokerUnavailable(ConnectionError):
    """The batch did not reach the broker; the relay keeps its cursor and tries again."""


def topic(tenant_id: str, camera_id: str, kind: str) -> str:
    prefix = settings.VMS_MQTT_TOPIC_PREFIX
    return f"{prefix}/vms/{tenant_id}/{camera_id}/{kind}" if prefix else f"vms/{tenant_id}/{camera_id}/{kind}"


def status_message(camera_id: str, status: str, since: datetime) -> bytes:
    return json.dumps({"camera_id": camera_id, "status": status, "since": iso_ms(since)}).encode()


class MqttSink:
    """Publishes the relay's events to one broker; `url` is `mqtt[s]://[user[:password]@]host[:port]`.

    The client id is the deployment's (VMS_REDIS_PREFIX), and a broker lets one client of an id in, so the sink
    connects only once it is first handed events, that is once its relay holds the relay lease: a standby relay
    stays off the broker instead of the two relays taking turns to push each other off.
    """

    name = "mqtt"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError as exc:
            raise ImproperlyConfigured(f"VMS_MQTT_URL: {exc}: {mask_credentials(url)}") from exc
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise ImproperlyConfigured(
                f"VMS_MQTT_URL must be mqtt[s]://[user[:password]@]host[:port], not {mask_credentials(url)}"
            )
        self.host, self.port = parts.hostname, port or DEFAULT_PORTS[parts.scheme]
        self.shown_url = mask_credentials(url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{settings.VMS_REDIS_PREFIX}-relay")
        if parts.username is not None:
            self.client.username_pw_set(unquote(parts.username), unquote(parts.password or "") or None)
        if parts.scheme == "mqtts":
            self.client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        self.client.max_inflight_messages_set(MAX_INFLIGHT)
        self.client.reconnect_delay_set(min_delay=1, max_delay=RECONNECT_MAX_S)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._connected = threading.Event()
        self._started_at: float | None = None
        # The status topics the broker retains, as far as known: those this sink published, and those its
        # subscription to every status topic was told of (a previous relay's too).
        self._retained: set[str] = set()
        self._cleared_at = 0.0

    def handle(self, events: list[Event]) -> None:
        if self._started_at is None:
            self._started_at = time.monotonic()
            self.client.connect_async(self.host, self.port, KEEPALIVE_S)
            self.client.loop_start()  # paho's network thread: connects, and reconnects with back-off
        if not self._connected.wait(max(0.0, self._started_at + CONNECT_WAIT_S - time.monotonic())):
            raise BrokerUnavailable(f"not connected to the MQTT broker {self.shown_url}")
        sent = []
        for event in events:
            sent.append(self._publish(topic(event.tenant_id, event.camera_id, "events"), event_envelope(event)))
            if status := STATUS_OF.get(event.type):
                sent.append(self._publish_status(event.tenant_id, event.camera_id, status, event.ts))
        deadline = time.monotonic() + PUBACK_TIMEOUT_S
        for message in sent:
            if message.rc == mqtt.MQTT_ERR_SUCCESS:
                message.wait_for_publish(max(0.0, deadline - time.monotonic()))
            if not message.is_published():
                raise BrokerUnavailable(f"the MQTT broker {self.shown_url} did not acknowledge the events in time")

    def close(self) -> None:
        """Disconnect cleanly; a later handle() connects again."""
        self.client.disconnect()
        self.client.loop_stop()
        self._started_at = None

    def _publish(self, name: str, payload: bytes, retain: bool = False) -> mqtt.MQTTMessageInfo:
        return self.client.publish(name, payload, qos=1, retain=retain)

    def _publish_status(self, tenant_id: str, camera_id: str, status: str, since: datetime) -> mqtt.MQTTMessageInfo:
        name = topic(tenant_id, camera_id, "status")
        self._retained.add(name)
        return self._publish(name, status_message(camera_id, status, since), True)

    def clear_deleted_cameras(self) -> int:
        """The relay's tick: an empty retained message (which deletes a retained one) to each status topic of a
        camera that no longer exists, every CLEAR_EVERY_S while connected; returns how many."""
        if not self._connected.is_set() or time.monotonic() - self._cleared_at < CLEAR_EVERY_S:
            return 0
        self._cleared_at = time.monotonic()
        known = self._retained.copy()  # first: a camera added after the query below has no topic in it
        cameras = Camera.objects.values_list("tenant_id", "slug")
        gone = known - {topic(tenant_id, camera_id, "status") for tenant_id, camera_id in cameras.iterator()}
        for name in gone:
            self._publish(name, b"", retain=True)
            self._retained.discard(name)
        return len(gone)

    def publish_statuses(self) -> int:
        """Every camera's status as the last health event told it (else its own, since its last change or since it
        was added); returns how many."""
        health = CameraHealth.objects.filter(camera=OuterRef("pk"))
        last_change = StatusChange.objects.filter(camera=OuterRef("pk")).order_by("-at").values("at")[:1]
        cameras = Camera.objects.annotate(
            told=Coalesce(Subquery(health.values("reported")), "status"),
            told_since=Coalesce(Subquery(health.values("since")), Subquery(last_change), "created_at"),
        ).values_list("tenant_id", "slug", "told", "told_since")
        for tenant_id, camera_id, status, since in cameras:
            self._publish_status(tenant_id, camera_id, status, since)
        return len(cameras)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            logger.warning("MQTT broker %s refused the connection: %s", self.shown_url, reason_code)
            return
        # In paho's thread, before any batch can go (handle waits for _connected). A status read here may be newer
        # than a health event still waiting in the relay's backlog, but the backlog's newest health event of each
        # camera is the one this read found (health writes the event and CameraHealth together), so the retained
        # status ends at the newest.
        client.subscribe(topic("+", "+", "status"), qos=1)  # the broker answers with every retained status
        try:
            count = self.publish_statuses()
        except Exception:
            logger.warning("MQTT: cannot read the camera statuses to publish", exc_info=True)
            count = 0
        finally:
            connection.close()  # this thread's own database connection
        logger.info("connected to the MQTT broker %s; published the status of %d cameras", self.shown_url, count)
        self._connected.set()

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        if message.payload:
            self._retained.add(message.topic)
        else:  # cleared, by this sink or another client
            self._retained.discard(message.topic)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_connected = self._connected.is_set()  # not a refused attempt, already logged
        self._connected.clear()
        if was_connected and reason_code.is_failure:  # not our own close()
            logger.warning("MQTT broker %s connection lost (%s); reconnecting", self.shown_url, reason_code)

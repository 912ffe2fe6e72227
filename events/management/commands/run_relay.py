"""The notification relay process (the Procfile's `relay`): webhooks, MQTT when VMS_MQTT_URL is set, the sinks of
apps above events (VMS_RELAY_SINKS: watch lists), and camera health events. Stops on SIGTERM/SIGINT after the pass
it is in."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from events.notify.health import check_cameras
from events.notify.mqtt import MqttSink
from events.notify.relay import Relay, Sink
from events.notify.webhooks import WebhookSink


class Command(BaseCommand):
    help = "Run the notification relay: hand stored events to webhooks and MQTT, and report camera health."

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        sinks: list[Sink] = [WebhookSink(), *(import_string(path)() for path in settings.VMS_RELAY_SINKS.values())]
        ticks = [check_cameras]
        if settings.VMS_MQTT_URL:
            mqtt = MqttSink(settings.VMS_MQTT_URL)
            sinks.append(mqtt)
            ticks.append(mqtt.clear_deleted_cameras)
        Relay(sinks, tick=lambda: [tick() for tick in ticks]).run(stop)

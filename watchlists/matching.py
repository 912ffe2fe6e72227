"""The relay's watch-list sink: every stored event is checked against its tenant's watch lists, and each match
becomes a `watchlist_match` alert event naming the list, the entry and the event that triggered it. Running as a
sink (events.notify.relay) gives matching the relay's guarantees: each tenant's events in commit order, from a
durable cursor that moves in the transaction that writes the alerts, so a crash neither loses nor doubles one. The
alerts are events like any other: the console, WebSocket, webhooks, MQTT and Kalay get them as they get the rest.
"""

from collections import defaultdict

from django.utils import timezone

from events.models import Event, Severity
from events.services import create_events
from tenants.models import Tenant

from .entries import matches
from .models import WatchList

MATCH_TYPE = "watchlist_match"
WATCHED_TYPES = frozenset({"person", "vehicle", "license_plate"})


def _alert(event: Event, watchlist: WatchList, entry: dict) -> dict:
    return {
        "camera_id": event.camera_id,
        "type": MATCH_TYPE,
        "confidence": event.confidence,
        "payload": {"watchlist": watchlist.name, "watchlist_id": watchlist.pk, "entry": entry, "event_id": event.id},
        "trace_id": event.trace_id,  # the alert and its event are one detection's
        "severity": Severity.ALERT,
        "ts": event.ts,
        # By id: a name may hold spaces, which a tag may not (Kalay's filter splits on them), and may change.
        "tags": [f"watchlist-{watchlist.pk}"],
    }


class WatchlistSink:
    name = "watchlists"

    def handle(self, events: list[Event]) -> None:
        watched = [event for event in events if event.type in WATCHED_TYPES]
        if not watched:
            return
        lists = defaultdict(list)
        for watchlist in WatchList.objects.filter(tenant_id__in={e.tenant_id for e in watched}).exclude(entries=[]):
            lists[watchlist.tenant_id].append(watchlist)
        now = timezone.now()
        alerts = defaultdict(list)
        for event in watched:
            for watchlist in lists[event.tenant_id]:
                alerts[event.tenant_id] += [
                    _alert(event, watchlist, entry)
                    for entry in watchlist.entries
                    if matches(entry, event.type, event.camera_id, event.payload, now)
                ]
        for tenant in Tenant.objects.filter(pk__in=[tenant_id for tenant_id, found in alerts.items() if found]):
            # A camera deleted since its event was stored takes its alerts with it (an event names an existing one).
            cameras = set(tenant.cameras.values_list("slug", flat=True))
            if kept := [alert for alert in alerts[tenant.pk] if alert["camera_id"] in cameras]:
                create_events(tenant, kept)

    def close(self) -> None:
        """Nothing to let go: matching only reads and writes the database."""

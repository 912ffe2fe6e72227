"""WS /v2/ws/events?token=<jwt>[&camera_id=<id>][&zone=<name>][&severity=alert|detection][&color=<name>]
[&upper_color=<name>][&lower_color=<name>][&plate=<text>][&after=<event id>]: every new event of the token's tenant
(only those that match the filters given, as GET /v2/api/events matches them), as {"v":2,"data":{…}}; and, for a token
that may read exports (playback:read, as GET /v2/api/exports), the tenant's export jobs' progress as
{"type":"export","data":{…}}. A filter GET /v2/api/events refuses gets its message as {"type":"error","detail":…}
and close code 4400.

`after` resumes a feed: first the tenant's events committed after that one (matching the filters, oldest first, at
most REPLAY_LIMIT of those created within REPLAY_WINDOW), then {"type":"replay","after":<id>,"count":n,
"complete":false when older ones were left out}, then the live feed, with no event twice and none missed between
them. An `after` that names no event of the tenant gets {"type":"error","detail":…} and close code 4404 (4400 when it
cannot be an event id at all); the client connects again without it."""

import json
import time
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db.models import Subquery
from django.utils import timezone

from tenants.api.errors import first_message
from tenants.catalogue import EVENTS_READ, PLAYBACK_READ
from tenants.gate import TenantPrincipal
from tenants.groups import tenant_group
from tenants.sockets import TokenSocket

from .api.serializers import EventQuerySerializer
from .models import Event
from .search import SEARCH_FILTERS, filter_events, wanted
from .serializers import event_json
from .services import storable

FILTERS = ("camera_id", "zone", "severity", *SEARCH_FILTERS)
REPLAY_LIMIT = 1000
REPLAY_WINDOW = timedelta(hours=1)
# How long a replayed event's own live message may still be on its way: it was committed before the replay's query,
# and its writer publishes it right after the commit (events.realtime), so far less than this.
REPLAY_OVERLAP_S = 30.0
CLOSE_BAD_REQUEST = 4400
CLOSE_UNKNOWN_AFTER = 4404


@database_sync_to_async
def _events_after(principal: TenantPrincipal, after: str, filters: dict) -> tuple[list[dict], bool] | None:
    """The tenant's events after `after` as JSON (those passing the validated `filters` given), oldest first, and
    whether none was left out; None when `after` is not the tenant's. One query: the anchor's row, united with the
    newest REPLAY_LIMIT + 1 events after it (read backwards on the (tenant, seq) index, so it stops there); those
    older than REPLAY_WINDOW are left out here."""
    events = Event.objects.for_principal(principal)
    anchor = events.filter(pk=after).order_by()
    newer = events.filter(seq__gt=Subquery(anchor.values("seq")))
    if "camera_id" in filters:
        newer = newer.filter(camera_id=filters["camera_id"])
    if "zone" in filters:
        newer = newer.filter(payload__zones__contains=[filters["zone"]])
    if "severity" in filters:
        newer = newer.filter(severity=filters["severity"])
    newer = filter_events(newer, filters)
    rows = list(anchor.union(newer.order_by("-seq")[: REPLAY_LIMIT + 1], all=True))
    if not any(row.pk == after for row in rows):
        return None
    newest = [row for row in rows if row.pk != after]
    cutoff = timezone.now() - REPLAY_WINDOW
    replay = [row for row in newest[:REPLAY_LIMIT] if row.created >= cutoff]
    return [event_json(row) for row in reversed(replay)], len(replay) == len(newest)


def _json_type(text: str) -> str | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message.get("type") if isinstance(message, dict) else None


class EventsConsumer(TokenSocket, AsyncJsonWebsocketConsumer):
    """Authenticates before accepting, joins `tenant.<id>`, replays what a resuming client missed, forwards that
    group's events (those matching the connection's filters)."""

    group: str | None = None
    filters: dict  # the validated filters given (those absent are no filter)
    reads_exports = False
    caller: TenantPrincipal | None = None  # whose feed it is: a principal limited to some cameras gets theirs only
    # Ids of replayed events whose live message may still come (dropped then), until `replayed_until`.
    replayed: set[str] | None = None
    replayed_until = 0.0

    async def connect(self) -> None:
        query = self.query()
        principal = await self.principal(EVENTS_READ)
        if principal is None:
            await self.close()  # before accept: the handshake is refused with HTTP 403
            return
        # An empty filter (`?zone=`) counts as absent, and a filter is checked as GET /v2/api/events checks it.
        given = EventQuerySerializer(data={key: value for key in FILTERS if (value := query.get(key, [""])[0])})
        if not given.is_valid():
            await self.refuse(CLOSE_BAD_REQUEST, first_message(given.errors))
            return
        self.filters = {key: value for key, value in given.validated_data.items() if key in FILTERS}
        after = query.get("after", [""])[0] or None
        if after is not None and (len(after) > Event._meta.pk.max_length or not storable(after)):
            await self.refuse(CLOSE_BAD_REQUEST, "`after` is not an event id.")
            return
        self.reads_exports = principal.has(PLAYBACK_READ)
        self.caller = principal
        self.group = tenant_group(principal.tenant_id)
        # Joined before the replay's query: an event committed after the query is published after the join, so it
        # comes live; one committed before is in the replay, and its live message (if it still comes) is dropped.
        await self.channel_layer.group_add(self.group, self.channel_name)
        if after is not None and (found := await _events_after(principal, after, self.filters)) is None:
            await self.refuse(CLOSE_UNKNOWN_AFTER, f"No event '{after}' in this tenant.")
            return
        await self.accept_until_expiry(principal)
        if after is not None:
            replay, complete = found
            for event in replay:
                await self.send_json({"v": 2, "data": event})
            await self.send_json({"type": "replay", "after": after, "count": len(replay), "complete": complete})
            self.replayed = {event["id"] for event in replay}
            self.replayed_until = time.monotonic() + REPLAY_OVERLAP_S

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        """Keepalive: a client's "ping" (text or {"type":"ping"}) gets {"type":"pong"}; the rest is ignored."""
        if text_data is not None and (text_data.strip() == "ping" or _json_type(text_data) == "ping"):
            # channels-redis drops group members after group_expiry (a day); a pinging client stays in.
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.send_json({"type": "pong"})

    def _wanted(self, event: dict) -> bool:
        zones = event["payload"].get("zones")  # a list, unless an ingesting client sent something else
        camera_id, zone, severity = (self.filters.get(key) for key in ("camera_id", "zone", "severity"))
        return (
            self.caller.sees_camera(event["camera_id"])
            and (camera_id is None or event["camera_id"] == camera_id)
            and (severity is None or event["severity"] == severity)
            and (zone is None or (isinstance(zones, list) and zone in zones))
            and wanted(event, self.filters)
        )

    def _replayed(self, event: dict) -> bool:
        """Whether the event went out in the replay (each event's live message comes once: forgotten then)."""
        if self.replayed is not None and time.monotonic() > self.replayed_until:
            self.replayed = None
        if not self.replayed or event["id"] not in self.replayed:
            return False
        self.replayed.discard(event["id"])
        return True

    async def export_progress(self, message: dict) -> None:
        """An export job of the tenant changed (state, progress): {"type": "export", "data": <job>}. Only to a token
        that may read exports: a job names cameras and ranges, and a done one holds signed download URLs."""
        export = message["export"]
        if self.reads_exports and all(self.caller.sees_camera(file["camera_id"]) for file in export["files"]):
            await self.send_json({"type": "export", "data": export})

    async def events_created(self, message: dict) -> None:
        for event in message["events"]:
            if self._wanted(event) and not self._replayed(event):
                await self.send_json({"v": 2, "data": event})

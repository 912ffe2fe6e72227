"""Event rows as the Kalay API shows them: its GraphQL types, and a presenter that computes only what is asked.

A page is read with `values_list(named=True)` over just the columns the selected fields need (model instances
and unused timestamp columns cost more than the rest of the page), and each selected field is computed from
its row: times as `YYYY-MM-DD HH:MM:SS` UTC, thumbnail and url as absolute links signed for the tenant.
`url` plays the event's hour, so only a token with `playback:read` gets one (null otherwise).
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import strawberry
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from strawberry.types.nodes import SelectedField, Selection

from events.models import Event as EventRow
from events.serializers import signed_snapshot_url
from playback.paths import hour_parts, hour_url
from playback.signing import signed_url
from tenants.catalogue import PLAYBACK_READ
from tenants.gate import TenantPrincipal

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)


def as_text(moment: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` in UTC."""
    return moment.astimezone(UTC).isoformat(" ", "seconds")[:19]


def as_epoch_ms(moment: datetime) -> str:
    # Integer arithmetic: float seconds * 1000 can land one millisecond low.
    return str((moment - EPOCH) // ONE_MS)


@strawberry.type
class Event:
    # Every field defaults to None: the presenter fills only the selected ones, the rest are never sent.
    pk: str | None = None
    created: str | None = None
    updated: str | None = None
    device: str | None = None
    account: str | None = None
    start_time: str | None = None
    start_time_ts: str | None = None
    expires: str | None = None
    thumbnail: str | None = None
    url: str | None = None
    event_type: int | None = None
    contract: str | None = None
    is_archieve: bool | None = None
    event_id: int | None = None


@strawberry.type
class ArchievedEvent:
    device: str | None
    events: list[Event | None] | None


class EventPresenter:
    """Builds API Events from rows of `columns`, filling the `wanted` fields (unknown names are ignored)."""

    def __init__(self, request: HttpRequest, principal: TenantPrincipal, wanted: Iterable[str]) -> None:
        tenant = principal.tenant
        self.tenant_id = tenant.id
        self.can_play = principal.has(PLAYBACK_READ)
        self.origin = request.build_absolute_uri("/").removesuffix("/")
        self.contract = f"event-retention-{tenant.event_retention_days}d"
        self.now = timezone.now()
        self.hour_links: dict[tuple[str, datetime], str] = {}
        self.fields = [(name, FIELDS[name][1]) for name in sorted(set(wanted) & FIELDS.keys())]
        # camera_id is always read: the archived list groups by it.
        self.columns = sorted({"camera_id", *(column for name, _ in self.fields for column in FIELDS[name][0])})

    def hour_link(self, camera_id: str, moment: datetime) -> str:
        """The absolute, signed URL of the playlist of the camera's hour at `moment`; made once for the page's
        events of that hour (they are many to an hour)."""
        key = (camera_id, moment.replace(minute=0, second=0, microsecond=0))
        if key not in self.hour_links:
            self.hour_links[key] = self.origin + signed_url(hour_url(camera_id, *hour_parts(moment)), self.tenant_id)
        return self.hour_links[key]

    def absolute(self, url: str) -> str:
        """A path of this site made absolute; an off-site URL (or "") as it is."""
        return self.origin + url if url.startswith("/") else url

    def rows(self, events: QuerySet[EventRow]) -> QuerySet:
        return events.values_list(*self.columns, named=True)

    def __call__(self, row: Any) -> Event:
        return Event(**{name: compute(self, row) for name, compute in self.fields})


# Each field of an API Event: the columns it reads and how it is computed from a row.
FIELDS: dict[str, tuple[tuple[str, ...], Callable[[EventPresenter, Any], Any]]] = {
    "pk": (("id",), lambda p, row: row.id),
    "created": (("created",), lambda p, row: as_text(row.created)),
    "updated": (("updated",), lambda p, row: as_text(row.updated)),
    "device": (("camera_id",), lambda p, row: row.camera_id),
    "account": ((), lambda p, row: p.tenant_id),
    "start_time": (("ts",), lambda p, row: as_text(row.ts)),
    "start_time_ts": (("ts",), lambda p, row: as_epoch_ms(row.ts)),
    "expires": (("expires",), lambda p, row: as_text(row.expires)),
    "thumbnail": (("tenant_id", "snapshot", "snapshot_url"), lambda p, row: p.absolute(signed_snapshot_url(row))),
    "url": (
        ("camera_id", "ts"),
        lambda p, row: p.hour_link(row.camera_id, row.ts) if p.can_play else None,
    ),
    # One numeric classification exists (the category), so both fields carry it.
    "event_type": (("event_id",), lambda p, row: row.event_id),
    "contract": ((), lambda p, row: p.contract),
    "is_archieve": (("expires",), lambda p, row: row.expires <= p.now),
    "event_id": (("event_id",), lambda p, row: row.event_id),
}


def field_names(selections: list[Selection], inside: str | None = None) -> set[str]:
    """Names of the selected fields (through fragments), or of those selected under the `inside` fields."""
    names: set[str] = set()
    for selection in selections:
        if not isinstance(selection, SelectedField):
            names |= field_names(selection.selections, inside)
        elif inside is None:
            names.add(selection.name)
        elif selection.name == inside:
            names |= field_names(selection.selections)
    return names

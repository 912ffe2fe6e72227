"""The Kalay-compatible VSaaS event API: a GraphQL schema over the Event table.

Names follow the seed exactly: snake_case, and `is_archieve` / `get_archieved_event_list` keep their
spelling. Times come in as epoch-millisecond strings and go out as `YYYY-MM-DD HH:MM:SS` (UTC).
Every queryset starts from the token's tenant, so another tenant's device or pk simply matches nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, groupby
from operator import attrgetter
from typing import Any

import strawberry
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, FieldExtension, ParserCache, ValidationCache
from strawberry.extensions.max_aliases import create_validator
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, Info

from events import services
from events.models import Event as EventRow
from tenants.catalogue import EVENTS_READ, EVENTS_WRITE
from tenants.gate import TenantPrincipal

from .errors import BadRequest, NotFound, status_of
from .execution import PlainObjectsExecutionContext
from .presenter import EPOCH, ONE_MS, ArchievedEvent, Event, EventPresenter, field_names

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# Each aliased root field is its own query: without a bound one request could run thousands.
MAX_ALIASES = 15
# MaxAliasesLimiter's rule, made once: the rule class is part of the validation cache's key, so a class made per
# request (as a per-request MaxAliasesLimiter does) would never hit the cache.
ALIAS_RULES = [create_validator(MAX_ALIASES)]
UPDATE_DONE = "Update event finish."
REMOVE_DONE = "Remove event finish."


@dataclass(frozen=True)
class KalayContext:
    """What resolvers get as `info.context`: the HTTP request (for absolute URLs) and the caller."""

    request: HttpRequest
    principal: TenantPrincipal

    def presenter(self, wanted: Iterable[str]) -> EventPresenter:
        return EventPresenter(self.request, self.principal, wanted)


def parse_epoch_ms(name: str, value: str) -> datetime:
    if not (value.isascii() and value.isdigit()):
        raise BadRequest(f"{name} must be a timestamp in epoch milliseconds (digits only).")
    try:
        return EPOCH + int(value) * ONE_MS
    except (OverflowError, ValueError):  # past year 9999, or more digits than int() takes
        raise BadRequest(f"{name} is out of range.") from None


def page_bounds(skip: int | None, limit: int | None, default_limit: int) -> tuple[int, int]:
    """(skip, limit) of a list call: absent (null) means 0 and `default_limit`; above MAX_LIMIT is clamped (as the
    seed says); limit < 1 or skip < 0 is bad input."""
    skip = 0 if skip is None else skip
    limit = default_limit if limit is None else limit
    if skip < 0:
        raise BadRequest("skip must be 0 or more.")
    if limit < 1:
        raise BadRequest("limit must be 1 or more.")
    return skip, min(limit, MAX_LIMIT)


def parse_range(start_time: str, end_time: str) -> tuple[datetime, datetime]:
    """The half-open range [start, end) of two epoch-ms strings; start must come before end."""
    start, end = parse_epoch_ms("start_time", start_time), parse_epoch_ms("end_time", end_time)
    if start >= end:
        raise BadRequest("start_time must be less than end_time.")
    return start, end


class RejectUnstorableText(FieldExtension):
    """PostgreSQL text cannot hold NUL or a lone surrogate (JSON variables can carry one), so such an argument is
    bad input (400), not a database failure (500)."""

    def resolve(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        values = chain.from_iterable(v if isinstance(v, list) else [v] for v in kwargs.values())
        if any(isinstance(v, str) and not services.storable(v) for v in values):
            raise BadRequest("Arguments must not contain NUL or lone surrogate characters.")
        return next_(source, info, **kwargs)


def filtered_events(
    principal: TenantPrincipal,
    device: str,
    start_time: str,
    end_time: str,
    is_archieve: bool | None,
    event_id: int | None,
    tags: str | None,
) -> QuerySet[EventRow]:
    """The tenant's events of `device` in [start_time, end_time), narrowed by the optional filters."""
    start, end = parse_range(start_time, end_time)
    events = EventRow.objects.for_principal(principal).filter(camera_id=device, ts__gte=start, ts__lt=end)
    if is_archieve is not None:
        now = timezone.now()
        events = events.filter(expires__lte=now) if is_archieve else events.filter(expires__gt=now)
    if event_id is not None:
        events = events.filter(event_id=event_id)
    if words := (tags or "").split():
        # PostgreSQL would cut a longer word to the column's length, so it could match a tag it is not.
        if any(len(word) > services.TAG_MAX_LENGTH for word in words):
            raise BadRequest(f"tags: each tag has at most {services.TAG_MAX_LENGTH} characters.")
        events = events.filter(tags__contains=words)
    return events


@strawberry.type
class Query:
    @strawberry.field(extensions=[RejectUnstorableText()])
    def get_event_count(
        self,
        info: Info,
        device: str,
        start_time: str,
        end_time: str,
        is_archieve: bool | None = None,
        event_id: int | None = None,
        tags: str | None = None,
    ) -> int | None:
        principal = info.context.principal.require(EVENTS_READ)
        return filtered_events(principal, device, start_time, end_time, is_archieve, event_id, tags).count()

    @strawberry.field(extensions=[RejectUnstorableText()])
    def get_event_list(
        self,
        info: Info,
        device: str,
        start_time: str,
        end_time: str,
        is_archieve: bool | None = None,
        event_id: int | None = None,
        tags: str | None = None,
        skip: int | None = 0,
        limit: int | None = DEFAULT_LIMIT,
    ) -> list[Event | None] | None:
        principal = info.context.principal.require(EVENTS_READ)
        skip, limit = page_bounds(skip, limit, DEFAULT_LIMIT)
        events = filtered_events(principal, device, start_time, end_time, is_archieve, event_id, tags)
        present = info.context.presenter(field_names(info.selected_fields[0].selections))
        return list(map(present, present.rows(events.order_by("ts", "id")[skip : skip + limit])))

    @strawberry.field
    def get_archieved_event_list(
        self, info: Info, skip: int | None = 0, limit: int | None = MAX_LIMIT
    ) -> list[ArchievedEvent | None] | None:
        """The tenant's archived events, oldest (the next to be purged) first: `limit` of them after `skip`, grouped
        by device."""
        principal = info.context.principal.require(EVENTS_READ)
        skip, limit = page_bounds(skip, limit, MAX_LIMIT)
        present = info.context.presenter(field_names(info.selected_fields[0].selections, inside="events"))
        expired = EventRow.objects.for_principal(principal).filter(expires__lte=present.now)
        # Oldest first reads the tenant's (ts) index from its old end, where the archived events are: a page reads
        # about as many rows as it returns, however many events the tenant has.
        page = present.rows(expired.order_by("ts", "id")[skip : skip + limit])
        rows = sorted(page, key=attrgetter("camera_id"))  # stable: oldest first within each device
        return [
            ArchievedEvent(device=device, events=list(map(present, group)))
            for device, group in groupby(rows, key=attrgetter("camera_id"))
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=[RejectUnstorableText()])
    def update_event(self, info: Info, pk: str, tags: list[str | None]) -> str | None:
        principal = info.context.principal.require(EVENTS_WRITE)
        if not pk.strip():
            raise BadRequest("pk must not be empty.")
        try:
            new_tags = services.clean_tags(tags)
        except services.InvalidEvent as exc:
            raise BadRequest(f"{exc}.") from exc
        changed = EventRow.objects.for_principal(principal).filter(pk=pk).update(tags=new_tags, updated=timezone.now())
        if not changed:
            raise NotFound(f"Event '{pk}' does not exist.")
        return UPDATE_DONE

    @strawberry.mutation(extensions=[RejectUnstorableText()])
    def remove_event(
        self,
        info: Info,
        pk: str | None = None,
        *,
        device: str,
        start_time: str | None = None,
        end_time: str | None = None,
    ) -> str | None:
        principal = info.context.principal.require(EVENTS_WRITE)
        pks = (pk or "").split()
        has_range = start_time is not None or end_time is not None
        if pks and has_range:
            raise BadRequest("Give either pk or start_time and end_time, not both.")
        if not pks and (start_time is None or end_time is None):
            raise BadRequest("Give pk, or else both start_time and end_time.")
        # No camera lookup: events outlive their camera and must stay removable.
        events = EventRow.objects.for_principal(principal).filter(camera_id=device)
        if pks:
            events = events.filter(pk__in=pks)
        else:
            start, end = parse_range(start_time, end_time)
            events = events.filter(ts__gte=start, ts__lt=end)
        services.delete_events(events)
        return REMOVE_DONE


class KalaySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Bad input is the caller's business (a 4xx); only surprises are logged, with their traceback.
        super().process_errors([e for e in errors if status_of(e) >= 500], execution_context)


schema = KalaySchema(
    query=Query,
    mutation=Mutation,
    config=StrawberryConfig(auto_camel_case=False),
    execution_context_class=PlainObjectsExecutionContext,
    # Clients repeat the same documents (with variables, or polling one window): parse and validate each once.
    # Factories, as strawberry wants; the caches themselves live at module level, shared by every request.
    extensions=[
        lambda: AddValidationRules(ALIAS_RULES),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ],
)

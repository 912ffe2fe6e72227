"""Finding events by what was seen: the colours the detector named (payload.attributes) and licence plates
(events.plates). One rule for each filter, applied twice: as SQL for GET /v2/api/events and a resuming WebSocket's
replay, and in Python for the live WebSocket feed (events.consumers)."""

from django.db.models import QuerySet
from django.db.models.fields.json import KT

from .plates import PLATE_TYPE, plate_events, plates_match

CLOTHES_FILTERS = ("upper_color", "lower_color")  # a person's: the detector names them for people only
COLOR_FILTERS = ("color", *CLOTHES_FILTERS)
SEARCH_FILTERS = (*COLOR_FILTERS, "plate")
COLORED_TYPES = ("person", "vehicle")
PERSON = "person"


def _attributes_wanted(params: dict) -> dict:
    """The colour filters given, as the payload.attributes they must be contained in (`color` is a list there)."""
    return {name: [params[name]] if name == "color" else params[name] for name in COLOR_FILTERS if name in params}


def _contains(value, wanted) -> bool:
    """PostgreSQL's jsonb `value @> wanted` below the top level, for JSON text's values."""
    if isinstance(wanted, dict):
        return isinstance(value, dict) and all(key in value and _contains(value[key], v) for key, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(value, list) and all(any(_contains(item, w) for item in value) for w in wanted)
    return type(value) is type(wanted) and value == wanted


def filter_events(events: QuerySet, params: dict) -> QuerySet:
    """`events` narrowed by the validated colour filters and `plate` in `params` (those absent are no filter)."""
    if "color" in params:
        # A containment test, as the partial index event_attributes_gin and the statistics event_attributes are
        # written (events/migrations/0006_search.py).
        events = events.filter(type__in=COLORED_TYPES, payload__attributes__contains={"color": [params["color"]]})
    if clothes := {name: params[name] for name in CLOTHES_FILTERS if name in params}:
        # Text equality on a person's event, as the partial index event_person_clothes is written
        # (events/migrations/0007_person_clothes.py): a pair is read newest first from it, and its statistics tell
        # the planner how common each colour is.
        events = events.filter(type=PERSON).alias(**{name: KT(f"payload__attributes__{name}") for name in clothes})
        events = events.filter(**clothes)
    if "plate" in params:
        events = plate_events(events, params["plate"])
    return events


def wanted(event: dict, params: dict) -> bool:
    """Whether an event's JSON (events.serializers.event_json) passes filter_events with the same `params`."""
    payload = event["payload"]
    attributes = _attributes_wanted(params)
    if attributes and (event["type"] not in COLORED_TYPES or not _contains(payload.get("attributes"), attributes)):
        return False
    if event["type"] != PERSON and any(name in params for name in CLOTHES_FILTERS):
        return False
    if "plate" not in params:
        return True
    plate = payload.get("plate")
    return event["type"] == PLATE_TYPE and isinstance(plate, str) and plates_match(params["plate"], plate)

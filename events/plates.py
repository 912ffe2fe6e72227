"""Plates found though read with a mistake or two: the key a plate is matched by and the fuzzy rule, in Python
(the live WebSocket feed, watch lists) and in SQL (GET /v2/api/events, a resuming WebSocket's replay).

The key is a plate's letters and digits (ASCII), upper case, with the characters that plate fonts draw alike and
OCR swaps folded onto one: O and Q onto 0, I onto 1, Z onto 2, S onto 5, B onto 8. It is for matching only; the
event keeps the text as read. D/0, G/6 and L/1 stay apart: their shapes differ on plates, and every fold makes more
plates look the same. A plate matches a pattern when their keys are within `allowed_errors` edits (Levenshtein: a
character wrong, missing or extra), decided in SQL by fuzzystrmatch's levenshtein().

The SQL twins of normalize_plate and of the index's key set are events_plate_key() and events_plate_variants()
(events/migrations/0006_search.py; tests hold the keys equal). The index is GIN over each license_plate event's
deletion neighbourhood (its key with up to two characters deleted): keys within two edits always share one of
those strings (a wrong character is a deletion on both sides, a missing or extra one a deletion on one side), so
the index finds every match, and levenshtein() drops the few others it finds.
"""

import re

from django.contrib.postgres.fields import ArrayField
from django.db.models import BooleanField, F, Func, IntegerField, QuerySet, Subquery, TextField, Value
from django.db.models.fields.json import KeyTextTransform

PLATE_TYPE = "license_plate"
PLATE_PATTERN = r"^[A-Za-z0-9 -]{2,16}$"
MAX_ERRORS = 2  # the deletion neighbourhood the index holds is built for this many
# Longer text is no plate (with separators, a 16-character pattern plus two errors fits): no key, never matched, and
# the index holds nothing for it, so an ingested payload cannot make an insert build a huge neighbourhood.
MAX_PLATE_TEXT = 32
LOOKALIKES = str.maketrans("OQIZSB", "001258")
_NOT_PLATE_CHARACTER = re.compile(r"[^A-Za-z0-9]")


def normalize_plate(text: str) -> str | None:
    """The key a plate is matched by ("S1F-I23.45" -> "51F12345"); None when `text` has no letter or digit, or is
    longer than MAX_PLATE_TEXT."""
    if len(text) > MAX_PLATE_TEXT:
        return None
    return _NOT_PLATE_CHARACTER.sub("", text).upper().translate(LOOKALIKES) or None


def allowed_errors(key: str) -> int:
    """Edits a plate may be away from a pattern's key: MAX_ERRORS, but at most a third of the key's characters
    (a 2-character pattern matches exactly, 3-5 with one error), so a short pattern does not match most short
    plates."""
    return min(MAX_ERRORS, len(key) // 3)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, as fuzzystrmatch's levenshtein() computes it (each edit costs 1)."""
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        previous = current
    return previous[-1]


def plates_match(pattern: str, read: str, *, fuzzy: bool = True) -> bool:
    """Whether the plate `read` is the one `pattern` names: the same key, or (fuzzy) within allowed_errors of it."""
    wanted, found = normalize_plate(pattern), normalize_plate(read)
    if wanted is None or found is None:
        return False
    return found == wanted or (fuzzy and edit_distance(found, wanted) <= allowed_errors(wanted))


class _AmongIdsOf(Func):
    """`pk = ANY(ARRAY(<subquery>))`: PostgreSQL runs the subquery once, first (an InitPlan), whatever it estimates."""

    template = "%(expressions)s)"
    arg_joiner = " = ANY(ARRAY"
    output_field = BooleanField()


def plate_events(events: QuerySet, pattern: str) -> QuerySet:
    """The license_plate events among `events` whose payload.plate matches `pattern` (fuzzy), as plates_match.

    The matches are found first, through the index, and then paged. Left to its estimates, the planner would rather
    read the tenant's plate events newest first and test each (it cannot know how few match: a partial index's
    statistics are not used), which costs a levenshtein() per plate event of the tenant when few match.
    """
    key = normalize_plate(pattern)
    stored = Func(KeyTextTransform("plate", "payload"), function="events_plate_key", output_field=TextField())
    variants = ArrayField(TextField())
    # Written as the partial GIN index event_plate_variants is, so that it finds the candidates.
    # Of every tenant (`events` keeps the caller's only): a match of the tenant's own would be read through two
    # indexes, the plates' and the tenant's, and the second holds a bit for each of the tenant's events.
    matches = (
        events.model.objects.filter(type=PLATE_TYPE)
        .alias(
            plate_variants=Func(stored, function="events_plate_variants", output_field=variants),
            plate_errors=Func(stored, Value(key), function="levenshtein", output_field=IntegerField()),
        )
        .filter(
            plate_variants__overlap=Func(Value(key), function="events_plate_variants", output_field=variants),
            plate_errors__lte=allowed_errors(key),
        )
    )
    return events.filter(_AmongIdsOf(F("pk"), Subquery(matches.order_by().values("pk"))))

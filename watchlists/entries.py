"""A watch list's entries: what each may hold (`clean_entries`, for the API and the admin alike) and which events it
matches (`matches`).

A plate entry `{"plate", "fuzzy", "note", "expires"}` matches a `license_plate` event whose plate, normalised as the
plate search normalises it (events.plates), is the same, or with `fuzzy` within the search's character errors. An
object rule `{"label", "color", "camera_id", "zone", "note", "expires"}` matches a person or vehicle event of that
label, with that colour among its attributes, on that camera, in that zone (each given one must hold). An entry past
its `expires` matches nothing. Each entry gets an `id`, kept across edits, so an alert names the entry it matched.
"""

import re
import secrets
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from events.detection.colors import PALETTE
from events.plates import PLATE_PATTERN, normalize_plate, plates_match

MAX_ENTRIES = 5000
LABELS = ("person", "vehicle")
NOTE_MAX = 200
NAME_MAX = 64  # a camera id or a zone name
PLATE_KEYS = {"id", "plate", "fuzzy", "note", "expires"}
RULE_KEYS = {"id", "label", "color", "camera_id", "zone", "note", "expires"}
ID_PATTERN = re.compile(r"[a-f0-9]{8}")
ENTRY_SHAPES = (
    "a plate entry holds plate, fuzzy, note, expires; an object rule label, color, camera_id, zone, note, expires"
)


def _text(entry: dict, key: str, limit: int) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValueError(f"`{key}` must be a non-empty string of at most {limit} characters")
    return value.strip()


def _expires(entry: dict) -> str | None:
    value = entry.get("expires")
    if value is None:
        return None
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None or moment.tzinfo is None:
        raise ValueError("`expires` must be an ISO 8601 date and time with its UTC offset")
    return moment.isoformat()


def clean_entry(entry: Any) -> dict:
    """The entry as it is stored; ValueError saying what is wrong."""
    if not isinstance(entry, dict):
        raise ValueError("must be an object")
    plate = "plate" in entry
    unknown = set(entry) - (PLATE_KEYS if plate else RULE_KEYS)
    if unknown:
        raise ValueError(f"unknown keys: {', '.join(sorted(unknown))} ({ENTRY_SHAPES})")
    given_id = entry.get("id")
    cleaned = {"id": given_id if isinstance(given_id, str) and ID_PATTERN.fullmatch(given_id) else secrets.token_hex(4)}
    if plate:
        if not (isinstance(entry["plate"], str) and re.fullmatch(PLATE_PATTERN, entry["plate"])):
            raise ValueError("`plate` must be 2-16 letters, digits, spaces or dashes")
        if len(normalize_plate(entry["plate"]) or "") < 2:
            raise ValueError("`plate` must hold at least 2 letters or digits")
        fuzzy = entry.get("fuzzy", False)
        if not isinstance(fuzzy, bool):
            raise ValueError("`fuzzy` must be true or false")
        cleaned |= {"plate": entry["plate"], "fuzzy": fuzzy}
    else:
        if entry.get("label") not in LABELS:
            raise ValueError(f"`label` must be one of: {', '.join(LABELS)} (or give a `plate`)")
        color = entry.get("color")
        if color is not None and color not in PALETTE:
            raise ValueError(f"`color` must be one of: {', '.join(PALETTE)}")
        cleaned |= {"label": entry["label"]}
        for key, value in (("color", color), ("camera_id", _text(entry, "camera_id", NAME_MAX)),
                           ("zone", _text(entry, "zone", NAME_MAX))):  # fmt: skip
            if value is not None:
                cleaned[key] = value
    for key, value in (("note", _text(entry, "note", NOTE_MAX)), ("expires", _expires(entry))):
        if value is not None:
            cleaned[key] = value
    return cleaned


def clean_entries(entries: Any) -> list[dict]:
    """The entries as stored; a ValidationError naming each bad one by its index."""
    if not isinstance(entries, list):
        raise ValidationError("Must be a list of entries.")
    if len(entries) > MAX_ENTRIES:
        raise ValidationError(f"A watch list holds at most {MAX_ENTRIES} entries.")
    cleaned, errors = [], []
    for index, entry in enumerate(entries):
        try:
            cleaned.append(clean_entry(entry))
        except ValueError as exc:
            errors.append(f"Entry {index}: {exc}.")
    if errors:
        raise ValidationError(errors)
    ids = [entry["id"] for entry in cleaned]
    if len(set(ids)) != len(ids):
        raise ValidationError("Two entries have the same id.")
    return cleaned


def matches(entry: dict, event_type: str, camera_id: str, payload: dict, now: datetime) -> bool:
    """Whether an event (its type, camera and payload) matches the entry (a clean one) at `now`."""
    expires = entry.get("expires")
    if expires is not None and parse_datetime(expires) <= now:
        return False
    if "plate" in entry:
        read = payload.get("plate") or payload.get("text")
        return (
            event_type == "license_plate"
            and isinstance(read, str)
            and plates_match(entry["plate"], read, fuzzy=entry["fuzzy"])
        )
    if event_type != entry["label"]:
        return False
    if "camera_id" in entry and camera_id != entry["camera_id"]:
        return False
    zones = payload.get("zones")
    if "zone" in entry and not (isinstance(zones, list) and entry["zone"] in zones):
        return False
    if "color" in entry:
        attributes = payload.get("attributes")
        attributes = attributes if isinstance(attributes, dict) else {}
        colors = attributes.get("color")
        seen = {*(colors if isinstance(colors, list) else []), attributes.get("upper_color"),
                attributes.get("lower_color")}  # fmt: skip
        return entry["color"] in seen
    return True
